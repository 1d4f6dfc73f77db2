/// A failure of the actor system itself (not of the called function).
public struct RemoteCallError: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: String, Sendable, Codable {
        /// No actor with the id is active where the call went.
        case actorNotFound
        /// Arguments or the result could not be encoded or decoded.
        case serialization
        /// The call's deadline passed before a reply came.
        case timeout
        /// The owner's node cannot be reached (refused, reset, or backing off after failures).
        case unreachable
        /// The peer refused the cluster handshake (wrong cluster, version or secret).
        case refused
        /// The node called does not own the actor's key; `epoch` is its ring epoch.
        case wrongOwner
        /// The callee threw an error of a type that does not cross the wire; `message` describes it.
        case remoteFailure
        /// The actor's key is moving to another node (a hand-off): the call was refused before it
        /// ran, so the caller may retry it, on the key's owner once the move is over.
        case moving
    }

    public var code: Code
    public var message: String
    /// For ``Code/wrongOwner``: the callee's ring epoch.
    public var epoch: UInt64?

    public init(_ code: Code, _ message: String, epoch: UInt64? = nil) {
        self.code = code
        self.message = message
        self.epoch = epoch
    }

    public var description: String { "\(code): \(message)" }
}
