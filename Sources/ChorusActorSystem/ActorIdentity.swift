/// The identity of a Chorus actor: a logical key such as `channel/1843312267542528` or `user/alice`.
///
/// The node that hosts an actor is not part of its identity: placement maps the key to an owner,
/// so an actor keeps its id when it moves between nodes.
public struct ActorIdentity: Hashable, Sendable, Codable, CustomStringConvertible {
    /// What sort of actor this is (`channel`, `user`, ...).
    public var kind: String
    /// The key within the kind.
    public var key: String

    public init(kind: String, key: String) {
        self.kind = kind
        self.key = key
    }

    /// `kind/key`.
    public var description: String { "\(kind)/\(key)" }
}
