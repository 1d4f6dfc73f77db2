import ChorusActorSystem
import ChorusModel

/// Chat errors thrown by a remote channel or user actor reach the caller as themselves (the
/// gateway maps them to their API status); ``ChatNode`` registers the type with its actor system.
extension ChatError: WireTransmittableError {
    public static let wireDomain = "chat"
}
