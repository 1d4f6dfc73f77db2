import ChorusWire
import Distributed
import Logging
import Synchronization

/// Where actors live: the placement layer above the actor system (a hash ring in a cluster).
public protocol ActorPlacement: Sendable {
    /// The node that runs `id`, when it is not this one; `nil` when the actor is local.
    func remoteOwner(of id: ActorIdentity) -> String?
    /// The ring epoch calls carry.
    var epoch: UInt64 { get }
    /// For an inbound call: runs `body` with the local actor for `id` (activating it if needed, and
    /// keeping it from being passivated meanwhile); throws `RemoteCallError(.wrongOwner)` when this
    /// node does not own the key, and `.actorNotFound` when there is no such actor.
    ///
    /// Calls arrive in order and must reach the actor in order: do not suspend before `body` when
    /// the actor is already active.
    func withLocalActor(
        for id: ActorIdentity, callerEpoch: UInt64, _ body: (any DistributedActor) async throws -> Void
    ) async throws
}

/// Chorus's `DistributedActorSystem`: logical actor identities, activation hooks and the invocation model.
///
/// Actor ids are logical keys (``ActorIdentity``) chosen by the placement layer, not assigned by the
/// system: a placement layer creates an actor inside ``withIdentity(_:_:)``, and `assignID` picks the
/// id up from a task-local. The system keeps weak references for lookup; the placement layer keeps
/// activated actors alive until it passivates them.
///
/// Without a transport every actor is local. With one (``startTransport(_:placement:)``), an
/// ``ActorPlacement`` says which node runs each id: `resolve` returns a proxy for remote ids, and
/// calls on a proxy go through a ``ClusterTransport`` (TCP, or in-process in tests) with a deadline. Local calls never touch
/// the network. Inbound calls are dispatched in arrival order (each starts synchronously up to its
/// first suspension, the hop onto the actor), so calls one caller sends to one actor in order run
/// in that order.
public final class ClusterActorSystem: DistributedActorSystem, Sendable {
    public typealias ActorID = ActorIdentity
    public typealias InvocationEncoder = ChorusInvocationEncoder
    public typealias InvocationDecoder = ChorusInvocationDecoder
    public typealias ResultHandler = ChorusResultHandler
    public typealias SerializationRequirement = any Codable

    @TaskLocal static var pendingIdentity: ActorIdentity?

    private struct WeakActor: Sendable {
        weak var actor: (any DistributedActor)?
    }

    private struct State {
        var actors: [ActorIdentity: WeakActor] = [:]
        var anonymousCounter: UInt64 = 0
    }

    private let state = Mutex(State())
    private let errors = Mutex(WireErrors())
    private let targets = DistributedTargets()
    private let cluster = Mutex<(transport: any ClusterTransport, placement: any ActorPlacement)?>(nil)
    /// Overrides the call timeout for remote calls made in this task.
    @TaskLocal public static var callTimeout: Duration?
    /// Makes the remote calls of functions that return nothing, made in this task, one-way: each
    /// returns once the call is on its way (``callTimeout`` bounds the wait for a connection), no
    /// reply comes, and the callee's errors and a call lost with its connection go unreported.
    /// For protocols that resend on their own (replication, the metadata log): it saves each
    /// call's reply and the wake-ups it costs.
    @TaskLocal public static var oneWay = false
    /// The node this system runs on, for logs.
    public let nodeName: String
    private let logger: Logger

    public init(nodeName: String = "local", logger: Logger = Logger(label: "chorus.actors")) {
        self.nodeName = nodeName
        self.logger = logger
    }

    /// Runs `make` so that the distributed actor it creates gets the identity `id`.
    ///
    /// - Precondition: no live actor has `id` (the placement layer activates each key once).
    public func withIdentity<Act: DistributedActor>(_ id: ActorIdentity, _ make: () throws -> Act) rethrows -> Act
    where Act.ID == ActorIdentity {
        try Self.$pendingIdentity.withValue(id) { try make() }
    }

