import ChorusActorSystem
import Distributed
import Synchronization

/// What serves a placement's local actors: activates (or finds) the actor of an id this node owns.
public protocol ActorActivator: AnyObject, Sendable {
    /// Runs `body` with the local actor `id`, activating it if needed and keeping it from being
    /// passivated meanwhile; throws `RemoteCallError(.actorNotFound)` when there is no such actor.
    /// Do not suspend before `body` when the actor is already active (calls arrive in order).
    func withLocalActor(_ id: ActorIdentity, _ body: (any DistributedActor) async throws -> Void) async throws
}

/// Where each actor of a cluster lives: keyed actors (channels, users) by the consistent-hash ring
/// (key `kind/id`), node-level actors (kinds registered as `pinned`, keyed by node name) on their
/// node.
///
/// Inbound calls reach local actors through the ``ActorActivator`` registered for their kind. A
/// call for a key this node does not own fails with `wrongOwner` and the node's ring epoch; a
/// call for a key that is moving away (``beginHandoff(to:deadline:timer:)``) is refused with
/// `unreachable` and never runs.
public final class ClusterPlacement: ActorPlacement {
    /// This node's name.
    public let nodeName: String
    private let state: Mutex<HashRing>

    private struct Activator {
        weak var activator: (any ActorActivator)?
        /// Node-level: keyed by node name, never on the ring, never moving.
        var pinned: Bool
    }
    private let activators = Mutex<[String: Activator]>([:])

    /// The hand-off gate (a pure ``HandoffGate``: calls per key, the keys refused while they
    /// move) and the hand-off waiting for running calls to finish, if one is.
    private struct Handoff {
        var gate: HandoffGate
        var waiter: CheckedContinuation<Void, any Error>?
    }
    private let handoff: Mutex<Handoff>
    private let onChange = Mutex<[@Sendable (HashRing) -> Void]>([])

    public init(nodeName: String, ring: HashRing) {
        self.nodeName = nodeName
        self.state = Mutex(ring)
        self.handoff = Mutex(Handoff(gate: HandoffGate(me: nodeName)))
    }

    /// Serves the actors of `kinds` here through `activator` (held weakly). `pinned` kinds are
    /// node-level: the key is a node name, and such calls are never refused by a hand-off.
    public func register(_ activator: any ActorActivator, kinds: [String], pinned: Bool = false) {
        activators.withLock { activators in
            for kind in kinds { activators[kind] = Activator(activator: activator, pinned: pinned) }
        }
    }

    private func isPinned(_ kind: String) -> Bool {
        activators.withLock { $0[kind]?.pinned ?? false }
    }

    /// The current ring.
    public var ring: HashRing { state.withLock { $0 } }

    /// Replaces the ring (a membership change).
    public func update(_ ring: HashRing) {
        state.withLock { $0 = ring }
        changed(ring)
    }

    /// Adopts `description` if it is newer than the current ring; returns whether it did. A
    /// hand-off towards that ring (or an older one) is over: its keys now belong to their new owners.
    @discardableResult
    public func adopt(_ description: RingDescription) -> Bool {
        let ring = description.ring
        let adopted = state.withLock { current in
            guard description.epoch > current.epoch else { return false }
            current = ring
            return true
        }
        if adopted {
            // A hand-off towards this ring (or an older one) is over; one still waiting for
            // running calls stops waiting (its keys belong to their new owners now).
            takeWaiter { gate in
                gate.adopted(epoch: description.epoch)
                return gate.target == nil
            }?.resume(throwing: RemoteCallError(.unreachable, "ring \(description.epoch) was adopted while the hand-off waited"))
            changed(ring)
        }
        return adopted
    }

    /// Calls `observer` after every ring change (to persist it, or to move subscriptions).
    public func onRingChange(_ observer: @escaping @Sendable (HashRing) -> Void) {
        onChange.withLock { $0.append(observer) }
    }

    private func changed(_ ring: HashRing) {
        for observer in onChange.withLock({ $0 }) { observer(ring) }
    }

    // MARK: Hand-off

    /// Whether calls for `id` are refused because it is moving to another node.
    public func isMoving(_ id: ActorIdentity) -> Bool {
        !isPinned(id.kind) && handoff.withLock { $0.gate.isClosed(id.description) }
    }

