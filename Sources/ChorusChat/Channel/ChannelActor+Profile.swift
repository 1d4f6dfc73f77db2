import ChorusModel
import Distributed

/// What the Stream-compatible API reads of a channel in one call: its description, profile,
/// members with their read state, and one page of messages.
public struct ChannelView: Sendable, Codable, Equatable {
    public var info: ChannelInfo
    /// `nil` for a channel made through the v1 API that was never given custom data.
    public var profile: ChannelProfile?
    /// Members in join order, with read cursors and whether they hid the channel.
    public var members: [ChannelState.MemberState]
    public var messages: MessagePage
    public var lastMessageAt: Timestamp?
    /// The viewer's unread count (`nil` for a server, or a viewer who is not a member).
    public var unreadCount: Int?
    /// The client's own ids of the messages members' read cursors point at, where it gave one.
    public var clientIDs: [MessageID: String] = [:]
    /// Distinct users watching the channel over Stream sockets now.
    public var watcherCount = 0
    /// The first of them (at most ``ChannelActor/viewedWatchersLimit``), in the order they started.
    public var watchers: [UserID] = []

    /// The channel's address: from its profile, else its v1 kind and decimal id.
    public var address: ChannelAddress { profile?.address ?? ChannelAddress(v1: info) }
}

/// A change to a channel's custom data: `set` fields, then remove `unset` ones.
public struct ProfileChange: Sendable, Codable, Equatable {
    /// Replaces the whole custom data (a full update) instead of changing fields.
    public var replace: Bool
    public var set: [String: JSONValue]
    public var unset: [String]

    public init(replace: Bool = false, set: [String: JSONValue] = [:], unset: [String] = []) {
        self.replace = replace
        self.set = set
        self.unset = unset
    }

    /// The largest custom data a channel keeps, encoded (Stream's limit is 5 KiB).
    public static let maxCustomBytes = 5 * 1024
}

extension ChannelActor {
    /// The channel as `viewer` sees it (`nil`: a server, which sees every channel). A user must be
    /// a member, except of a room (anyone may read a public room).
    public distributed func view(for viewer: UserID?, messages request: MessagePageRequest) throws -> ChannelView {
        try state.requireLive()
        if let viewer, state.info.kind != .room { _ = try state.requireMember(viewer) }
        let page = try page(request, for: viewer)
        let unread = try viewer.flatMap { state.members[$0] == nil ? nil : try unreadCount(for: $0) }
        let members = state.memberOrder.compactMap { state.members[$0] }
        var clientIDs: [MessageID: String] = [:]
        for cursor in members.compactMap(\.readCursor) {
            clientIDs[cursor.lastReadMessageID] = state.message(cursor.lastReadMessageID)?.clientMessageID
        }
        let watching = watchers.users
        return ChannelView(
            info: state.info, profile: state.profile, members: members, messages: page, lastMessageAt: state.lastMessageAt,
            unreadCount: unread, clientIDs: clientIDs, watcherCount: watching.count, watchers: Array(watching.prefix(Self.viewedWatchersLimit)))
    }

    /// Changes the channel's name and custom data as `user` (an owner or admin), or as a server
    /// acting for `user` (`asServer`: no role check); returns the channel as it then is.
    public distributed func changeProfile(
        name: String?, _ change: ProfileChange, by user: UserID, asServer: Bool
    ) async throws -> ChannelView {
        let now = env.clock.now()
        try authorizeManage(user, asServer: asServer)
        var profile = state.profile ?? ChannelProfile(address: ChannelAddress(v1: state.info), createdBy: state.info.ownerID)
        if change.replace { profile.custom = [:] }
        profile.custom.merge(change.set) { _, new in new }
        for key in change.unset { profile.custom[key] = nil }
        try Self.validateCustom(profile.custom)
        if let name, name != state.info.name {
            try env.limits.validateChannelName(name)
            try await commit(.updated(name: name, by: user, at: now)) { _, _ in () }
        }
        if profile != state.profile {
            try await commit(.profileSet(profile, by: user, at: now)) { _, _ in () }
        }
        return try view(for: nil, messages: .latest(limit: 0))
    }

    /// Removes every message sent so far for everyone (`hard`: from the store too, at the next
    /// checkpoint), as an owner or moderator, or as a server acting for `user`.
    public distributed func truncate(hard: Bool, by user: UserID, asServer: Bool) async throws -> ChannelView {
        try authorizeManage(user, asServer: asServer)
        try await commit(.truncated(through: state.newestMessageID, hard: hard, by: user, at: env.clock.now())) { _, _ in () }
        return try view(for: nil, messages: .latest(limit: 0))
    }

    /// Deletes the channel (`hard`: its messages too); every member leaves it. Returns the channel
    /// as it was just before.
    public distributed func deleteChannel(hard: Bool, by user: UserID, asServer: Bool) async throws -> ChannelView {
        try authorizeManage(user, asServer: asServer)
        let before = try view(for: nil, messages: .latest(limit: 0))
        let seq = try await commit(.channelDeleted(hard: hard, through: state.newestMessageID, by: user, at: env.clock.now())) { _, seq in seq }
        for member in before.members {
            try await env.operations.membershipChanged(of: member.member.userID, in: state.info.id, isMember: false, seq: seq)
        }
        return before
    }

