/// A failure of the actor system itself (not of the called function).
public struct RemoteCallError: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: String, Sendable, Codable {
        /// No actor with the id is active where the call went.
        case actorNotFound
        /// Arguments or the result could not be encoded or decoded.
        case serialization
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
