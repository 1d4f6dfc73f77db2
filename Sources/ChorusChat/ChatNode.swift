import ChorusActorSystem
import ChorusCluster
import ChorusModel
import ChorusStorage
import Distributed
import Foundation
import Logging
import Synchronization

/// The chat service of one node, composed of parts with one job each: the ``ActorDirectory``
/// (active actors, passivation), the router (`ChatNode+Routing.swift`: activation, and calls to
/// the owner of a key, here or on a peer), the ``EdgeRegistry`` (who receives channel events), and
/// the operations that span actors (`ChatNode+Operations.swift`), recovery and checkpoints
/// (`ChatNode+Checkpoint.swift`) and the chat side of hand-offs (`ChatNode+Handoff.swift`).
///
/// Actors see only their ``ActorEnvironment``. Channel actors exist from their `created` record
/// on; user actors from the user's first authenticated request or upsert. Looking up a channel or
/// user that does not exist never creates an actor.
public final class ChatNode: Sendable {
    /// The node's actor system.
    public let actorSystem: ClusterActorSystem
    /// Where actors read the time.
    public let clock: any TimeSource
    /// Client input limits.
    public let limits: ChatLimits
    /// Where actors log their records (the node's WAL, or nothing for an in-memory node).
    public let journal: any Journal
    /// Message history beyond the actors' memory windows (`nil` for an in-memory node).
    public let store: HistoryStore?
    let configuration: Configuration

    /// Where actors live in a cluster; `nil` on a single node (everything is local).
    public let cluster: ClusterPlacement?
    /// This node's own ``ChatNodeActor`` (the target of peers' node-level calls), and its cluster
    /// membership, once ``startClusterServices(member:)`` ran.
    private let clusterParts = Mutex<(nodeActor: ChatNodeActor, member: ClusterMember)?>(nil)

    let ids: MessageIDSource
    let directory: ActorDirectory
    /// How channels replicate; nil when they do not (one node, or a replication factor of 1).
    let replication: ReplicationContext?
    /// The edges that receive channel events: this node's, and forwarders to peers' edges.
    let edges = EdgeRegistry()
    /// Profiles of users who authenticated here lately (``ensureUser(_:displayName:)``).
    let profiles: ProfileCache
    /// Every channel type and its settings.
    public let channelTypes: ChannelTypeRegistry
    /// Segments, campaigns and their progress.
    public let documents: AppDocuments
    /// What the actors count for the node's metrics.
    public let stats = ChatStats()
    /// This node's background tasks.
    public let tasks: ChatTaskStore
    /// Runners of task kinds the chat layer does not run itself.
    let taskRunners = Mutex<[String: ChatTaskRunner]>([:])
    /// The actors' environment while any actor holds it (``environment``).
    private let sharedEnvironment = Mutex(WeakEnvironment())
    /// What removes the leftovers of an ended task, by kind.
    let taskCleanups = Mutex<[String: @Sendable (ChatTask) -> Void]>([:])
    /// The tasks running on this node now.
    let runningTasks = Mutex<Set<String>>([])
    /// The runners of campaigns on this node now, by campaign.
    let runningCampaigns = Mutex<[String: Task<Void, Never>]>([:])
    /// Where the last capped retention pass stopped (the creation time, RFC 3339, of its last channel).
    let retentionCursor = Mutex<String?>(nil)
    let logger: Logger

    /// Settings of the chat layer.
    public struct Configuration: Sendable {
        /// Client input limits.
        public var limits: ChatLimits
        /// How long one typing call keeps a user typing (default 5 s).
        public var typingTTL: Duration
        /// This node's snowflake node id, `0..<1024`.
        public var snowflakeNode: UInt64
        /// How many recent messages a channel keeps in memory after a checkpoint (default 200).
        public var messageWindow: Int
        /// How many recent events a channel keeps for resuming clients (default 1,000).
        public var eventLogCapacity: Int
        /// How long a call whose key is moving to another node is retried before it fails with
        /// 503 (default 5 s, the cluster's call timeout).
        public var movingRetryDeadline: Duration = .seconds(5)
        /// How many nodes hold each channel in a cluster (default 1: only its owner;
        /// docs/replication.md). Capped at the number of nodes.
        public var replicationFactor = 1
        /// How often a channel's primary resends what its replicas have not acknowledged (default 100 ms).
        public var replicationRetryInterval: Duration = .milliseconds(100)
        /// Word lists by name, for channel types' `blocklist`.
        public var blocklists: [String: [String]] = [:]
        /// How many messages per second each campaign sends at most (default 100).
        public var campaignMessagesPerSecond = 100
        /// How long this node uses a user's profile without asking their actor again when a
        /// request authenticates (default 10 s; zero asks every time). A rename made through
        /// another node reaches this node's `sender_name`s within it (``ProfileCache``).
        public var profileCacheTTL: Duration = .seconds(10)

