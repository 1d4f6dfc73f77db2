import ChorusWire
import Synchronization

/// Actor systems in one process, connected without sockets: each node's ``InProcessTransport``
/// hands a call straight to the callee's handler and the reply straight back, so several nodes of
/// a cluster run in one test process with no ports and no handshake. Links can be cut and
/// healed, and a node whose transport shut down is gone (a crash): calls in flight over a cut
/// link or to a gone node fail with `unreachable`, new ones fail at once.
///
/// Calls still carry the call table of a real connection (a ``ConnectionState`` per link), so
/// deadlines and late replies behave as over TCP.
public final class InProcessNetwork: Sendable {
    private struct Link: Hashable {
        var a: String
        var b: String
        init(_ x: String, _ y: String) { (a, b) = x < y ? (x, y) : (y, x) }
    }

    private struct WeakTransport { weak var transport: InProcessTransport? }

    private struct State {
        var transports: [String: WeakTransport] = [:]
        var handlers: [String: ClusterCallHandler] = [:]
        var cut: Set<Link> = []
        /// Calls refused because their link was cut, by caller and callee.
        var refused: [String: Int] = [:]
    }
    private let state = Mutex(State())

    public init() {}

    /// The transport of node `node` (one per node name).
    public func transport(for node: String, callTimeout: Duration = .seconds(5), clock: TransportClock = .continuous) -> InProcessTransport {
        let transport = InProcessTransport(node: node, network: self, callTimeout: callTimeout, clock: clock)
        state.withLock { $0.transports[node] = WeakTransport(transport: transport) }
        return transport
    }

    /// Cuts the link between `a` and `b`: calls between them fail with `unreachable` until ``heal(_:_:)``.
    public func cut(_ a: String, _ b: String) {
        let ends = state.withLock { state in
            state.cut.insert(Link(a, b))
            return (state.transports[a]?.transport, state.transports[b]?.transport)
        }
        ends.0?.lost(b, reason: "the link to \(b) was cut")
        ends.1?.lost(a, reason: "the link to \(a) was cut")
    }

    /// Restores the link between `a` and `b`.
    public func heal(_ a: String, _ b: String) {
        _ = state.withLock { $0.cut.remove(Link(a, b)) }
    }

    func register(_ node: String, handler: @escaping ClusterCallHandler) {
        state.withLock { $0.handlers[node] = handler }
    }

    /// `node` is gone: every other node loses its calls to it.
    func unregister(_ node: String) {
        let others = state.withLock { state in
            state.handlers[node] = nil
            return state.transports.filter { $0.key != node }.compactMap(\.value.transport)
        }
        for other in others { other.lost(node, reason: "node \(node) shut down") }
    }

    /// The handler of `to` as `from` reaches it, or `nil` when either is not serving or the link is cut.
    func handler(from: String, to: String) -> ClusterCallHandler? {
        state.withLock { state in
            if state.cut.contains(Link(from, to)) { state.refused["\(from)->\(to)", default: 0] += 1 }
            return state.handlers[from] == nil || state.cut.contains(Link(from, to)) ? nil : state.handlers[to]
        }
    }

    /// How many calls from `from` to `to` were refused because their link was cut (a test waits
    /// for an attempt over a cut link instead of sleeping).
    public func refusedCalls(from: String, to: String) -> Int {
        state.withLock { $0.refused["\(from)->\(to)"] ?? 0 }
    }

    /// The nodes `node` can reach now.
    func reachable(from node: String) -> [String] {
        state.withLock { state in
            state.handlers.keys.filter { $0 != node && !state.cut.contains(Link(node, $0)) }.sorted()
        }
    }
}

/// One node's end of an ``InProcessNetwork``.
public final class InProcessTransport: ClusterTransport {
    private typealias Link = ConnectionState<CheckedContinuation<Wire.Reply.Result, any Error>, Never>

    public let node: String
    public let defaultCallTimeout: Duration
    private let network: InProcessNetwork
    private let clock: TransportClock
    /// The link to each peer, with its generation: a link lost (cut, or the peer gone) is
    /// replaced by a new one, and replies meant for the old one are ignored.
    private let links = Mutex<(current: [String: (generation: Int, state: Link)], generations: Int)>(([:], 0))

    init(node: String, network: InProcessNetwork, callTimeout: Duration, clock: TransportClock) {
        self.node = node
        self.network = network
        self.clock = clock
        self.defaultCallTimeout = callTimeout
    }

    public func start(onCall: @escaping ClusterCallHandler) async throws {
        network.register(node, handler: onCall)
    }

    public func call(_ peer: String, target: String, timeout: Duration, _ makeCall: (UInt64) -> Wire.Call) async throws -> Wire.Reply.Result {
        guard let handler = network.handler(from: node, to: peer) else {
            throw RemoteCallError(.unreachable, "node \(peer) is unreachable from \(node)")
        }
        let deadline = clock.now() + timeout
        let timer = Task { [weak self, clock] in
            try await clock.sleepUntil(deadline)
            self?.expire(peer)
        }
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            let begun = links.withLock { links -> (Result<UInt64, RemoteCallError>, Int) in
                if links.current[peer] == nil {
                    links.generations += 1
                    links.current[peer] = (links.generations, Link(establishedWith: peer))
                }
                let generation = links.current[peer]!.generation
                return (links.current[peer]!.state.beginCall(continuation, target: target, deadline: deadline), generation)
            }
            switch begun.0 {
            case .success(let id):
                // Straight to the callee, in the caller's order; the reply comes back the same way.
                let generation = begun.1
                handler(makeCall(id), node) { [weak self] reply in self?.receive(reply, from: peer, generation: generation) }
            case .failure(let error):
                continuation.resume(throwing: error)
            }
        }
    }

    public func send(_ peer: String, target: String, timeout: Duration, _ makeCall: (UInt64) -> Wire.Call) async throws {
        guard let handler = network.handler(from: node, to: peer) else {
            throw RemoteCallError(.unreachable, "node \(peer) is unreachable from \(node)")
        }
        handler(makeCall(Wire.Call.oneWayID), node) { _ in }
    }

    private func receive(_ reply: Wire.Reply, from peer: String, generation: Int) {
        let received = links.withLock { links -> ConnectionState<CheckedContinuation<Wire.Reply.Result, any Error>, Never>.Received? in
            guard links.current[peer]?.generation == generation else { return nil }
            return links.current[peer]!.state.receive(.reply(reply))
        }
        if case .reply(let caller, let result) = received { caller.resume(returning: result) }
    }

    private func expire(_ peer: String) {
        let now = clock.now()
        for (caller, error) in links.withLock({ $0.current[peer]?.state.expire(now: now) ?? [] }) { caller.resume(throwing: error) }
    }

    /// The link to `peer` is gone: its calls fail with `unreachable`.
    func lost(_ peer: String, reason: String) {
        guard let closed = links.withLock({ $0.current.removeValue(forKey: peer) })?.state.closing(reason: reason) else { return }
        for caller in closed.callers { caller.resume(throwing: closed.error) }
    }

    public func shutdown() async {
        network.unregister(node)
        let peers = links.withLock { Array($0.current.keys) }
        for peer in peers { lost(peer, reason: "node \(node) shut down") }
    }

    public var connectedPeers: [String] { network.reachable(from: node) }
}

extension ConnectionState {
    /// Closes a copy of this state and returns what to fail.
    fileprivate func closing(reason: String) -> Closed? {
        var state = self
        return state.close(reason: reason, refused: false)
    }
}
