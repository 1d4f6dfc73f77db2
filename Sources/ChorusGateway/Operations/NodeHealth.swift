import ServiceLifecycle
import Synchronization

/// Whether a node should get traffic (`GET /readyz`; docs/operations.md, "Health"). It is not
/// while it stops (readiness goes off first, before its sockets are closed), nor while a cluster
/// node is off the ring (it serves no keys). The node only listens once it has recovered and
/// joined, so a node that answers has done both.
public final class NodeHealth: Sendable {
    private let draining = Atomic<Bool>(false)
    /// Whether this node is on the ring (always, for a single node).
    private let onRing: @Sendable () -> Bool

    public init(onRing: @escaping @Sendable () -> Bool = { true }) {
        self.onRing = onRing
    }

    /// The node is stopping: readiness goes off for good.
    public func startDraining() {
        draining.store(true, ordering: .releasing)
    }

    /// Whether the node is stopping (long-lived responses end when it is).
    public var isDraining: Bool { draining.load(ordering: .acquiring) }

    /// Why the node should get no traffic now (empty: it is ready).
    public func reasons() -> [String] {
        var reasons: [String] = []
        if isDraining { reasons.append("the node is stopping") }
        if !onRing() { reasons.append("the node is not on the ring (it serves no keys)") }
        return reasons
    }
}

/// Turns readiness off as soon as the node starts stopping: run as the last service, so that
/// the graceful shutdown reaches it before the edge closes its sockets and the server stops.
struct DrainService: Service {
    let health: NodeHealth

    func run() async throws {
        try? await gracefulShutdown()
        health.startDraining()
    }
}

/// `GET /readyz`'s answer: `{"status": "ready"}`, or `{"status": "not_ready", "reasons": [...]}` with 503.
struct ReadinessBody: Encodable {
    var status: String
    var reasons: [String]?

    init(reasons: [String]) {
        status = reasons.isEmpty ? "ready" : "not_ready"
        self.reasons = reasons.isEmpty ? nil : reasons
    }
}