    /// Makes errors of `errorType` reach remote callers as themselves (register on every node).
    public func register(errorType: any WireTransmittableError.Type) {
        errors.withLock { $0.register(errorType) }
    }

    /// How many actors are live on this node.
    public var liveActorCount: Int {
        state.withLock { state in state.actors.values.count { $0.actor != nil } }
    }

    // MARK: DistributedActorSystem

    public func assignID<Act>(_ actorType: Act.Type) -> ActorIdentity where Act: DistributedActor, Act.ID == ActorIdentity {
        if let id = Self.pendingIdentity {
            return id
        }
        return state.withLock { state in
            state.anonymousCounter += 1
            return ActorIdentity(kind: "anonymous", key: "\(nodeName)-\(state.anonymousCounter)")
        }
    }

    public func actorReady<Act>(_ actor: Act) where Act: DistributedActor, Act.ID == ActorIdentity {
        state.withLock { state in
            if let existing = state.actors[actor.id]?.actor {
                preconditionFailure("actor \(actor.id) activated twice (existing: \(type(of: existing)))")
            }
            state.actors[actor.id] = WeakActor(actor: actor)
        }
    }

    public func resignID(_ id: ActorIdentity) {
        state.withLock { state in
            // Only forget the entry if it is dead: a new activation may already have taken the id.
            if state.actors[id]?.actor == nil {
                state.actors[id] = nil
            }
        }
    }

    public func resolve<Act>(id: ActorIdentity, as actorType: Act.Type) throws -> Act?
    where Act: DistributedActor, Act.ID == ActorIdentity {
        if let placement = cluster.withLock({ $0?.placement }), placement.remoteOwner(of: id) != nil {
            return nil  // a proxy: calls go to the owner
        }
        let found = state.withLock { $0.actors[id]?.actor }
        guard let found else {
            throw RemoteCallError(.actorNotFound, "no actor \(id) is active on node \(nodeName)")
        }
        guard let typed = found as? Act else {
            throw RemoteCallError(.actorNotFound, "actor \(id) is a \(type(of: found)), not a \(actorType)")
        }
        return typed
    }

    public func makeInvocationEncoder() -> ChorusInvocationEncoder {
        ChorusInvocationEncoder()
    }

    public func remoteCall<Act, Err, Res>(
        on actor: Act, target: RemoteCallTarget, invocation: inout ChorusInvocationEncoder,
        throwing: Err.Type, returning: Res.Type
    ) async throws -> Res where Act: DistributedActor, Act.ID == ActorIdentity, Err: Error, Res: Codable {
        switch try await send(invocation, to: actor.id, target: target) {
        case .value(let bytes):
            var decoder = BinaryDecoder()
            decoder.actorSystem = self
            do {
                return try decoder.decode(Res.self, from: bytes)
            } catch {
                throw RemoteCallError(.serialization, "cannot decode the result of \(target): \(error)")
            }
        case .void:
            throw RemoteCallError(.serialization, "\(target) returned nothing; expected \(Res.self)")
        case .error(let error):
            throw errors.withLock { $0 }.decode(error)
        }
    }

    public func remoteCallVoid<Act, Err>(
        on actor: Act, target: RemoteCallTarget, invocation: inout ChorusInvocationEncoder, throwing: Err.Type
    ) async throws where Act: DistributedActor, Act.ID == ActorIdentity, Err: Error {
        if Self.oneWay { return try await sendOneWay(invocation, to: actor.id, target: target) }
        switch try await send(invocation, to: actor.id, target: target) {
        case .value, .void: return
        case .error(let error): throw errors.withLock { $0 }.decode(error)
        }
    }

    // MARK: Cluster

    /// Starts listening for peers over TCP and routes calls on remote ids through `placement`;
    /// returns the port.
    public func startTransport(_ configuration: ClusterTransportConfiguration, placement: any ActorPlacement) async throws -> Int {
        let transport = TCPTransport(node: nodeName, configuration: configuration, logger: logger)
        try await startTransport(transport, placement: placement)
        return transport.port
    }

