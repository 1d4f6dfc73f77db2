import ChorusActorSystem
import ChorusCluster
import ChorusModel
import Distributed

/// One per node: what peers ask of a node's chat layer as a whole rather than of one channel or
/// user (the cluster layer's own calls go to its ``ClusterNodeActor``).
///
/// Creating a user or a channel must happen on the node that owns its key; membership changes and
/// events reach this node's edge through it; a hand-off stores moving keys through it.
public distributed actor ChatNodeActor {
    public typealias ActorSystem = ClusterActorSystem

    /// The actor kind of node actors; the key is the node name.
    public static let kind = "chatnode"

    private let node: ChatNode
    /// Replication messages from each peer, handed to their actors in the order the peer sent them.
    private let replicas: PeerBatches<ReplicaEnvelope>

    init(actorSystem: ClusterActorSystem, node: ChatNode) {
        self.actorSystem = actorSystem
        self.node = node
        replicas = PeerBatches { [weak node] batch, peer in await node?.receiveReplicas(batch, from: peer) }
    }

    /// The identity of node `name`'s actor.
    public static func identity(of name: String) -> ActorIdentity {
        ActorIdentity(kind: kind, key: name)
    }

    /// Creates user `id` here (this node owns them) if new; returns the profile.
    public distributed func ensureUser(_ id: UserID, displayName: String) async throws -> UserProfile {
        try await node.ensureUser(id, displayName: displayName)
    }

    /// Creates or renames user `id` here.
    public distributed func upsertUser(_ id: UserID, displayName: String) async throws -> UserProfile {
        try await node.upsertUser(id, displayName: displayName)
    }

    /// Creates a channel this node owns; returns once its `created` record is durable.
    public distributed func createChannel(_ info: ChannelInfo, members: [Member], profile: ChannelProfile?) async throws {
        try await node.createLocalChannel(info, members: members, profile: profile)
    }

    /// Where message `key` is, if this node knows (``ChatNode/locateMessage(_:)``).
    public distributed func locateMessage(_ key: String) throws -> MessageLocation? {
        try node.locateLocalMessage(key).map { MessageLocation(channel: $0.channel, message: $0.message) }
    }

    /// This node's task `id` (``ChatNode/task(_:)`` asks the node that runs it).
    public distributed func task(_ id: String) -> ChatTask? {
        node.tasks.task(id)
    }

    /// The channels this node holds (for queries that scan every node).
    public distributed func localChannelIDs() throws -> [ChannelID] {
        try node.localChannelIDs()
    }

    /// The first `limit` users after `cursor` that this node holds and `filter` matches (``ChatNode/users(matching:after:limit:)``).
    public distributed func users(matching filter: QueryFilter, after cursor: UserID?, limit: Int) async throws -> [UserProfile] {
        try await node.localUsers(matching: filter, after: cursor, limit: limit)
    }

    /// `user` came online or went offline: tell the active channels of theirs that this node owns.
    public distributed func presenceChanged(of user: UserID, online: Bool, in channels: [ChannelID]) async {
        await node.presenceChanged(of: user, online: online, in: channels)
    }

    /// The first `limit` channels this node owns that match `filter`, in `sort` order (``ChatNode/queryChannels(_:sort:limit:)``).
    public distributed func queryChannels(_ filter: QueryFilter, sort: QuerySort, limit: Int) async throws -> [IndexedChannel] {
        try await node.localQueryChannels(filter, sort: sort, limit: limit)
    }

    /// A user of a channel on another node joined or left it: tell this node's edges.
    public distributed func membershipChanged(of user: UserID, in channel: ChannelID, isMember: Bool, seq: UInt64) {
        node.notifyLocalEdges(of: user, in: channel, isMember: isMember, seq: seq)
    }

    /// Stores messages of a channel being handed to this node.
    public distributed func adoptMessages(_ messages: [Message]) async throws {
        try await node.adoptMessages(messages)
    }

    /// Takes over a channel handed to this node (after its messages).
    public distributed func adoptChannel(_ metadata: ChannelState) async throws {
        try await node.adoptChannel(metadata)
    }

    /// Takes over a user handed to this node.
    public distributed func adoptUser(_ state: UserState) async throws {
        try await node.adoptUser(state)
    }

    /// Replication messages of channels this node holds replicas of (or is primary of), in the
    /// order `peer` sent them. A one-way call: it only queues them (calls start here in the order
    /// they arrived), and they reach their actors one batch after another.
    public distributed func replicate(_ batch: ReplicaEnvelopes, from peer: String) async {
        replicas.append(batch.envelopes, for: peer)
    }

    /// Events of channels on other nodes for edge `edge` here, in order.
    public distributed func deliver(_ batch: ChannelEventBatch, toEdge edge: String) {
        guard let sink = node.eventSink(edge: edge) else { return }
        for event in batch.events { sink.deliver(event) }
    }
}
