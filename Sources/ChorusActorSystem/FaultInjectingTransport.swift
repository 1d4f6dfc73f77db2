import ChorusWire
import Synchronization

/// A transport that can cut its node off from every peer, for failover drills
/// (`cluster.fault_injection`, `POST /v1/admin/faults`; docs/drill.md).
///
/// While isolated, calls to peers fail at once with `unreachable` and calls from peers are
/// dropped unanswered (they time out at the caller), as a network partition looks from both
/// sides; the node's clients still reach it over HTTP. Keepalives stop both ways too (the wrapped
/// connections stay open). Healing lets traffic through again.
public final class FaultInjectingTransport: ClusterTransport {
    /// The transport it wraps.
    public let inner: any ClusterTransport
    private let isolatedFlag = Atomic<Bool>(false)

    public init(wrapping inner: any ClusterTransport) {
        self.inner = inner
    }

    /// Whether the node is cut off from its peers now.
    public var isolated: Bool {
        get { isolatedFlag.load(ordering: .acquiring) }
        set {
            isolatedFlag.store(newValue, ordering: .releasing)
            inner.setKeepalives(!newValue)
        }
    }

    public func start(onCall: @escaping ClusterCallHandler) async throws {
        try await inner.start { [weak self] call, peer, reply in
            guard let self, !self.isolated else { return }  // dropped: the caller times out
            onCall(call, peer, reply)
        }
    }

    public func call(_ peer: String, target: String, timeout: Duration, _ makeCall: (UInt64) -> Wire.Call) async throws -> Wire.Reply.Result {
        guard !isolated else { throw RemoteCallError(.unreachable, "\(peer) is cut off by fault injection (a drill's partition)") }
        return try await inner.call(peer, target: target, timeout: timeout, makeCall)
    }

    public func send(_ peer: String, target: String, timeout: Duration, _ makeCall: (UInt64) -> Wire.Call) async throws {
        guard !isolated else { throw RemoteCallError(.unreachable, "\(peer) is cut off by fault injection (a drill's partition)") }
        try await inner.send(peer, target: target, timeout: timeout, makeCall)
    }

    public func shutdown() async { await inner.shutdown() }

    public var defaultCallTimeout: Duration { inner.defaultCallTimeout }

    public var connectedPeers: [String] { isolated ? [] : inner.connectedPeers }

    /// Nothing is heard while isolated (frames already on their way still arrive on the open connections).
    public func silence(from peer: String) -> Duration? { isolated ? nil : inner.silence(from: peer) }
}