    /// Makes members moderators (`admin`) or plain members again, as an owner or admin, or a
    /// server acting for `user`. The owner keeps their role; non-members are refused.
    public distributed func setRole(_ role: MemberRole, of targets: [UserID], by user: UserID, asServer: Bool) async throws -> ChannelView {
        try authorizeManage(user, asServer: asServer)
        guard role != .owner else { throw ChatError(.invalidRequest, "role must be member or admin; a channel has one owner") }
        for target in targets {
            guard let current = state.role(of: target) else { throw ChatError(.userNotFound, "user \(target) is not a member of this channel") }
            if current == .owner { throw ChatError(.cannotRemoveOwner, "the owner's role cannot be changed") }
        }
        let now = env.clock.now()
        for target in targets where state.role(of: target) != role {
            try await commit(.roleChanged(target, role: role, by: user, at: now)) { _, _ in () }
        }
        return try view(for: nil, messages: .latest(limit: 0))
    }

    /// Hides every message sent so far from `user` (Stream's hide with `clear_history`).
    public distributed func clearHistory(for user: UserID) async throws {
        _ = try state.requireMember(user)
        guard let newest = state.newestMessageID else { return }
        try await commit(.historyCleared(user: user, through: newest, at: env.clock.now())) { _, _ in () }
    }

    /// The newest `limit` live messages whose text has every word of `query` as a whole word
    /// (case-insensitive), newest first, as `viewer` sees the channel (`nil`: a server). Messages
    /// in memory are matched here (their newest version); older ones through the store's
    /// full-text index.
    public distributed func search(_ query: String, limit: Int, for viewer: UserID?) throws -> [Message] {
        try state.requireLive()
        // A type without search finds nothing in its channels.
        guard typeSettings?.search ?? true else { return [] }
        if let viewer, state.info.kind != .room { _ = try state.requireMember(viewer) }
        let hidden = state.hiddenThrough(for: viewer)
        let visible = { (message: Message) in !message.deleted && hidden.map { message.id > $0 } ?? true }
        let inMemory = state.memoryMessages(after: nil, before: nil)
        let memoryIDs = Set(inMemory.map(\.id))
        var found = inMemory.filter { visible($0) && TextWords.wordMatch(query, in: $0.body) }
        if state.hasOlderInStore, let store = env.store {
            let words = TextWords.words(of: query).map(String.init)
            // Memory has the newest version of what it holds: the store's copy of those is stale.
            let stored = try store.search(in: state.info.id, words: words, limit: limit + memoryIDs.count)
            found += stored.filter { !memoryIDs.contains($0.id) && visible($0) }
        }
        return Array(found.sorted { $0.id > $1.id }.prefix(limit))
    }

    /// Message `id` as `viewer` sees it (`nil`: a server): live or deleted, unless a truncation or
    /// the viewer's cleared history hides it.
    public distributed func message(_ id: MessageID, for viewer: UserID?) throws -> Message {
        try state.requireLive()
        if let viewer, state.info.kind != .room { _ = try state.requireMember(viewer) }
        try ensureLoaded(id)
        guard let message = state.message(id), state.hiddenThrough(for: viewer).map({ id > $0 }) ?? true else {
            throw ChatError.messageNotFound(id)
        }
        return message
    }

    /// The engine id of the message the Stream API calls `id`: a decimal engine id, or the id its
    /// sender gave (looked up among the messages in memory, the newest ones); `nil` if unknown.
    public distributed func messageID(forStreamID id: String) -> MessageID? {
        if let engineID = MessageID(id), state.message(engineID) != nil || state.mayBeInStore(engineID) { return engineID }
        return state.recent.last { $0.clientMessageID == id }?.id
    }

    /// The channel's address: a cheap check that it exists (not deleted) and which cid it is.
    public distributed func address() throws -> ChannelAddress {
        try state.requireLive()
        return state.profile?.address ?? ChannelAddress(v1: state.info)
    }

    /// The channel's owner, if it has one (DMs do not).
    public distributed func owner() throws -> UserID? {
        try state.requireLive()
        return state.info.ownerID
    }

    /// Passes for a server, or an owner or admin of the channel (never for a DM).
    private func authorizeManage(_ user: UserID, asServer: Bool) throws {
        try state.requireLive()
        if !asServer {
            let role = try state.requireMember(user)
            guard role.canManage else { throw ChatError(.notAdmin, "only the owner or an admin can do this") }
        }
        if state.info.kind == .dm && !asServer { throw ChatError(.cannotModifyDM, "DM channels cannot be modified") }
    }

    /// Checks custom data against ``ProfileChange/maxCustomBytes``.
    public static func validateCustom(_ custom: [String: JSONValue]) throws(ChatError) {
        var writer = ByteWriter()
        writer.write(JSONValue.object(custom))
        guard writer.bytes.count <= ProfileChange.maxCustomBytes else {
            throw ChatError(.payloadTooLarge, "custom data is \(writer.bytes.count) bytes; the limit is \(ProfileChange.maxCustomBytes)")
        }
    }
}