    /// Serves peers' calls through `transport` and routes calls on remote ids through `placement`.
    public func startTransport(_ transport: any ClusterTransport, placement: any ActorPlacement) async throws {
        let inbound = InboundCalls { [weak self] call in
            self?.localActor(ActorIdentity(kind: call.recipientKind, key: call.recipientKey)) != nil
        } start: { [weak self] call, peer, reply in
            guard let self else { return }
            // Starts synchronously up to the hop onto the actor, so calls run in arrival order. The
            // callee does not inherit the caller's call timeout or one-way calls (an in-process
            // transport runs it from the caller's task).
            Task.immediate {
                await ClusterActorSystem.$callTimeout.withValue(nil) {
                    await ClusterActorSystem.$oneWay.withValue(false) { await self.serve(call, from: peer, reply: reply) }
                }
            }
        }
        let unanswered: @Sendable (Wire.Reply) -> Void = { _ in }
        try await transport.start { call, peer, reply in
            inbound.receive(call, from: peer, reply: call.wantsReply ? reply : unanswered)
        }
        cluster.withLock { $0 = (transport, placement) }
    }

    /// Closes every cluster connection; calls on remote ids fail with `unreachable` from now on.
    public func shutdownTransport() async {
        let transport = cluster.withLock { $0?.transport }
        await transport?.shutdown()
    }

    /// Replaces the addresses of the peers (TCP).
    public func setPeers(_ peers: [String: PeerAddress]) {
        var transport = cluster.withLock { $0?.transport }
        if let faulty = transport as? FaultInjectingTransport { transport = faulty.inner }
        (transport as? TCPTransport)?.setPeers(peers)
    }

    /// The peers this node has an open connection to.
    public var connectedPeers: [String] {
        cluster.withLock { $0?.transport }?.connectedPeers ?? []
    }

    /// How long ago the transport last received anything from `peer` (``ClusterTransport/silence(from:)``).
    public func silence(from peer: String) -> Duration? {
        cluster.withLock { $0?.transport }?.silence(from: peer)
    }

    /// Calls this node made to peers, for metrics: a few atomic adds per call.
    public let callStats = RemoteCallStats()

    private func send(_ invocation: ChorusInvocationEncoder, to id: ActorIdentity, target: RemoteCallTarget) async throws -> Wire.Reply.Result {
        let started = ContinuousClock.now
        do {
            let result = try await sendUnmeasured(invocation, to: id, target: target)
            callStats.record(.now - started, failed: false)
            return result
        } catch {
            callStats.record(.now - started, failed: true)
            throw error
        }
    }

    private func sendUnmeasured(_ invocation: ChorusInvocationEncoder, to id: ActorIdentity, target: RemoteCallTarget) async throws -> Wire.Reply.Result {
        let (transport, placement, owner) = try route(to: id, target: target)
        let timeout = Self.callTimeout ?? transport.defaultCallTimeout
        let milliseconds = UInt64(max(0, timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))
        return try await transport.call(owner, target: target.identifier, timeout: timeout) { callID in
            Wire.Call(
                id: callID, recipientKind: id.kind, recipientKey: id.key, target: target.identifier,
                genericSubstitutions: invocation.genericSubstitutions, arguments: invocation.arguments,
                timeoutMilliseconds: milliseconds, epoch: placement.epoch)
        }
    }

    /// A one-way call (``oneWay``): counted in ``RemoteCallStats/Totals/oneWay``, not in the calls' latency.
    private func sendOneWay(_ invocation: ChorusInvocationEncoder, to id: ActorIdentity, target: RemoteCallTarget) async throws {
        let (transport, placement, owner) = try route(to: id, target: target)
        callStats.recordOneWay()
        try await transport.send(owner, target: target.identifier, timeout: Self.callTimeout ?? transport.defaultCallTimeout) { callID in
            Wire.Call(
                id: callID, recipientKind: id.kind, recipientKey: id.key, target: target.identifier,
                genericSubstitutions: invocation.genericSubstitutions, arguments: invocation.arguments,
                timeoutMilliseconds: 0, epoch: placement.epoch)
        }
    }