    /// Runs `body` as a call on `id`: refused with `unreachable` while `id` moves away, and
    /// counted, so a hand-off can wait until calls that started before it have finished.
    public func track<Result>(_ id: ActorIdentity, _ body: () async throws -> Result) async throws -> Result {
        // Node-level calls never move (and the hand-off itself runs through them).
        guard !isPinned(id.kind) else { return try await body() }
        let key = id.description
        guard handoff.withLock({ $0.gate.start(key) }) else {
            throw RemoteCallError(.unreachable, "\(id) is moving to another node; retry in a moment")
        }
        defer { takeWaiter { $0.finished(key) == .proceed }?.resume() }
        return try await body()
    }

    /// Starts refusing calls for the keys `target` gives to other nodes, and returns once the
    /// calls on them that are already running have finished. If they do not finish within
    /// `deadline`, the hand-off is aborted (every key is served again) and this throws. `timer`
    /// waits out the deadline (tests fire it by hand).
    public func beginHandoff(
        to target: HashRing, deadline: Duration, timer wait: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) async throws {
        let timer = Task {
            try await wait(deadline)
            // Only a hand-off still waiting gives up; one that has gone on is not disturbed.
            self.takeWaiter { gate in
                guard gate.draining else { return false }
                gate.abort()
                return true
            }?.resume(throwing: RemoteCallError(.unreachable, "calls on the moving keys did not finish within \(deadline); hand-off aborted"))
        }
        defer { timer.cancel() }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome = handoff.withLock { handoff -> Result<Bool, RemoteCallError> in
                // One hand-off at a time: a second one would take the first one's place.
                if let running = handoff.gate.target {
                    return .failure(RemoteCallError(.unreachable, "a hand-off towards ring \(running.epoch) is already running"))
                }
                if handoff.gate.begin(target: target) == .proceed { return .success(true) }
                handoff.waiter = continuation
                return .success(false)
            }
            switch outcome {
            case .success(true): continuation.resume()
            case .success(false): break
            case .failure(let error): continuation.resume(throwing: error)
            }
        }
    }

    /// Ends a hand-off that failed (only one towards ring `epoch`, if given, so a late abort
    /// cannot end a newer one): the gate opens and this node serves its keys again; a hand-off
    /// still waiting for running calls fails with `error`.
    public func abortHandoff(epoch: UInt64? = nil, _ error: any Error = RemoteCallError(.unreachable, "hand-off aborted")) {
        takeWaiter { gate in
            guard let target = gate.target, epoch == nil || target.epoch == epoch else { return false }
            gate.abort()
            return true
        }?.resume(throwing: error)
    }

    /// Applies `change` to the gate under the lock; if it returns true, hands back the waiting
    /// hand-off (if any), to be resumed outside the lock.
    private func takeWaiter(_ change: (inout HandoffGate) -> Bool) -> CheckedContinuation<Void, any Error>? {
        handoff.withLock { handoff in
            guard change(&handoff.gate) else { return nil }
            defer { handoff.waiter = nil }
            return handoff.waiter
        }
    }

    /// The current ring, as it crosses the wire.
    public var description: RingDescription { RingDescription(ring) }

    /// The other nodes on the ring.
    public var peers: [String] { ring.nodes.filter { $0 != nodeName } }

    /// The node that owns `id`.
    public func owner(of id: ActorIdentity) -> String {
        isPinned(id.kind) ? id.key : state.withLock { $0.owner(of: id.description) } ?? nodeName
    }

    public func remoteOwner(of id: ActorIdentity) -> String? {
        let owner = owner(of: id)
        return owner == nodeName ? nil : owner
    }

    public var epoch: UInt64 { state.withLock { $0.epoch } }

    public func withLocalActor(
        for id: ActorIdentity, callerEpoch: UInt64, _ body: (any DistributedActor) async throws -> Void
    ) async throws {
        let owner = owner(of: id)
        guard owner == nodeName else {
            throw RemoteCallError(.wrongOwner, "\(id) is owned by \(owner), not \(nodeName)", epoch: epoch)
        }
        guard let activator = activators.withLock({ $0[id.kind]?.activator }) else {
            throw RemoteCallError(.actorNotFound, "no actor \(id) on \(nodeName)")
        }
        try await track(id) { try await activator.withLocalActor(id, body) }
    }
}

/// A hash ring as nodes exchange it.
public struct RingDescription: Sendable, Codable, Equatable {
    public var nodes: [String]
    public var virtualNodes: Int
    public var epoch: UInt64

    public init(_ ring: HashRing) {
        self.nodes = ring.nodes
        self.virtualNodes = ring.virtualNodes
        self.epoch = ring.epoch
    }

    public var ring: HashRing { HashRing(nodes: nodes, virtualNodes: virtualNodes, epoch: epoch) }
}
