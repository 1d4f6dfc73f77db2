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
    }

    /// Adopts `description` if it is newer than the current ring; returns whether it did.
    @discardableResult
    public func adopt(_ description: RingDescription) -> Bool {
        state.withLock { ring in
            guard description.epoch > ring.epoch else { return false }
            ring = HashRing(nodes: description.nodes, virtualNodes: description.virtualNodes, epoch: description.epoch)
            return true
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