    /// The transport, the placement and the node that owns `id`.
    private func route(to id: ActorIdentity, target: RemoteCallTarget) throws -> (any ClusterTransport, any ActorPlacement, String) {
        guard let (transport, placement) = cluster.withLock({ $0 }) else {
            throw RemoteCallError(.actorNotFound, "\(target) on \(id): no cluster transport on node \(nodeName)")
        }
        guard let owner = placement.remoteOwner(of: id) else {
            throw RemoteCallError(.actorNotFound, "no actor \(id) is active on node \(nodeName)")
        }
        return (transport, placement, owner)
    }

    /// Runs an inbound call on the local actor and replies.
    private func serve(_ call: Wire.Call, from peer: String, reply: @escaping @Sendable (Wire.Reply) -> Void) async {
        let id = ActorIdentity(kind: call.recipientKind, key: call.recipientKey)
        let run: (any DistributedActor) async throws -> Void = { actor in
            var decoder = ChorusInvocationDecoder(genericSubstitutions: call.genericSubstitutions, arguments: call.arguments, system: self)
            let handler = ChorusResultHandler { result in reply(Wire.Reply(id: call.id, result: result)) }
            // Throws without calling the handler when the target cannot be invoked at all.
            try await self.targets.execute(on: actor, target: RemoteCallTarget(call.target), decoder: &decoder, handler: handler, system: self)
        }
        do {
            if let placement = cluster.withLock({ $0?.placement }) {
                try await placement.withLocalActor(for: id, callerEpoch: call.epoch, run)
            } else {
                guard let found = state.withLock({ $0.actors[id]?.actor }) else {
                    throw RemoteCallError(.actorNotFound, "no actor \(id) is active on node \(nodeName)")
                }
                try await run(found)
            }
        } catch {
            reply(Wire.Reply(id: call.id, result: .error(WireErrors.encode(error))))
        }
    }

    /// The registered local actor with `id`, if it is alive (for placement layers).
    public func localActor(_ id: ActorIdentity) -> (any DistributedActor)? {
        state.withLock { $0.actors[id]?.actor }
    }
    }

/// Counts of the remote calls a node made: how many, how many failed (unreachable, timed out,
/// refused: not the callee's own errors, which are replies), their total time, and how many took
/// at most each of ``bucketBounds`` (a latency histogram; `GET /metrics` shows it).
public final class RemoteCallStats: Sendable {
    /// The upper bounds of the latency histogram's buckets (a last one, unbounded, is implied).
    public static let bucketBounds: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5),
    ]

    public struct Totals: Sendable, Equatable {
        public var calls = 0
        public var failures = 0
        public var nanoseconds = 0
        /// Calls whose time was at most each bound of ``bucketBounds``, not cumulative; one more
        /// entry at the end for the slower ones.
        public var buckets = [Int](repeating: 0, count: RemoteCallStats.bucketBounds.count + 1)
        /// One-way calls sent (``ClusterActorSystem/oneWay``): not in the counts above, as
        /// nothing answers them.
        public var oneWay = 0
    }

    private let totalsSoFar = Mutex(Totals())

    public init() {}

    func record(_ duration: Duration, failed: Bool) {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        let bucket = Self.bucketBounds.firstIndex { duration <= $0 } ?? Self.bucketBounds.count
        totalsSoFar.withLock { totals in
            totals.calls += 1
            if failed { totals.failures += 1 }
            totals.nanoseconds += nanoseconds
            totals.buckets[bucket] += 1
        }
    }

    func recordOneWay() {
        totalsSoFar.withLock { $0.oneWay += 1 }
    }

    /// Everything counted so far.
    public var totals: Totals { totalsSoFar.withLock { $0 } }
}
