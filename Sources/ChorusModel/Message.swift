/// A file attached to a message. Chorus stores the metadata; the bytes live on the CDN.
public struct Attachment: Hashable, Sendable, Codable {
    public var assetID: AssetID
    public var filename: String
    public var contentType: String
    public var sizeBytes: Int64

    public init(assetID: AssetID, filename: String, contentType: String, sizeBytes: Int64) {
        self.assetID = assetID
        self.filename = filename
        self.contentType = contentType
        self.sizeBytes = sizeBytes
    }
}

/// A custom emote shown inline in a message body, over the characters `startIndex..<endIndex`.
public struct InlineEmote: Hashable, Sendable, Codable {
    public var shortcode: String
    public var assetID: AssetID
    public var startIndex: Int
    public var endIndex: Int

    public init(shortcode: String, assetID: AssetID, startIndex: Int, endIndex: Int) {
        self.shortcode = shortcode
        self.assetID = assetID
        self.startIndex = startIndex
        self.endIndex = endIndex
    }
}

/// The reactions with one emote on one message, users in the order they reacted.
public struct Reaction: Hashable, Sendable, Codable {
    public var emoteAssetID: AssetID
    public var userIDs: [UserID]

    public init(emoteAssetID: AssetID, userIDs: [UserID]) {
        self.emoteAssetID = emoteAssetID
        self.userIDs = userIDs
    }

    /// How many users reacted with this emote.
    public var count: Int { userIDs.count }
}

/// A message in a channel's log.
public struct Message: Hashable, Sendable, Codable {
    public var id: MessageID
    public var channelID: ChannelID
    /// The position of the record that created this message in the channel log.
    public var seq: UInt64
    public var senderID: UserID
    /// The sender's display name when the message was sent.
    public var senderName: String
    public var body: String
    public var attachments: [Attachment]
    public var inlineEmotes: [InlineEmote]
    public var createdAt: Timestamp
    public var editedAt: Timestamp?
    public var deleted: Bool
    /// Emotes in the order they were first used.
    public var reactions: [Reaction]
    /// The sender's own id for the send that posted it (``NewMessage/clientMessageID``), if any.
    public var clientMessageID: String?

    public init(
        id: MessageID, channelID: ChannelID, seq: UInt64, senderID: UserID, senderName: String, body: String,
        attachments: [Attachment], inlineEmotes: [InlineEmote], createdAt: Timestamp, editedAt: Timestamp? = nil,
        deleted: Bool = false, reactions: [Reaction] = [], clientMessageID: String? = nil
    ) {
        self.id = id
        self.channelID = channelID
        self.seq = seq
        self.senderID = senderID
        self.senderName = senderName
        self.body = body
        self.attachments = attachments
        self.inlineEmotes = inlineEmotes
        self.createdAt = createdAt
        self.editedAt = editedAt
        self.deleted = deleted
        self.reactions = reactions
        self.clientMessageID = clientMessageID
    }
}

/// What a client sends to post or edit a message, before validation.
public struct MessageDraft: Hashable, Sendable, Codable {
    public var body: String
    public var attachments: [Attachment]
    public var inlineEmotes: [InlineEmote]

    public init(body: String, attachments: [Attachment] = [], inlineEmotes: [InlineEmote] = []) {
        self.body = body
        self.attachments = attachments
        self.inlineEmotes = inlineEmotes
    }
}

/// A page of a channel's messages, oldest first.
public struct MessagePage: Hashable, Sendable, Codable {
    public var messages: [Message]
    /// Whether more messages exist beyond this page in the paging direction.
    public var hasMore: Bool

    public init(messages: [Message], hasMore: Bool) {
        self.messages = messages
        self.hasMore = hasMore
    }
}

/// Which slice of a channel's history to read.
public enum MessagePageRequest: Hashable, Sendable, Codable {
    /// The newest `limit` messages.
    case latest(limit: Int)
    /// The newest `limit` messages older than the given message.
    case before(MessageID, limit: Int)
    /// The oldest `limit` messages newer than the given message.
    case after(MessageID, limit: Int)
}

/// The unread rule, defined once: a message is unread for `user` when it comes after their read
/// cursor (`after`; every message when they have none), is not deleted, and was not sent by them.
///
/// Counting in memory applies ``counts(_:)``; the store counts its rows by the same three
/// conditions in SQL (`HistoryStore.unreadCount`), and a test checks over random histories that
/// both agree.
public struct UnreadRule: Sendable, Equatable {
    public var user: UserID
    /// The user's read cursor.
    public var after: MessageID?

    public init(user: UserID, after: MessageID?) {
        self.user = user
        self.after = after
    }

    public func counts(_ message: Message) -> Bool {
        !message.deleted && message.senderID != user && after.map { message.id > $0 } ?? true
    }
}

/// The answer to a send: the message, and whether it was posted by an earlier send with the same
/// client message id (so this one posted nothing).
public struct SentMessage: Hashable, Sendable, Codable {
    public var message: Message
    public var replayed: Bool

    public init(message: Message, replayed: Bool) {
        self.message = message
        self.replayed = replayed
    }
}
