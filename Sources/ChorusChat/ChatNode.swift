import ChorusActorSystem
import ChorusCluster
import ChorusModel
import ChorusStorage
import Distributed
import Foundation
import Logging
import Synchronization

/// The chat service of one node: activates channel and user actors, routes calls to their
/// owners, and runs the operations that span several of them (`ChatNode+Operations.swift`),
/// recovery and checkpoints (`ChatNode+Checkpoint.swift`).
///
/// This is the placement layer of a single node: every key is owned here. Channel actors exist from
/// their `created` record on; user actors from the user's first authenticated request or upsert.
/// Looking up a channel or user that does not exist never creates an actor. The directory holds
/// the strong references that keep activated actors alive.
public final class ChatNode: Sendable {
    /// The node's actor system.
    public let actorSystem: ClusterActorSystem
    /// Where actors read the time.
    public let clock: any TimeSource
    /// Client input limits.
    public let limits: ChatLimits
    /// How long one typing call keeps a user typing.
    public let typingTTL: Duration
    /// Where actors log their records (the node's WAL, or nothing for an in-memory node).
    public let journal: any Journal
    /// Message history beyond the actors' memory windows (`nil` for an in-memory node).
    public let store: HistoryStore?
    /// How many recent messages a channel keeps in memory after a checkpoint.
    public let messageWindow: Int
    /// How many recent events a channel keeps for resuming clients.
    public let eventLogCapacity: Int

    /// Where actors live in a cluster; `nil` on a single node (everything is local).
    public let cluster: ClusterPlacement?
    /// This node's own ``ChatNodeActor`` (the target of peers' node-level calls), and its cluster
    /// membership, once ``startClusterServices(member:)`` ran.
    private let clusterParts = Mutex<(nodeActor: ChatNodeActor, member: ClusterMember)?>(nil)

    let snowflakes: Mutex<SnowflakeGenerator>
    let directory = Mutex(Directory())
    /// The edges that receive channel events: this node's, and forwarders to peers' edges.
    let edges = EdgeRegistry()
    let logger: Logger

    struct Directory {
        var channels: [ChannelID: ChannelEntry] = [:]
        var users: [UserID: UserActor] = [:]
    }

    /// An active channel actor and what passivation needs to know about it.
    struct ChannelEntry {
        var actor: ChannelActor
        /// Calls running through ``withChannel(_:_:)``; an entry with calls is never evicted.
        var inFlight = 0
        var lastUsed: Timestamp
        /// The LSN of the channel's last logged record, and of the last one the store has.
        var committedLSN: UInt64
        var storedLSN: UInt64
        /// Whether an edge receives its events; such an actor is never evicted (it would lose them).
        var subscribed = false

