import ChorusActorSystem
import ChorusModel
import ChorusStorage
import Distributed
import Foundation
import Logging
import Synchronization

/// The chat service of one node: activates channel and user actors and runs the operations that
/// span several of them (creating channels, opening DMs, listing a user's channels).
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
    public let cluster: ChatPlacement?
    /// This node's own ``ChatNodeActor`` (the target of peers' node-level calls), once started.
    private let ownNodeActor = Mutex<ChatNodeActor?>(nil)
    private struct WeakMembership { weak var membership: Membership? }
    private let membershipRef = Mutex(WeakMembership())
    /// Forwarders of events to the edges of peer nodes, by node name.
    private let remoteEdges = Mutex<[String: RemoteEdgeSink]>([:])

    let snowflakes: Mutex<SnowflakeGenerator>
    let directory = Mutex(Directory())
    /// The edges on this node that receive events, by name.
    private let edges = Mutex<[String: any EdgeEventSink]>([:])
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
        store: HistoryStore? = nil, clock: any TimeSource = SystemTimeSource(), cluster: ChatPlacement? = nil,
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
        guard theirs > cluster.epoch, let description = try await nodeActor(on: peer).ring(), cluster.adopt(description) else { return false }
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

    private func activateUser(_ id: UserID) -> UserActor {
        directory.withLock { directory in
            if let actor = directory.users[id] { return actor }
            let actor = actorSystem.withIdentity(UserActor.identity(of: id)) {
                UserActor(actorSystem: actorSystem, state: UserState(id: id), appliedLSN: 0, node: self)
            }
            directory.users[id] = actor
            return actor
        }
    }

    /// Creates a channel with its first members on the node that owns its new id (here or a
    /// peer), waits until its `created` record is durable there, and returns its description.
    func createChannelRecord(kind: ChannelKind, name: String, owner: UserID?, members: [Member], at now: Timestamp) async throws -> ChannelInfo {
        let id = ChannelID(rawValue: snowflakes.withLock { $0.next(now: now) })
        let info = ChannelInfo(id: id, kind: kind, name: name, ownerID: owner, createdAt: now)
        if let peer = cluster?.remoteOwner(of: ChannelActor.identity(of: id)) {
            try await nodeActor(on: peer).createChannel(info, members: members)
        } else {
            try await createLocalChannel(info, members: members)
        }
        return info
    }

    /// Logs a new channel's `created` record and activates its actor, in one step under the
    /// directory lock (so a checkpoint sees either both or neither); returns once it is durable.
    func createLocalChannel(_ info: ChannelInfo, members: [Member]) async throws {
        let lsn = try directory.withLock { directory in
            guard directory.channels[info.id] == nil else { throw ChatError(.invalidRequest, "channel \(info.id) already exists") }
            let lsn = try journal.append(.channel(info.id, .created(info: info, members: members)))
            let actor = actorSystem.withIdentity(ChannelActor.identity(of: info.id)) {
                ChannelActor(
                    actorSystem: actorSystem, state: ChannelState(info: info, members: members), appliedLSN: lsn, eventsAvailableAfter: 0,
                    node: self)
            }
            directory.channels[info.id] = ChannelEntry(actor: actor, lastUsed: info.createdAt, committedLSN: lsn, storedLSN: 0)
            return lsn
        }
        snowflakes.withLock { $0.advance(past: info.id.rawValue) }
        logger.debug("channel created", metadata: ["channel.id": "\(info.id)", "channel.kind": "\(info.kind.rawValue)"])
        try await journal.waitDurable(lsn)
    }

    /// Creates the DM between `first` and `second` (both members).
    func createDirectChannel(between first: UserID, and second: UserID) async throws -> (ChannelInfo, [Member]) {
        let now = clock.now()
        let members = [Member(userID: first, role: .member, joinedAt: now), Member(userID: second, role: .member, joinedAt: now)]
        return (try await createChannelRecord(kind: .dm, name: "", owner: nil, members: members, at: now), members)
    }

    /// Adds a new channel to its first members' channel indexes (as of seq 1, the `created` record).
    func announceMembers(of channel: ChannelID, _ members: [Member]) async throws {
        for member in members {
            try await membershipChanged(of: member.userID, in: channel, isMember: true, seq: 1)
        }
    }

    /// Tells user `user`'s actor, and the edges where the user may have sessions, that they joined
    /// or left `channel`. Peers' edges hear of it without the caller waiting for them.
    func membershipChanged(of user: UserID, in channel: ChannelID, isMember: Bool, seq: UInt64) async throws {
        try await withUser(user) { try await $0.membershipChanged(channel, isMember: isMember, seq: seq) }
        notifyLocalEdges(of: user, in: channel, isMember: isMember, seq: seq)
        for peer in cluster?.peers ?? [] {
            eventSink(edge: peer)?.membershipChanged(of: user, in: channel, isMember: isMember, seq: seq)
        }
    }

    /// Tells this node's edges that `user` joined or left `channel`.
    func notifyLocalEdges(of user: UserID, in channel: ChannelID, isMember: Bool, seq: UInt64) {
        for edge in edges.withLock({ Array($0.values) }) {
            edge.membershipChanged(of: user, in: channel, isMember: isMember, seq: seq)
        }
    }

    // MARK: Edges

    /// Registers an edge (the WebSocket gateway of this node) under its ``EdgeEventSink/edgeName``.
    public func registerEdge(_ sink: any EdgeEventSink) {
        edges.withLock { $0[sink.edgeName] = sink }
    }

    /// The sink of edge `name`: registered on this node, or a forwarder to a peer's edge.
    func eventSink(edge name: String) -> (any EdgeEventSink)? {
        if let local = edges.withLock({ $0[name] }) { return local }
        guard let cluster, cluster.peers.contains(name), let nodeActor = try? nodeActor(on: name) else { return nil }
        return remoteEdges.withLock { sinks in
            if let sink = sinks[name] { return sink }
            let sink = RemoteEdgeSink(edgeName: name, nodeActor: nodeActor, logger: logger)
            sinks[name] = sink
            return sink
        }
    }

    // MARK: Cluster

    /// Starts serving peers' node-level calls (creates this node's ``ChatNodeActor``).
    public func startClusterServices() {
        ownNodeActor.withLock { actor in
            guard actor == nil else { return }
            actor = actorSystem.withIdentity(ChatNodeActor.identity(of: actorSystem.nodeName)) {
                ChatNodeActor(actorSystem: actorSystem, node: self)
            }
        }
    }

    /// The membership service watching this node's peers, if any.
    var membership: Membership? { membershipRef.withLock { $0.membership } }

    func attachMembership(_ membership: Membership) {
        membershipRef.withLock { $0.membership = membership }
    }

    /// What this node reports about itself to peers and the admin view.
    public func report() -> NodeReport {
        let counts = activeActorCounts
        return NodeReport(
            node: actorSystem.nodeName, epoch: cluster?.epoch ?? 0, channelActors: counts.channels, userActors: counts.users)
    }

    /// This node's own node actor, once ``startClusterServices()`` ran.
    var localNodeActor: ChatNodeActor? { ownNodeActor.withLock { $0 } }

    /// The node actor of `peer` (a proxy).
    func nodeActor(on peer: String) throws -> ChatNodeActor {
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

    // MARK: Recovery and checkpoints

    /// Activates an actor for every channel and user in `recovered` (at start-up, before serving);
    /// new ids will stay above `maxStoredChannelID` and every recovered id.
    public func restore(_ recovered: NodeState, maxStoredChannelID: ChannelID? = nil) {
        directory.withLock { directory in
            let now = clock.now()
            for (id, snapshot) in recovered.channels {
                let actor = actorSystem.withIdentity(ChannelActor.identity(of: id)) {
                    ChannelActor(
                        actorSystem: actorSystem, state: snapshot.state, appliedLSN: snapshot.appliedLSN, storedLSN: snapshot.storedLSN, node: self)
                }
                directory.channels[id] = ChannelEntry(
                    actor: actor, lastUsed: now, committedLSN: snapshot.appliedLSN, storedLSN: snapshot.storedLSN)
            }
            for (id, snapshot) in recovered.users {
                directory.users[id] = actorSystem.withIdentity(UserActor.identity(of: id)) {
                    UserActor(actorSystem: actorSystem, state: snapshot.state, appliedLSN: snapshot.appliedLSN, storedLSN: snapshot.storedLSN, node: self)
                }
            }
        }
        // Ids made after a restart must stay above the recovered ones, even if the clock stepped back.
        let newest = (recovered.channels.values.flatMap { [$0.state.info.id.rawValue] + ($0.state.recent.last.map { [$0.id.rawValue] } ?? []) }
            + [maxStoredChannelID?.rawValue ?? 0]).max()
        if let newest {
            snowflakes.withLock { $0.advance(past: newest) }
        }
    }

    /// Writes every change since the last checkpoint to `store` in one transaction and trims the
    /// channels' memory windows; returns the LSN below which every record is now in the store.
    ///
    /// The covered LSN is read under the directory lock, where new channels are logged and
    /// activated, so every record below it belongs to an actor listed here and is already applied
    /// to it (records are logged and applied in one actor turn); actors that are not dirty have
    /// theirs in the store already. The batch is written only once every record in it is durable
    /// in the WAL, so the store never holds a change the WAL could lose.
    public func checkpoint(into store: HistoryStore) async throws -> UInt64 {
        let (covered, channels, users) = directory.withLock { directory in
            (journal.nextLSN, directory.channels.values.filter { !$0.isClean }.map(\.actor), Array(directory.users.values))
        }
        var batch = HistoryStore.Batch(coveredLSN: covered)
        var newest: UInt64 = 0
        let encoder = JSONEncoder()
        var flushedChannels: [(ChannelActor, ChannelFlush)] = []
        for actor in channels {
            guard let flush = await actor.whenLocal({ $0.prepareFlush() }) ?? nil else { continue }
            batch.channels.append((flush.metadata.info.id, try encoder.encode(flush.metadata), flush.appliedLSN))
            batch.messages += flush.messages
            newest = max(newest, flush.appliedLSN)
            flushedChannels.append((actor, flush))
        }
        var flushedUsers: [(UserActor, UInt64)] = []
        for actor in users {
            guard let snapshot = await actor.whenLocal({ $0.prepareFlush() }) ?? nil else { continue }
            batch.users.append((snapshot.state.id, try encoder.encode(snapshot.state), snapshot.appliedLSN))
            newest = max(newest, snapshot.appliedLSN)
            flushedUsers.append((actor, snapshot.appliedLSN))
        }
        if newest > 0 { try await journal.waitDurable(newest) }
        try await store.write(batch)
        for (actor, flush) in flushedChannels { await actor.whenLocal { $0.completeFlush(flush) } }
        for (actor, lsn) in flushedUsers { await actor.whenLocal { $0.completeFlush(upTo: lsn) } }
        logger.debug("checkpoint", metadata: ["storage.channels": "\(flushedChannels.count)", "storage.messages": "\(batch.messages.count)"])
        return covered
    }

    // MARK: Users

    /// Creates user `id` on their first authenticated request (display name `displayName`); returns the profile.
    public func ensureUser(_ id: UserID, displayName: String?) async throws -> UserProfile {
        var name = id.rawValue
        if let displayName, (try? limits.validateDisplayName(displayName)) != nil {
            name = displayName
        }
        if let peer = cluster?.remoteOwner(of: UserActor.identity(of: id)) {
            return try await nodeActor(on: peer).ensureUser(id, displayName: name)
        }
        guard let cluster else { return try await activateUser(id).ensure(displayName: name) }
        return try await cluster.track(UserActor.identity(of: id)) { try await activateUser(id).ensure(displayName: name) }
    }

    /// Creates user `id` or renames them (admin).
    public func upsertUser(_ id: UserID, displayName: String) async throws -> UserProfile {
        try limits.validateDisplayName(displayName)
        if let peer = cluster?.remoteOwner(of: UserActor.identity(of: id)) {
            return try await nodeActor(on: peer).upsertUser(id, displayName: displayName)
        }
        guard let cluster else { return try await activateUser(id).upsert(displayName: displayName) }
        return try await cluster.track(UserActor.identity(of: id)) { try await activateUser(id).upsert(displayName: displayName) }
    }

    /// The profile of user `id`.
    public func profile(of id: UserID) async throws -> UserProfile {
        try await withUser(id) { try await $0.profile() }
    }

    /// `user` blocks `other` (who must exist).
    public func block(_ other: UserID, by user: UserID) async throws {
        guard try await userExists(other) else { throw ChatError.userNotFound(other) }
        try await withUser(user) { try await $0.block(other) }
    }

    // MARK: Channels

    /// Creates a group or room owned by `owner`.
    public func createChannel(kind: ChannelKind, name: String, owner: UserID) async throws -> ChannelInfo {
        precondition(kind != .dm, "DMs are opened with openDirectChannel")
        try limits.validateChannelName(name)
        let now = clock.now()
        let members = [Member(userID: owner, role: .owner, joinedAt: now)]
        let info = try await createChannelRecord(kind: kind, name: name, owner: owner, members: members, at: now)
        try await announceMembers(of: info.id, members)
        return info
    }

    /// Opens the DM between `initiator` and `other`, or returns the existing one (`created == false`).
    public func openDirectChannel(from initiator: UserID, to other: UserID) async throws -> DirectChannelResult {
        if initiator == other { throw ChatError(.cannotDMSelf, "you cannot open a DM with yourself") }
        guard try await userExists(other) else { throw ChatError.userNotFound(other) }
        return try await withUser(min(initiator, other)) { try await $0.openDirectChannel(with: max(initiator, other)) }
    }

    /// One entry of a user's channel list.
    public struct ChannelListEntry: Sendable, Equatable {
        public var summary: ChannelSummary
        /// For DMs: the other user's display name.
        public var otherUserName: String?
    }

    /// `user`'s channels, most recently active first (ties: larger channel id first); hidden ones only with `includeHidden`.
    public func listChannels(for user: UserID, includeHidden: Bool) async throws -> [ChannelListEntry] {
        let ids = try await withUser(user) { try await $0.channelIDs() }
        let summaries = try await withThrowingTaskGroup(of: ChannelSummary?.self) { group in
            for id in ids {
                group.addTask {
                    // A channel can disappear from under a stale index entry; skip it.
                    do {
                        return try await self.withChannel(id) { try await $0.summary(for: user) }
                    } catch let error as ChatError where error.code == .channelNotFound {
                        return nil
                    }
                }
            }
            var summaries: [ChannelSummary] = []
            for try await summary in group {
                if let summary, includeHidden || !summary.hidden { summaries.append(summary) }
            }
            return summaries
        }
        let sorted = summaries.sorted { lhs, rhs in
            lhs.lastActivityAt != rhs.lastActivityAt ? lhs.lastActivityAt > rhs.lastActivityAt : lhs.info.id > rhs.info.id
        }
        let names = try await displayNames(of: Set(sorted.compactMap(\.otherUserID)))
        return sorted.map { ChannelListEntry(summary: $0, otherUserName: $0.otherUserID.flatMap { names[$0] }) }
    }

    /// The display names of `users` (users that do not exist are left out).
    public func displayNames(of users: Set<UserID>) async throws -> [UserID: String] {
        try await withThrowingTaskGroup(of: (UserID, String?).self) { group in
            for id in users {
                group.addTask { (id, try? await self.profile(of: id).displayName) }
            }
            var names: [UserID: String] = [:]
            for try await (id, name) in group {
                names[id] = name
            }
            return names
        }
    }
}
