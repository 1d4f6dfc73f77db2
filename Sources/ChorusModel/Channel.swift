/// The three kinds of channel.
public enum ChannelKind: String, Sendable, Codable, CaseIterable {
    /// A direct conversation between exactly two users; no owner, membership fixed.
    case dm
    /// A private group: members are invited by its owner or admins.
    case group
    /// A public room: anyone may join.
    case room
}

/// A member's role in a channel, strongest first.
public enum MemberRole: String, Sendable, Codable, CaseIterable {
    /// The creator of a group or room; cannot be removed.
    case owner
    /// May manage members and settings.
    case admin
    /// A regular participant.
    case member

    /// Whether this role may manage the channel (update it, add and remove members, delete others' messages).
    public var canManage: Bool { self != .member }
}

/// The public description of a channel.
public struct ChannelInfo: Hashable, Sendable, Codable {
    public var id: ChannelID
    public var kind: ChannelKind
    /// Empty for DMs.
    public var name: String
    /// `nil` for DMs.
    public var ownerID: UserID?
    public var createdAt: Timestamp

    public init(id: ChannelID, kind: ChannelKind, name: String, ownerID: UserID?, createdAt: Timestamp) {
        self.id = id
        self.kind = kind
        self.name = name
        self.ownerID = ownerID
        self.createdAt = createdAt
    }
}

/// One member of a channel.
public struct Member: Hashable, Sendable, Codable {
    public var userID: UserID
    public var role: MemberRole
    public var joinedAt: Timestamp

    public init(userID: UserID, role: MemberRole, joinedAt: Timestamp) {
        self.userID = userID
        self.role = role
        self.joinedAt = joinedAt
    }
}

/// What one user sees of a channel in their channel list.
public struct ChannelSummary: Hashable, Sendable, Codable {
    public var info: ChannelInfo
    /// Non-deleted messages after the user's read cursor that others sent.
    public var unreadCount: Int
    /// The time of the last message, else the channel's creation; orders the channel list.
    public var lastActivityAt: Timestamp
    /// Whether the user has hidden the channel (until its next message).
    public var hidden: Bool
    /// For DMs: the other participant.
    public var otherUserID: UserID?

    public init(info: ChannelInfo, unreadCount: Int, lastActivityAt: Timestamp, hidden: Bool, otherUserID: UserID?) {
        self.info = info
        self.unreadCount = unreadCount
        self.lastActivityAt = lastActivityAt
        self.hidden = hidden
        self.otherUserID = otherUserID
    }
}

/// A user's read position in a channel.
public struct ReadCursor: Hashable, Sendable, Codable {
    public var channelID: ChannelID
    public var lastReadMessageID: MessageID
    public var updatedAt: Timestamp

    public init(channelID: ChannelID, lastReadMessageID: MessageID, updatedAt: Timestamp) {
        self.channelID = channelID
        self.lastReadMessageID = lastReadMessageID
        self.updatedAt = updatedAt
    }
}

/// A user's mute of one channel: its events still arrive, but it counts as muted in queries
/// and notifications.
public struct ChannelMute: Hashable, Sendable, Codable {
    public var channelID: ChannelID
    public var createdAt: Timestamp
    /// When the mute ends by itself; `nil` until unmuted.
    public var expires: Timestamp?

    public init(channelID: ChannelID, createdAt: Timestamp, expires: Timestamp?) {
        self.channelID = channelID
        self.createdAt = createdAt
        self.expires = expires
    }

    public func isActive(at now: Timestamp) -> Bool { expires.map { now < $0 } ?? true }
}

/// A user's public profile.
public struct UserProfile: Hashable, Sendable, Codable {
    public var id: UserID
    public var displayName: String
    public var createdAt: Timestamp

    public init(id: UserID, displayName: String, createdAt: Timestamp) {
        self.id = id
        self.displayName = displayName
        self.createdAt = createdAt
    }
}
