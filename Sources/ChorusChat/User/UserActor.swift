import ChorusActorSystem
import ChorusModel
import ChorusStorage
import Distributed

/// One user: profile, blocks, the index of their channels, and the registry of their DMs.
///
/// The DM between two users is registered with the actor of the smaller user id, so one actor
/// serialises every attempt to open it and a pair never gets two DMs.
public distributed actor UserActor {
    public typealias ActorSystem = ClusterActorSystem

    var state: UserState
    /// The LSN of the last record applied to `state`.
    var appliedLSN: UInt64
    /// The LSN of the last record the store has (written by a checkpoint).
    var storedLSN: UInt64
    let env: ActorEnvironment
    /// DMs being opened (with the other user), so concurrent opens share one channel.
    private var openingDirect: [UserID: Task<DirectChannelResult, any Error>] = [:]
    /// The user's open WebSockets (connection ids), on any edge: online while there is one.
    /// Ephemeral: not logged, lost when the user's actor moves.
    private var sockets: Set<String> = []
    /// When the user's last socket closed (`nil`: not since this actor started).
    private var lastActive: Timestamp?
    /// This replica of the user's log (nil when users are not replicated), and what its shell
    /// (`UserActor+Replication.swift`) keeps around it.
    var replica: UserReplicaMachine?
    var replicaShell = ReplicaShell<UserRecord, UserState>()

    /// Creates the actor of a user from its state (empty or recovered). Call inside
    /// ``ClusterActorSystem/withIdentity(_:_:)`` (``ChatNode`` does).
    init(actorSystem: ClusterActorSystem, state: UserState, appliedLSN: UInt64, storedLSN: UInt64 = 0, environment: ActorEnvironment) {
        self.actorSystem = actorSystem
        self.state = state
        self.appliedLSN = appliedLSN
        self.storedLSN = storedLSN
        self.env = environment
        if let replication = environment.replication {
            self.replica = UserReplicaMachine(restarting: state.lastSeq, terms: state.replicaTerms, replication: replication)
            self.replicaShell = ReplicaShell(persistedTerms: state.replicaTerms, gauge: replication.board.register(kind: Self.kind))
        }
    }

    deinit {
        if let gauge = replicaShell.gauge { env.replication?.board.remove(gauge) }
    }

    /// The actor kind of users; the key is the user id.
    public static let kind = "user"

    /// The identity of user `id`'s actor.
    public static func identity(of id: UserID) -> ActorIdentity {
        ActorIdentity(kind: kind, key: id.rawValue)
    }

    /// Logs and applies `record` in this turn, then waits until it is durable (replicated: until
    /// a majority of the user's replicas has it).
    private func commit(_ record: UserRecord) async throws {
        let proposal = try propose(record)
        let lsn = try env.journal.append(.user(state.id, record))
        state.apply(record)
        appliedLSN = lsn
        if let proposal {
            try await awaitReplicated(proposal, lsn: lsn, seq: state.lastSeq)
        } else {
            try await env.journal.waitDurable(lsn)
        }
    }

    /// The state and the LSN it includes.
    distributed func snapshot() -> NodeState.Snapshot<UserState> {
        NodeState.Snapshot(state: state, appliedLSN: appliedLSN)
    }

    /// Takes over `adopted` (handed over by the user's previous owner), already in this node's
    /// store as of `lsn`.
    func adopt(_ adopted: UserState, storedAt lsn: UInt64) {
        state = adopted
        appliedLSN = lsn
        storedLSN = lsn
        restartReplica(at: state.lastSeq, terms: state.replicaTerms)
    }

    /// The state for a checkpoint, or `nil` if the store already has it.
    func prepareFlush() -> NodeState.Snapshot<UserState>? {
        appliedLSN > storedLSN ? NodeState.Snapshot(state: state, appliedLSN: appliedLSN) : nil
    }

    /// A checkpoint stored the state up to `lsn`.
    func completeFlush(upTo lsn: UInt64) {
        storedLSN = max(storedLSN, lsn)
    }

    private func requireProfile() throws -> UserProfile {
        guard let profile = state.profile else { throw ChatError.userNotFound(state.id) }
        return profile
    }

    // MARK: Profile

    /// Whether the user has been created.
    public distributed func exists() -> Bool {
        state.exists
    }

    /// Refuses a user who does not exist, or who is a member of `limits.maxChannelsPerUser`
    /// channels already: asked before the user joins one more. Concurrent joins can pass the
    /// bound by the few that were in flight.
    public distributed func checkCanJoin() throws {
        _ = try requireProfile()
        let limit = env.limits.maxChannelsPerUser
        guard state.channelCount < limit else {
            throw ChatError(
                .invalidRequest,
                "user \(state.id) is a member of \(state.channelCount) channels, the most a user may join (limits.max_channels_per_user)")
        }
    }

    /// The profile; `CHAT_USER_NOT_FOUND` before the user is created.
    public distributed func profile() throws -> UserProfile {
        try requireProfile()
    }

    /// Creates the user with `displayName` if they do not exist yet; returns the profile either way.
    public distributed func ensure(displayName: String) async throws -> UserProfile {
        if let profile = state.profile { return profile }
        try await commit(.upserted(displayName: displayName, at: env.clock.now()))
        return try requireProfile()
    }

    /// Creates the user or sets their display name.
    public distributed func upsert(displayName: String) async throws -> UserProfile {
        if state.profile?.displayName != displayName {
            try await commit(.upserted(displayName: displayName, at: env.clock.now()))
        }
        return try requireProfile()
    }

    // MARK: Blocks

    /// The users this user blocked, in the order they were blocked.
    public distributed func blockedUsers() throws -> [UserID] {
        _ = try requireProfile()
        return state.blocked
    }

    /// Whether this user blocked `other`.
    public distributed func hasBlocked(_ other: UserID) -> Bool {
        state.blocked.contains(other)
    }

    /// Blocks `other` (idempotent). The caller checks that `other` exists.
    public distributed func block(_ other: UserID) async throws {
        _ = try requireProfile()
        guard other != state.id else { throw ChatError(.invalidRequest, "you cannot block yourself") }
        if !state.blocked.contains(other) {
            try await commit(.blockAdded(other, at: env.clock.now()))
        }
    }

    /// Unblocks `other` (idempotent).
    public distributed func unblock(_ other: UserID) async throws {
        _ = try requireProfile()
        if state.blocked.contains(other) {
            try await commit(.blockRemoved(other, at: env.clock.now()))
        }
    }

    // MARK: Mutes

    /// Mutes `channels` until `expires` (`nil`: until unmuted); returns the mutes as they then are.
    public distributed func mute(_ channels: [ChannelID], expires: Timestamp?) async throws -> [ChannelMute] {
        _ = try requireProfile()
        let now = env.clock.now()
        for channel in channels {
            try await commit(.channelMuted(channel, expires: expires, at: now))
        }
        return channels.compactMap { state.channelMutes?[$0] }
    }

    /// Unmutes `channels` (idempotent).
    public distributed func unmute(_ channels: [ChannelID]) async throws {
        _ = try requireProfile()
        let now = env.clock.now()
        for channel in channels where state.channelMutes?[channel] != nil {
            try await commit(.channelUnmuted(channel, at: now))
        }
    }

    /// The mutes in force now.
    public distributed func activeMutes() -> [ChannelMute] {
        state.activeMutes(at: env.clock.now())
    }

    // MARK: Presence

    /// Socket `connection` of the user opened; returns whether the user just came online.
    public distributed func socketOpened(_ connection: String) -> Bool {
        let wasOffline = sockets.isEmpty
        sockets.insert(connection)
        return wasOffline
    }

    /// Socket `connection` closed; returns whether the user just went offline.
    public distributed func socketClosed(_ connection: String) -> Bool {
        guard sockets.remove(connection) != nil else { return false }
        lastActive = env.clock.now()
        return sockets.isEmpty
    }

    /// Whether the user has a socket open now, and when they last had one.
    public distributed func presence() -> UserPresence {
        UserPresence(online: !sockets.isEmpty, lastActive: sockets.isEmpty ? lastActive : env.clock.now())
    }

    // MARK: Channels

    /// The channels the user is a member of, ascending by id.
    public distributed func channelIDs() -> [ChannelID] {
        state.channelIDs
    }

    /// Records that the user joined or left `channel` as of the channel's log position `seq`.
    public distributed func membershipChanged(_ channel: ChannelID, isMember: Bool, seq: UInt64) async throws {
        try await commit(.membershipChanged(channel, isMember: isMember, seq: seq))
    }

    /// Opens (or returns) the DM between this user and `other`. Must be called on the actor of the
    /// smaller of the two ids; both users must exist.
    public distributed func openDirectChannel(with other: UserID) async throws -> DirectChannelResult {
        precondition(state.id < other, "the DM registry is the actor of the smaller user id")
        let me = try requireProfile()
        let myID = state.id
        let otherBlockedMe = try await env.operations.withUser(other) { try await $0.hasBlocked(myID) }
        if otherBlockedMe || state.blocked.contains(other) {
            throw ChatError(.dmBlockedUser, "a block between you and this user prevents a DM")
        }
        if let existing = state.directChannels[other] {
            return DirectChannelResult(channel: existing, created: false)
        }
        // Creating the channel suspends (its owner may be another node): concurrent opens of the
        // same DM wait for the first one instead of creating a second channel.
        if let opening = openingDirect[other] {
            return DirectChannelResult(channel: try await opening.value.channel, created: false)
        }
        let opening = Task { () async throws -> DirectChannelResult in
            try checkCanJoin()
            try await env.operations.checkCanJoin(other)
            let (info, members) = try await env.operations.createDirectChannel(between: me.id, and: other)
            try await commit(.directChannelOpened(info, with: other))
            try await env.operations.announceMembers(of: info.id, members)
            return DirectChannelResult(channel: info, created: true)
        }
        openingDirect[other] = opening
        defer { openingDirect[other] = nil }
        return try await opening.value
    }
}

/// The outcome of opening a DM.
public struct DirectChannelResult: Sendable, Codable, Equatable {
    public var channel: ChannelInfo
    /// `false` when the DM already existed.
    public var created: Bool
}

/// A user's presence: online while a WebSocket of theirs is open.
public struct UserPresence: Sendable, Codable, Equatable {
    public var online: Bool
    /// Now while online; else when the last socket closed (`nil`: unknown).
    public var lastActive: Timestamp?

    public init(online: Bool, lastActive: Timestamp?) {
        self.online = online
        self.lastActive = lastActive
    }
}
