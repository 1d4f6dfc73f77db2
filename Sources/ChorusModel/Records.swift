/// A change to one channel: the unit the write-ahead log stores and replicas replay.
///
/// Records are decided (validated against the current state) before they are logged, so applying
/// one never fails. Each carries the time it was made; the channel log assigns its `seq`.
public enum ChannelRecord: Hashable, Sendable, Codable {
    /// The channel came into being with its first members (the owner, or both users of a DM), and
    /// its profile when it was made through the Stream-compatible API.
    case created(info: ChannelInfo, members: [Member], profile: ChannelProfile? = nil)
    /// The channel was renamed.
    case updated(name: String, by: UserID, at: Timestamp)
    case memberAdded(Member, by: UserID)
    case memberRemoved(UserID, by: UserID, at: Timestamp)
    case messageSent(NewMessage)
    case messageEdited(MessageID, body: String, inlineEmotes: [InlineEmote], at: Timestamp)
    case messageDeleted(MessageID, by: UserID, at: Timestamp)
    case reactionAdded(MessageID, emote: AssetID, user: UserID, at: Timestamp)
    case reactionRemoved(MessageID, emote: AssetID, user: UserID, at: Timestamp)
    case readCursorSet(user: UserID, message: MessageID, at: Timestamp)
    /// The user hid the channel from their list until its next message.
    case hidden(user: UserID, at: Timestamp)
    case shown(user: UserID, at: Timestamp)
    /// The channel's profile (its custom data) was replaced.
    case profileSet(ChannelProfile, by: UserID, at: Timestamp)
    /// Every message up to `through` is gone for everyone (`hard`: also from the store).
    case truncated(through: MessageID?, hard: Bool, by: UserID, at: Timestamp)
    /// The channel was deleted; `hard` also erases its messages up to `through`.
    case channelDeleted(hard: Bool, through: MessageID?, by: UserID, at: Timestamp)
    /// `user` cleared their view of the history up to `through` (hide with `clear_history`).
    case historyCleared(user: UserID, through: MessageID, at: Timestamp)
    /// A member's role changed (Stream's moderators are admins).
    case roleChanged(UserID, role: MemberRole, by: UserID, at: Timestamp)
    /// Every message up to `through` outlived its channel type's `message_retention`: gone for
    /// everyone and from the store, without an event (clients drop old messages by themselves).
    case expired(through: MessageID, at: Timestamp)
}

/// The content of a `messageSent` record; the log position becomes the message's `seq`.
public struct NewMessage: Hashable, Sendable, Codable {
    public var id: MessageID
    public var senderID: UserID
    public var senderName: String
    public var draft: MessageDraft
    public var at: Timestamp
    /// The sender's own id for this send (`client_message_id` / `Idempotency-Key`), if they gave
    /// one: a repeated send with it returns this message instead of posting another.
    public var clientMessageID: String?

    public init(id: MessageID, senderID: UserID, senderName: String, draft: MessageDraft, at: Timestamp, clientMessageID: String? = nil) {
        self.id = id
        self.senderID = senderID
        self.senderName = senderName
        self.draft = draft
        self.at = at
        self.clientMessageID = clientMessageID
    }
}

/// A change to one user.
public enum UserRecord: Hashable, Sendable, Codable {
    /// The user was created, or their display name changed.
    case upserted(displayName: String, at: Timestamp)
    case blockAdded(UserID, at: Timestamp)
    case blockRemoved(UserID, at: Timestamp)
    /// The user joined (`isMember`) or left a channel, as of the channel log position `seq`.
    case membershipChanged(ChannelID, isMember: Bool, seq: UInt64)
    /// This user's actor became the registry of the DM between the two users.
    case directChannelOpened(ChannelInfo, with: UserID)
    /// The user muted a channel, until `expires` (`nil`: until unmuted).
    case channelMuted(ChannelID, expires: Timestamp?, at: Timestamp)
    case channelUnmuted(ChannelID, at: Timestamp)
}
