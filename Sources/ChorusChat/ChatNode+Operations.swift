import ChorusActorSystem
import ChorusModel
import ChorusStorage
import Distributed
import Foundation
import Logging
import Synchronization

/// The operations that span several actors: creating channels (on the node that owns the new
/// id), opening DMs, telling users and edges of membership changes, users, and channel lists.
extension ChatNode {
    /// Creates a channel with its first members on the node that owns its new id (here or a
    /// peer), waits until its `created` record is durable there, and returns its description.
    func createChannelRecord(kind: ChannelKind, name: String, owner: UserID?, members: [Member], at now: Timestamp) async throws -> ChannelInfo {
        let info = ChannelInfo(id: ChannelID(rawValue: ids.nextRaw(now: now)), kind: kind, name: name, ownerID: owner, createdAt: now)
        try await createChannel(info, members: members, profile: nil)
        return info
    }

    /// Creates channel `info.id` on the node that owns it (here or a peer); `CHAT_CHANNEL_EXISTS`
    /// if it already exists.
    func createChannel(_ info: ChannelInfo, members: [Member], profile: ChannelProfile?) async throws {
        try await retryingWhileMoving {
            if let peer = cluster?.remoteOwner(of: ChannelActor.identity(of: info.id)) {
                try await chatNodeActor(on: peer).createChannel(info, members: members, profile: profile)
            } else {
                try await createLocalChannel(info, members: members, profile: profile)
            }
        }
    }

    /// Logs a new channel's `created` record and activates its actor, in one step under the
    /// directory lock (so a checkpoint sees either both or neither); returns once it is durable.
    func createLocalChannel(_ info: ChannelInfo, members: [Member], profile: ChannelProfile? = nil) async throws {
        // Counted like any call on the key: refused (`moving`) while a hand-off moves it away, so
        // a channel is never created behind a hand-off that already sent its keys.
        try await directory.gate.track(ChannelActor.identity(of: info.id)) {
            guard replication != nil else { return try await logCreation(info, members: members, profile: profile) }
            advanceIDs(past: info.id)
            try await replicaActor(info.id).whenLocal { try await $0.create(info, members: members, profile: profile) }
        }
    }

    private func logCreation(_ info: ChannelInfo, members: [Member], profile: ChannelProfile?) async throws {
        // A channel with a chosen id (a Stream cid) may exist in the store without being active.
        if ChannelAddress.isHashed(info.id), (try? activateChannel(info.id)) != nil { throw ChatError.channelExists(info.id) }
        let lsn = try directory.withEntries { entries in
            guard entries.channels[info.id] == nil else { throw ChatError.channelExists(info.id) }
            let record = ChannelRecord.created(info: info, members: members, profile: profile)
            let lsn = try journal.append(.channel(info.id, record))
            let actor = makeChannelActor(ChannelState(info: info, members: members, profile: profile), appliedLSN: lsn, eventsAvailableAfter: 0)
            entries.channels[info.id] = ActorDirectory.ChannelEntry(actor: actor, lastUsed: info.createdAt, committedLSN: lsn, storedLSN: 0)
            return lsn
        }
        advanceIDs(past: info.id)
        logger.debug("channel created", metadata: ["channel.id": "\(info.id)", "channel.kind": "\(info.kind.rawValue)"])
        try await journal.waitDurable(lsn)
    }

    /// Keeps later snowflake ids above channel `id`'s, unless it is a hashed Stream cid (not a
    /// time: following it would push every later id out of the snowflake range).
    func advanceIDs(past id: ChannelID) {
        if !ChannelAddress.isHashed(id) { ids.advance(past: id.rawValue) }
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

    // MARK: Users

    /// Creates user `id` on their first authenticated request (display name `displayName`); returns the profile.
    public func ensureUser(_ id: UserID, displayName: String?) async throws -> UserProfile {
        if let profile = profiles.profile(of: id, now: clock.now()) { return profile }
        var name = id.rawValue
        if let displayName, (try? limits.validateDisplayName(displayName)) != nil {
            name = displayName
        }
        let profile = try await retryingWhileMoving {
            if let peer = cluster?.remoteOwner(of: UserActor.identity(of: id)) {
                return try await chatNodeActor(on: peer).ensureUser(id, displayName: name)
            }
            return try await withLocalUser(id, creating: true) { try await $0.ensure(displayName: name) }
        }
        profiles.remember(profile, now: clock.now())
        return profile
    }

    /// Creates user `id` or renames them (admin).
    public func upsertUser(_ id: UserID, displayName: String) async throws -> UserProfile {
        try limits.validateDisplayName(displayName)
        let profile = try await retryingWhileMoving {
            if let peer = cluster?.remoteOwner(of: UserActor.identity(of: id)) {
                return try await chatNodeActor(on: peer).upsertUser(id, displayName: displayName)
            }
            return try await withLocalUser(id, creating: true) { try await $0.upsert(displayName: displayName) }
        }
        profiles.remember(profile, now: clock.now())
        return profile
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
        try await checkCanJoin(owner)
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

    /// Throws unless user `id` exists and may join one more channel.
    func checkCanJoin(_ id: UserID) async throws {
        try await withUser(id) { try await $0.checkCanJoin() }
    }

    /// Whether user `id` exists.
    func userExists(_ id: UserID) async throws -> Bool {
        do {
            return try await withUser(id) { try await $0.exists() }
        } catch let error as ChatError where error.code == .userNotFound {
            return false
        }
    }
}

extension ChatNode: ChatOperations {}