        var isClean: Bool { storedLSN >= committedLSN }
    }

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
        logger: Logger = Logger(label: "chorus.chat")
    ) {
        self.actorSystem = actorSystem
        self.cluster = cluster
        self.journal = journal
        self.store = store
        self.messageWindow = max(1, configuration.messageWindow)
        self.eventLogCapacity = max(1, configuration.eventLogCapacity)
        self.clock = clock
        self.limits = configuration.limits
        self.typingTTL = configuration.typingTTL
        self.snowflakes = Mutex(SnowflakeGenerator(node: configuration.snowflakeNode))
        self.logger = logger
        actorSystem.register(errorType: ChatError.self)
    }

    // MARK: Activation

    /// Runs `body` with the actor of channel `id`, activating it from the store if it was
    /// passivated; `CHAT_CHANNEL_NOT_FOUND` if no such channel exists.
    ///
    /// Servers reach channels only through this: while `body` runs, the actor cannot be passivated.
    public func withChannel<Result>(_ id: ChannelID, _ body: (ChannelActor) async throws -> Result) async throws -> Result {
        let identity = ChannelActor.identity(of: id)
        var attempt = 0
        while true {
            guard let cluster else { return try await withLocalChannel(id, body) }
            guard let owner = cluster.remoteOwner(of: identity) else { return try await cluster.track(identity) { try await withLocalChannel(id, body) } }
            guard let proxy = try? ChannelActor.resolve(id: identity, using: actorSystem) else { throw ChatError.channelNotFound(id) }
            do {
                return try await body(proxy)
            } catch let error as RemoteCallError where error.code == .actorNotFound {
                throw ChatError.channelNotFound(id)
            } catch let error as RemoteCallError where error.code == .wrongOwner {
                guard try await refreshRing(after: error, from: owner, attempt: attempt) else { throw error }
                attempt += 1
            }
        }
    }

    /// After `wrongOwner` from `peer`, whether to retry: if the peer's ring is newer, this node
    /// adopts it; if it is older, the peer is about to adopt ours (a ring change is spreading), so
    /// wait a moment. Gives up after about two seconds. The call was refused before it ran, so a
    /// retry is safe.
    private func refreshRing(after error: RemoteCallError, from peer: String, attempt: Int) async throws -> Bool {
        guard let cluster, let theirs = error.epoch, attempt < 40 else { return false }
        if theirs < cluster.epoch {
            try await Task.sleep(for: .milliseconds(50))
            return true
        }
        guard theirs > cluster.epoch else { return false }
        let description = try await ClusterNodeActor.on(peer, using: actorSystem).ring()
        guard cluster.adopt(description) else { return false }
        logger.info("ring refreshed", metadata: ["cluster.epoch": "\(description.epoch)", "cluster.from": "\(peer)"])
        return true
    }

    /// ``withChannel(_:_:)`` for a channel this node owns.
    func withLocalChannel<Result>(_ id: ChannelID, _ body: (ChannelActor) async throws -> Result) async throws -> Result {
        let actor = try acquireChannel(id)
        defer { releaseChannel(id) }
        return try await body(actor)
    }

    /// The active actor of channel `id` (not activating it); for tests and tools that do not race
    /// with passivation. Servers use ``withChannel(_:_:)``.
    public func channel(_ id: ChannelID) throws(ChatError) -> ChannelActor {
        guard let actor = directory.withLock({ $0.channels[id]?.actor }) else { throw ChatError.channelNotFound(id) }
        return actor
    }

    private func acquireChannel(_ id: ChannelID) throws -> ChannelActor {
        let now = clock.now()
        if let actor = directory.withLock({ directory -> ChannelActor? in
            guard directory.channels[id] != nil else { return nil }
            directory.channels[id]!.inFlight += 1
            directory.channels[id]!.lastUsed = now
            return directory.channels[id]!.actor
        }) {
            return actor
        }
        // Not active: load it from the store (outside the lock), then activate it unless another
        // call did meanwhile.
        guard let store, let snapshot = try store.channelSnapshot(id, window: messageWindow) else { throw ChatError.channelNotFound(id) }
        return directory.withLock { directory in
            if directory.channels[id] == nil {
                let actor = actorSystem.withIdentity(ChannelActor.identity(of: id)) {
                    ChannelActor(actorSystem: actorSystem, state: snapshot.state, appliedLSN: snapshot.appliedLSN, storedLSN: snapshot.appliedLSN, node: self)
                }
                directory.channels[id] = ChannelEntry(actor: actor, lastUsed: now, committedLSN: snapshot.appliedLSN, storedLSN: snapshot.appliedLSN)
            }
            directory.channels[id]!.inFlight += 1
            directory.channels[id]!.lastUsed = now
            return directory.channels[id]!.actor
        }
    }

    private func releaseChannel(_ id: ChannelID) {
        directory.withLock { $0.channels[id]?.inFlight -= 1 }
    }

    /// Called by a channel actor as it logs a record (synchronously, in the same turn).
    func noteCommitted(_ id: ChannelID, lsn: UInt64) {
        directory.withLock { $0.channels[id]?.committedLSN = lsn }
    }

    /// Called by a channel actor once a checkpoint has stored everything up to `lsn`.
    func noteStored(_ id: ChannelID, lsn: UInt64) {
        directory.withLock { directory in
            if let stored = directory.channels[id]?.storedLSN, stored < lsn { directory.channels[id]!.storedLSN = lsn }
        }
    }

    /// Called by a channel actor when its first edge subscribes or its last one leaves.
    func noteSubscribed(_ id: ChannelID, _ subscribed: Bool) {
        directory.withLock { $0.channels[id]?.subscribed = subscribed }
    }

    /// Evicts channel actors that are idle for `idle`, have no call running, no subscribed edge
    /// and nothing the store lacks; they are activated again from the store on next use. Returns how many.
    @discardableResult
    public func passivateIdleChannels(idleFor idle: Duration) -> Int {
        guard store != nil else { return 0 }
        let cutoff = clock.now().advanced(by: .zero - idle)
        return directory.withLock { directory in
            let idleIDs = directory.channels.filter {
                $0.value.inFlight == 0 && !$0.value.subscribed && $0.value.isClean && $0.value.lastUsed <= cutoff
            }.map(\.key)
            for id in idleIDs { directory.channels[id] = nil }
            return idleIDs.count
        }
    }

    /// The actor of user `id` (a proxy when a peer owns it); `CHAT_USER_NOT_FOUND` if the user was
    /// never created here. Calls on a proxy of a user that does not exist fail the same way through
    /// ``withUser(_:_:)``.
    public func user(_ id: UserID) throws(ChatError) -> UserActor {
        if cluster?.remoteOwner(of: UserActor.identity(of: id)) != nil {
            guard let proxy = try? UserActor.resolve(id: UserActor.identity(of: id), using: actorSystem) else { throw ChatError.userNotFound(id) }
            return proxy
        }
        guard let actor = localUser(id) else { throw ChatError.userNotFound(id) }
        return actor
    }

    /// Runs `body` on user `id`'s actor, here or on its owner; `CHAT_USER_NOT_FOUND` if there is none.
    public func withUser<Result>(_ id: UserID, _ body: (UserActor) async throws -> Result) async throws -> Result {
        var attempt = 0
        while true {
            let owner = cluster?.remoteOwner(of: UserActor.identity(of: id))
            do {
                if let cluster, owner == nil {
                    return try await cluster.track(UserActor.identity(of: id)) { try await body(try user(id)) }
                }
                return try await body(try user(id))
            } catch let error as RemoteCallError where error.code == .actorNotFound {
                throw ChatError.userNotFound(id)
            } catch let error as RemoteCallError where error.code == .wrongOwner {
                guard let owner, try await refreshRing(after: error, from: owner, attempt: attempt) else { throw error }
                attempt += 1
            }
        }
    }

    /// The active local actor of user `id`, if any.
    func localUser(_ id: UserID) -> UserActor? {
        directory.withLock { $0.users[id] }
    }

    /// The ids of the active channel and user actors.
    public var activeActorIDs: (channels: [ChannelID], users: [UserID]) {
        directory.withLock { (Array($0.channels.keys), Array($0.users.keys)) }
    }

    /// How many channel and user actors are active.
    public var activeActorCounts: (channels: Int, users: Int) {
        directory.withLock { ($0.channels.count, $0.users.count) }
    }

    func activateUser(_ id: UserID) -> UserActor {
        directory.withLock { directory in
            if let actor = directory.users[id] { return actor }
            let actor = actorSystem.withIdentity(UserActor.identity(of: id)) {
                UserActor(actorSystem: actorSystem, state: UserState(id: id), appliedLSN: 0, node: self)
            }
            directory.users[id] = actor
            return actor
        }
    }

    // MARK: Edges

    /// Registers an edge (the WebSocket gateway of this node) under its ``EdgeEventSink/edgeName``.
    public func registerEdge(_ sink: any EdgeEventSink) {
        edges.register(sink)
    }

    /// The sink of edge `name`: registered on this node, or a forwarder to a peer's edge.
    func eventSink(edge name: String) -> (any EdgeEventSink)? {
        edges.sink(named: name) {
            guard let cluster, cluster.peers.contains(name), let nodeActor = try? chatNodeActor(on: name) else { return nil }
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
        return NodeReport(
            node: actorSystem.nodeName, epoch: cluster?.epoch ?? 0, actors: [ChannelActor.kind: counts.channels, UserActor.kind: counts.users])
    }

    /// Every node with its status and actor counts (just this one when not clustered).
    public func clusterView() async -> ClusterView {
        if let member = clusterParts.withLock({ $0?.member }) { return await member.view() }
        let me = report()
        return ClusterView(node: me.node, ringEpoch: me.epoch, nodes: [ClusterView.Node(name: me.node, status: "up", isSelf: true, actors: me.actors)])
    }

    /// The chat node actor of `peer` (a proxy).
    func chatNodeActor(on peer: String) throws -> ChatNodeActor {
        try ChatNodeActor.resolve(id: ChatNodeActor.identity(of: peer), using: actorSystem)
    }

    /// Whether user `id` exists.
    func userExists(_ id: UserID) async throws -> Bool {
        do {
            return try await withUser(id) { try await $0.exists() }
        } catch let error as ChatError where error.code == .userNotFound {
            return false
        }
    }

    /// A new message id for a channel whose last message id is `last`: from this node's snowflake
    /// generator, and always larger than `last`.
    func nextMessageID(after last: MessageID?, now: Timestamp) -> MessageID {
        let next = snowflakes.withLock { $0.next(now: now) }
        guard let last, last.rawValue >= next else { return MessageID(rawValue: next) }
        return MessageID(rawValue: last.rawValue + 1)
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
            guard let user = UserID(id.key), let actor = localUser(user) else { throw RemoteCallError(.actorNotFound, "no user \(id.key) on \(me)") }
            try await body(actor)
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