        public init(
            limits: ChatLimits = ChatLimits(), typingTTL: Duration = .seconds(5), snowflakeNode: UInt64 = 0, messageWindow: Int = 200,
            eventLogCapacity: Int = 1000
        ) {
            self.limits = limits
            self.typingTTL = typingTTL
            self.snowflakeNode = snowflakeNode
            self.messageWindow = messageWindow
            self.eventLogCapacity = eventLogCapacity
        }
    }

    public init(
        actorSystem: ClusterActorSystem, configuration: Configuration = Configuration(), journal: any Journal = MemoryJournal(),
        store: HistoryStore? = nil, clock: any TimeSource = SystemTimeSource(), cluster: ClusterPlacement? = nil,
        channelTypes: ChannelTypeRegistry? = nil, documents: AppDocuments = AppDocuments(), tasks: ChatTaskStore = ChatTaskStore(), logger: Logger = Logger(label: "chorus.chat")
    ) {
        self.tasks = tasks
        self.documents = documents
        self.actorSystem = actorSystem
        self.cluster = cluster
        self.journal = journal
        self.store = store
        var configuration = configuration
        configuration.messageWindow = max(1, configuration.messageWindow)
        configuration.eventLogCapacity = max(1, configuration.eventLogCapacity)
        self.configuration = configuration
        self.clock = clock
        self.limits = configuration.limits
        self.ids = MessageIDSource(node: configuration.snowflakeNode)
        self.profiles = ProfileCache(ttl: configuration.profileCacheTTL)
        self.directory = ActorDirectory(gate: cluster?.gate ?? CallGate(me: actorSystem.nodeName))
        self.logger = logger
        self.channelTypes =
            channelTypes ?? ChannelTypeRegistry(defaultMaxMessageLength: configuration.limits.maxMessageLength, blocklists: configuration.blocklists)
        if let cluster, configuration.replicationFactor > 1 {
            replication = ReplicationContext(
                me: actorSystem.nodeName, factor: configuration.replicationFactor, placement: cluster,
                retryInterval: configuration.replicationRetryInterval, recoveryDeadline: configuration.movingRetryDeadline,
                sender: ReplicaSender(actorSystem: actorSystem, logger: logger), board: ReplicaBoard(), logger: logger)
        } else {
            replication = nil
        }
        actorSystem.register(errorType: ChatError.self)
    }

    /// What this node's actors see of it: one object while any actor holds it. The node keeps it
    /// weakly (it holds the node), so it does not keep the node alive.
    var environment: ActorEnvironment {
        sharedEnvironment.withLock { shared in
            if let environment = shared.value { return environment }
            let environment = makeEnvironment()
            shared.value = environment
            return environment
        }
    }

    private func makeEnvironment() -> ActorEnvironment {
        ActorEnvironment(
            journal: journal, clock: clock, limits: limits, typingTTL: configuration.typingTTL, messageWindow: configuration.messageWindow,
            eventLogCapacity: configuration.eventLogCapacity, store: store, ids: ids, directory: directory, operations: self,
            replication: replication, channelTypes: channelTypes, stats: stats, logger: logger)
    }

    /// A new channel actor with `state` (call inside the directory's lock when registering it);
    /// or the actor of that channel that is still alive, though no longer in the directory (it was
    /// passivated, or a hand-off replaced it, while a task of it ran): one channel never has two
    /// actors on a node, and that one's state is as current as the store's.
    func makeChannelActor(_ state: ChannelState, appliedLSN: UInt64, storedLSN: UInt64 = 0, eventsAvailableAfter: UInt64? = nil) -> ChannelActor {
        if let live = actorSystem.localActor(ChannelActor.identity(of: state.info.id)) as? ChannelActor { return live }
        return actorSystem.withIdentity(ChannelActor.identity(of: state.info.id)) {
            ChannelActor(
                actorSystem: actorSystem, state: state, appliedLSN: appliedLSN, storedLSN: storedLSN, eventsAvailableAfter: eventsAvailableAfter,
                environment: environment)
        }
    }

    /// A new user actor with `state`.
    func makeUserActor(_ state: UserState, appliedLSN: UInt64, storedLSN: UInt64 = 0) -> UserActor {
        actorSystem.withIdentity(UserActor.identity(of: state.id)) {
            UserActor(actorSystem: actorSystem, state: state, appliedLSN: appliedLSN, storedLSN: storedLSN, environment: environment)
        }
    }

    // MARK: Edges

    /// Registers an edge (the WebSocket gateway of this node) under its ``EdgeEventSink/edgeName``.
    public func registerEdge(_ sink: any EdgeEventSink) {
        edges.register(sink)
    }

