import ChorusActorSystem
import ChorusCluster
import ChorusModel
import Distributed
import Synchronization

/// Where each actor of a Chorus cluster lives: channels and users by the consistent-hash ring
/// (key `channel/<id>` or `user/<id>`), each node's ``ChatNodeActor`` on that node.
///
/// Inbound calls reach local actors through ``withLocalActor(for:callerEpoch:_:)``: a channel is
/// activated (and pinned) like any local use, a user must already exist here. A call for a key this
/// node does not own fails with `wrongOwner` and the node's ring epoch.
public final class ChatPlacement: ActorPlacement {
    /// This node's name.
    public let nodeName: String
    private let state: Mutex<HashRing>
    private struct WeakNode { weak var node: ChatNode? }
    private let node = Mutex(WeakNode())

    /// While this node hands keys over: the ring they move to, and the calls running per key.
    private struct Handoff {
        var target: HashRing?
        var inFlight: [ActorIdentity: Int] = [:]
    }
    private let handoff = Mutex(Handoff())
    private let onChange = Mutex<[@Sendable (HashRing) -> Void]>([])

    public init(nodeName: String, ring: HashRing) {
        self.nodeName = nodeName
        self.state = Mutex(ring)
    }

    /// Connects the placement to the node whose actors it serves.
    public func attach(_ node: ChatNode) {
        self.node.withLock { $0.node = node }
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
        let ring = HashRing(nodes: description.nodes, virtualNodes: description.virtualNodes, epoch: description.epoch)
        let adopted = state.withLock { current in
            guard description.epoch > current.epoch else { return false }
            current = ring
            return true
        }
        if adopted {
            handoff.withLock { handoff in
                if let target = handoff.target, target.epoch <= description.epoch { handoff.target = nil }
            }
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
        handoff.withLock { moving(id, $0.target) }
    }

    private func moving(_ id: ActorIdentity, _ target: HashRing?) -> Bool {
        guard let target, id.kind != ChatNodeActor.kind else { return false }
        return target.owner(of: id.description) != nodeName
    }

    /// Runs `body` as a call on `id`: refused with `unreachable` while `id` moves away, and
    /// counted, so a hand-off can wait until calls that started before it have finished.
    public func track<Result>(_ id: ActorIdentity, _ body: () async throws -> Result) async throws -> Result {
        try handoff.withLock { handoff throws(RemoteCallError) in
            if moving(id, handoff.target) {
                throw RemoteCallError(.unreachable, "\(id) is moving to another node; retry in a moment")
            }
            handoff.inFlight[id, default: 0] += 1
        }
        defer {
            handoff.withLock { handoff in
                handoff.inFlight[id]! -= 1
                if handoff.inFlight[id] == 0 { handoff.inFlight[id] = nil }
            }
        }
        return try await body()
    }

    /// Starts refusing calls for the keys `target` gives to other nodes, and waits until the calls
    /// on them that are already running have finished.
    func beginHandoff(to target: HashRing) async {
        handoff.withLock { $0.target = target }
        while handoff.withLock({ handoff in handoff.inFlight.keys.contains { moving($0, handoff.target) } }) {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The current ring, as it crosses the wire.
    public var description: RingDescription {
        let ring = self.ring
        return RingDescription(nodes: ring.nodes, virtualNodes: ring.virtualNodes, epoch: ring.epoch)
    }

    /// The other nodes on the ring.
    public var peers: [String] { ring.nodes.filter { $0 != nodeName } }

    /// The node that owns `id`.
    public func owner(of id: ActorIdentity) -> String {
        switch id.kind {
        case ChatNodeActor.kind: id.key
        default: state.withLock { $0.owner(of: id.description) } ?? nodeName
        }
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
        guard let node = node.withLock({ $0.node }) else { throw RemoteCallError(.actorNotFound, "node \(nodeName) is not serving") }
        try await track(id) { try await serveLocal(id, node: node, body) }
    }

    private func serveLocal(_ id: ActorIdentity, node: ChatNode, _ body: (any DistributedActor) async throws -> Void) async throws {
        switch id.kind {
        case "channel":
            guard let channel = ChannelID(id.key) else { throw RemoteCallError(.actorNotFound, "bad channel id \(id.key)") }
            do {
                try await node.withLocalChannel(channel) { try await body($0) }
            } catch let error as ChatError where error.code == .channelNotFound {
                throw RemoteCallError(.actorNotFound, "no channel \(channel) on \(nodeName)")
            }
        case "user":
            guard let user = UserID(id.key), let actor = node.localUser(user) else {
                throw RemoteCallError(.actorNotFound, "no user \(id.key) on \(nodeName)")
            }
            try await body(actor)
        case ChatNodeActor.kind:
            guard let actor = node.localNodeActor else { throw RemoteCallError(.actorNotFound, "node \(nodeName) is not serving peers") }
            try await body(actor)
        default:
            throw RemoteCallError(.actorNotFound, "no actor \(id) on \(nodeName)")
        }
    }
}

/// A hash ring as nodes exchange it.
public struct RingDescription: Sendable, Codable, Equatable {
    public var nodes: [String]
    public var virtualNodes: Int
    public var epoch: UInt64
}
