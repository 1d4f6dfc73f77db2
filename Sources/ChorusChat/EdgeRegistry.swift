import Synchronization

/// The edges that receive channel events, by edge (node) name: this node's own (its WebSocket
/// gateway), and one ordered forwarder per peer edge, made on first use and kept.
final class EdgeRegistry: Sendable {
    private let registered = Mutex<[String: any EdgeEventSink]>([:])
    private let forwarders = Mutex<[String: RemoteEdgeSink]>([:])

    func register(_ sink: any EdgeEventSink) {
        registered.withLock { $0[sink.edgeName] = sink }
    }

    /// The edges registered on this node.
    var local: [any EdgeEventSink] { registered.withLock { Array($0.values) } }

    /// Edge `name`: registered here, else the forwarder to that peer's edge (`makeForwarder`
    /// makes it the first time; `nil` if `name` is not a peer).
    func sink(named name: String, makeForwarder: () -> RemoteEdgeSink?) -> (any EdgeEventSink)? {
        if let local = registered.withLock({ $0[name] }) { return local }
        if let forwarder = forwarders.withLock({ $0[name] }) { return forwarder }
        guard let made = makeForwarder() else { return nil }
        return forwarders.withLock { forwarders in
            if let existing = forwarders[name] { return existing }
            forwarders[name] = made
            return made
        }
    }
}