    /// The sink of edge `name`: registered on this node, or a forwarder to a peer's edge. A peer
    /// the ring dropped still gets one: it may be running (a node suspected under load is taken
    /// off the ring), with sockets that follow this node's channels, and it subscribes again
    /// when it sees the ring change, possibly before this node does. (A subscription of a peer
    /// not on the ring was once dropped while the call succeeded: that edge's sockets got nothing.)
    func eventSink(edge name: String) -> (any EdgeEventSink)? {
        edges.sink(named: name) {
            guard let cluster, cluster.knownPeers.contains(name), let nodeActor = try? chatNodeActor(on: name) else { return nil }
            return RemoteEdgeSink(edgeName: name, nodeActor: nodeActor, logger: logger)
        }
    }

    /// Tells this node's edges that `user` joined or left `channel`.
    func notifyLocalEdges(of user: UserID, in channel: ChannelID, isMember: Bool, seq: UInt64) {
        for edge in edges.local {
            edge.membershipChanged(of: user, in: channel, isMember: isMember, seq: seq)
        }
    }

    // MARK: Cluster

    /// Starts serving peers' calls as part of `member`'s cluster: creates this node's
    /// ``ChatNodeActor``, serves channels, users and it through the placement, and moves keys
    /// and reports actor counts for the member.
    public func startClusterServices(member: ClusterMember) {
        let started = clusterParts.withLock { parts -> Bool in
            guard parts == nil else { return false }
            let actor = actorSystem.withIdentity(ChatNodeActor.identity(of: actorSystem.nodeName)) {
                ChatNodeActor(actorSystem: actorSystem, node: self)
            }
            parts = (actor, member)
            return true
        }
        guard started else { return }
        member.placement.register(self, kinds: [ChannelActor.kind, UserActor.kind])
        member.placement.register(self, kinds: [ChatNodeActor.kind], pinned: true)
        member.attach(self)
    }

    /// What this node reports about itself to peers and the admin view.
    public func report() -> NodeReport {
        let counts = activeActorCounts
        var report = NodeReport(
            node: actorSystem.nodeName, epoch: cluster?.epoch ?? 0, actors: [ChannelActor.kind: counts.channels, UserActor.kind: counts.users])
        report.replication = replication?.board.summary
        var counters = ["messages": stats.messages, "wal_records": max(0, Int(journal.nextLSN) - 1)]
        for edge in edges.local {
            counters.merge(edge.statistics, uniquingKeysWith: +)
        }
        report.counters = counters
        return report
    }

    /// This node's cluster membership, once ``startClusterServices(member:)`` ran.
    public var clusterMember: ClusterMember? { clusterParts.withLock { $0?.member } }

    /// Every node with its status and actor counts (just this one when not clustered).
    public func clusterView() async -> ClusterView {
        if let member = clusterMember { return await member.view() }
        let me = report()
        var node = ClusterView.Node(name: me.node, status: "up", isSelf: true, actors: me.actors)
        (node.counters, node.ringShare) = (me.counters, 1)
        return ClusterView(node: me.node, ringEpoch: me.epoch, nodes: [node])
    }

    /// The chat node actor of `peer` (a proxy).
    func chatNodeActor(on peer: String) throws -> ChatNodeActor {
        try ChatNodeActor.resolve(id: ChatNodeActor.identity(of: peer), using: actorSystem)
    }
}

extension ChatNode: ActorActivator {
    /// Serves an inbound call: a channel is activated (and pinned) like any local use, a user must
    /// already exist here, and the node actor exists once the node serves peers.
    public func withLocalActor(_ id: ActorIdentity, _ body: (any DistributedActor) async throws -> Void) async throws {
        let me = actorSystem.nodeName
        switch id.kind {
        case ChannelActor.kind:
            guard let channel = ChannelID(id.key) else { throw RemoteCallError(.actorNotFound, "bad channel id \(id.key)") }
            do {
                try await withLocalChannel(channel) { try await body($0) }
            } catch let error as ChatError where error.code == .channelNotFound {
                throw RemoteCallError(.actorNotFound, "no channel \(channel) on \(me)")
            }
        case UserActor.kind:
            guard let user = UserID(id.key) else { throw RemoteCallError(.actorNotFound, "bad user id \(id.key)") }
            do {
                try await withLocalUser(user) { try await body($0) }
            } catch let error as ChatError where error.code == .userNotFound {
                throw RemoteCallError(.actorNotFound, "no user \(user) on \(me)")
            }
        case ChatNodeActor.kind:
            guard id.key == me, let actor = clusterParts.withLock({ $0?.nodeActor }) else {
                throw RemoteCallError(.actorNotFound, "node \(me) is not serving peers")
            }
            try await body(actor)
        default:
            throw RemoteCallError(.actorNotFound, "no actor \(id) on \(me)")
        }
    }
}

/// The node's reference to its actors' environment: weak, as the environment holds the node.
private struct WeakEnvironment {
    weak var value: ActorEnvironment?
}
