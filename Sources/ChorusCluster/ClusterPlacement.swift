import ChorusActorSystem
import ChorusModel
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
/// call for a key this node does not own fails with `wrongOwner` and the node's ring epoch. The
/// activator runs calls on keyed actors through ``gate``, which refuses a key that is moving away
/// (``CallGate/beginHandoff(to:deadline:)``).
public final class ClusterPlacement: ActorPlacement {
    /// This node's name.
    public let nodeName: String
    /// The current ring, and the one before it (a key's replicas are those of both, as records
    /// may have been acknowledged under either).
    private let state: Mutex<(current: HashRing, previous: HashRing?)>
    /// Every other node any ring of this node has had.
    private let everOnRing: Mutex<Set<String>>

    private struct Activator {
        weak var activator: (any ActorActivator)?
        /// Node-level: keyed by node name, never on the ring, never moving.
        var pinned: Bool
    }
    private let activators = Mutex<[String: Activator]>([:])

    /// Calls on this node's keys, and the keys refused while a hand-off moves them. The chat
    /// layer counts its calls here (the one count passivation also reads).
    public let gate: CallGate
    private let onChange = Mutex<[@Sendable (HashRing) -> Void]>([])

    /// `clock` runs the hand-off deadlines.
    public init(nodeName: String, ring: HashRing, clock: any TimeSource = SystemTimeSource()) {
        self.nodeName = nodeName
        self.state = Mutex((ring, nil))
        self.everOnRing = Mutex(Set(ring.nodes).subtracting([nodeName]))
        self.gate = CallGate(me: nodeName, clock: clock)
    }

    /// Serves the actors of `kinds` here through `activator` (held weakly). `pinned` kinds are
    /// node-level: the key is a node name, and such calls are never refused by a hand-off.
    public func register(_ activator: any ActorActivator, kinds: [String], pinned: Bool = false) {
        activators.withLock { activators in
            for kind in kinds { activators[kind] = Activator(activator: activator, pinned: pinned) }
        }
    }

    /// Whether actors of `kind` are node-level (keyed by node name).
    public func isPinned(_ kind: String) -> Bool {
        activators.withLock { $0[kind]?.pinned ?? false }
    }

    /// The current ring.
    public var ring: HashRing { state.withLock { $0.current } }

    /// Replaces the ring (a membership change).
    public func update(_ ring: HashRing) {
        state.withLock { $0 = (ring, $0.current) }
        changed(ring)
    }

    /// Adopts `description` if it is newer than the current ring; returns whether it did. A
    /// hand-off towards that ring (or an older one) is over: its keys now belong to their new owners.
    @discardableResult
    public func adopt(_ description: RingDescription) -> Bool {
        let ring = description.ring
        let adopted = state.withLock { state in
            guard description.epoch > state.current.epoch else { return false }
            state = (ring, state.current)
            return true
        }
        if adopted {
            gate.adopted(epoch: description.epoch)
            changed(ring)
        }
        return adopted
    }

    /// Calls `observer` after every ring change (to persist it, or to move subscriptions).
    public func onRingChange(_ observer: @escaping @Sendable (HashRing) -> Void) {
        onChange.withLock { $0.append(observer) }
    }

    private func changed(_ ring: HashRing) {
        everOnRing.withLock { $0.formUnion(ring.nodes.filter { $0 != nodeName }) }
        for observer in onChange.withLock({ $0 }) { observer(ring) }
    }

    /// The current ring, as it crosses the wire.
    public var description: RingDescription { RingDescription(ring) }

    /// The other nodes on the ring.
    public var peers: [String] { ring.nodes.filter { $0 != nodeName } }

    /// The other nodes that have been on this node's ring, now or before: a node the ring dropped
    /// (down, or only suspected under load) may still be running, with clients.
    public var knownPeers: Set<String> { everOnRing.withLock { $0 } }

    /// The node that owns `id`.
    public func owner(of id: ActorIdentity) -> String {
        isPinned(id.kind) ? id.key : state.withLock { $0.current.owner(of: id.description) } ?? nodeName
    }

    /// The replicas of `id` (its owner first): the first `count` distinct nodes on the ring, and
    /// those it had on the previous ring, so that a new owner recovers from a majority of the
    /// replicas that acknowledged its records (docs/replication.md, "Ring changes").
    public func replicas(of id: ActorIdentity, count: Int) -> [String] {
        let key = id.description
        let (ring, previous) = state.withLock { $0 }
        let current = ring.preferenceList(for: key, count: count)
        let before = previous?.preferenceList(for: key, count: count) ?? []
        return current + before.filter { !current.contains($0) }
    }

    public func remoteOwner(of id: ActorIdentity) -> String? {
        let owner = owner(of: id)
        return owner == nodeName ? nil : owner
    }

    public var epoch: UInt64 { state.withLock { $0.current.epoch } }

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
        try await activator.withLocalActor(id, body)
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
