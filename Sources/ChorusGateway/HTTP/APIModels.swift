import ChorusChat
import ChorusModel

// The JSON shapes of the v1 API. Field names and nulls follow the seed exactly; Chorus's own
// values (``ChorusModel``) never leak their Swift names onto the wire.

/// A channel as Get/Create/Update Channel return it.
struct ChannelBody: Encodable {
    var info: ChannelInfo

    enum CodingKeys: String, CodingKey { case id, type, name, ownerID = "owner_id", createdAt = "created_at" }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(info.id, forKey: .id)
        try c.encode(info.kind.rawValue, forKey: .type)
        try c.encode(info.name, forKey: .name)
        try c.encode(info.ownerID, forKey: .ownerID)  // null for DMs
        try c.encode(info.createdAt.seconds, forKey: .createdAt)
    }
}

/// One entry of List Channels.
struct ChannelListItemBody: Encodable {
    var entry: ChatNode.ChannelListEntry

    enum CodingKeys: String, CodingKey {
        case unreadCount = "unread_count", hidden, lastActivityAt = "last_activity_at"
        case otherUserID = "other_user_id", otherUserName = "other_user_name"
    }

    func encode(to encoder: any Encoder) throws {
        try ChannelBody(info: entry.summary.info).encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(entry.summary.unreadCount, forKey: .unreadCount)
        try c.encode(entry.summary.hidden, forKey: .hidden)
        try c.encode(entry.summary.lastActivityAt.seconds, forKey: .lastActivityAt)
        if let other = entry.summary.otherUserID {
            try c.encode(other, forKey: .otherUserID)
            try c.encode(entry.otherUserName ?? other.rawValue, forKey: .otherUserName)
        }
    }
}

/// A channel member.
struct MemberBody: Encodable {
    var member: Member
    var displayName: String

    enum CodingKeys: String, CodingKey { case userID = "user_id", displayName = "display_name", role, joinedAt = "joined_at" }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(member.userID, forKey: .userID)
        try c.encode(displayName, forKey: .displayName)
        try c.encode(member.role.rawValue, forKey: .role)
        try c.encode(member.joinedAt.seconds, forKey: .joinedAt)
    }
}

/// A message.
struct MessageBody: Encodable {
    var message: Message

    enum CodingKeys: String, CodingKey {
        case id, channelID = "channel_id", seq, senderID = "sender_id", senderName = "sender_name", body, attachments
        case inlineEmotes = "inline_emotes", createdAt = "created_at", editedAt = "edited_at", deleted, reactions
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(message.id, forKey: .id)
        try c.encode(message.channelID, forKey: .channelID)
        try c.encode(message.seq, forKey: .seq)
        try c.encode(message.senderID, forKey: .senderID)
        try c.encode(message.senderName, forKey: .senderName)
        try c.encode(message.body, forKey: .body)
        try c.encode(message.attachments.map(AttachmentBody.init), forKey: .attachments)
        try c.encode(message.inlineEmotes.map(InlineEmoteBody.init), forKey: .inlineEmotes)
        try c.encode(message.createdAt.seconds, forKey: .createdAt)
        try c.encode(message.editedAt?.seconds, forKey: .editedAt)  // null until edited
        try c.encode(message.deleted, forKey: .deleted)
        try c.encode(message.reactions.map(ReactionBody.init), forKey: .reactions)
    }
}

/// An attachment, in requests and responses.
struct AttachmentBody: Codable {
    var assetID: AssetID
    var filename: String
    var contentType: String
    var sizeBytes: Int64

    enum CodingKeys: String, CodingKey { case assetID = "asset_id", filename, contentType = "content_type", sizeBytes = "size_bytes" }

    init(_ attachment: Attachment) {
        assetID = attachment.assetID
        filename = attachment.filename
        contentType = attachment.contentType
        sizeBytes = attachment.sizeBytes
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        assetID = try c.decode(AssetID.self, forKey: .assetID)
        filename = try c.decodeIfPresent(String.self, forKey: .filename) ?? ""
        contentType = try c.decodeIfPresent(String.self, forKey: .contentType) ?? "application/octet-stream"
        sizeBytes = try c.decodeIfPresent(Int64.self, forKey: .sizeBytes) ?? 0
    }

    var model: Attachment { Attachment(assetID: assetID, filename: filename, contentType: contentType, sizeBytes: sizeBytes) }
}

/// An inline emote, in requests and responses.
struct InlineEmoteBody: Codable {
    var shortcode: String
    var assetID: AssetID
    var startIndex: Int
    var endIndex: Int

    enum CodingKeys: String, CodingKey { case shortcode, assetID = "asset_id", startIndex = "start_index", endIndex = "end_index" }

    init(_ emote: InlineEmote) {
        shortcode = emote.shortcode
        assetID = emote.assetID
        startIndex = emote.startIndex
        endIndex = emote.endIndex
    }

    var model: InlineEmote { InlineEmote(shortcode: shortcode, assetID: assetID, startIndex: startIndex, endIndex: endIndex) }
}

/// The reactions with one emote.
struct ReactionBody: Encodable {
    var reaction: Reaction

    enum CodingKeys: String, CodingKey { case emoteAssetID = "emote_asset_id", count, userIDs = "user_ids" }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(reaction.emoteAssetID, forKey: .emoteAssetID)
        try c.encode(reaction.count, forKey: .count)
        try c.encode(reaction.userIDs, forKey: .userIDs)
    }
}

/// A page of List Messages.
struct MessagePageBody: Encodable {
    var messages: [MessageBody]
    var hasMore: Bool

    enum CodingKeys: String, CodingKey { case messages, hasMore = "has_more" }
}

/// The read cursor after Update Read Cursor.
struct ReadCursorBody: Encodable {
    var cursor: ReadCursor

    enum CodingKeys: String, CodingKey { case channelID = "channel_id", lastReadMessageID = "last_read_message_id", updatedAt = "updated_at" }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(cursor.channelID, forKey: .channelID)
        try c.encode(cursor.lastReadMessageID, forKey: .lastReadMessageID)
        try c.encode(cursor.updatedAt.seconds, forKey: .updatedAt)
    }
}

/// A user profile.
struct UserBody: Encodable {
    var profile: UserProfile

    enum CodingKeys: String, CodingKey { case id, displayName = "display_name", createdAt = "created_at" }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(profile.id, forKey: .id)
        try c.encode(profile.displayName, forKey: .displayName)
        try c.encode(profile.createdAt.seconds, forKey: .createdAt)
    }
}

// MARK: Requests

struct CreateChannelRequest: Decodable {
    var type: String
    var name: String?
    var userID: UserID?

    enum CodingKeys: String, CodingKey { case type, name, userID = "user_id" }
}

struct UpdateChannelRequest: Decodable {
    var name: String
}

struct AddMemberRequest: Decodable {
    var userID: UserID
    var role: String?

    enum CodingKeys: String, CodingKey { case userID = "user_id", role }
}

struct SendMessageRequest: Decodable {
    var body: String?
    var attachments: [AttachmentBody]?
    var inlineEmotes: [InlineEmoteBody]?
    /// The client's own id for this send; a retry with the same id returns the original message.
    var clientMessageID: String?

    enum CodingKeys: String, CodingKey {
        case body, attachments
        case inlineEmotes = "inline_emotes"
        case clientMessageID = "client_message_id"
    }
}

extension SendMessageRequest: FastJSONDecodable {
    init?(strings: [String: String]) {
        // A string where a list belongs: JSONDecoder's error.
        guard strings["attachments"] == nil, strings["inline_emotes"] == nil else { return nil }
        body = strings["body"]
        clientMessageID = strings["client_message_id"]
    }
}

struct EditMessageRequest: Decodable {
    var body: String
    var inlineEmotes: [InlineEmoteBody]?

    enum CodingKeys: String, CodingKey { case body, inlineEmotes = "inline_emotes" }
}

struct AddReactionRequest: Decodable {
    var emoteAssetID: AssetID

    enum CodingKeys: String, CodingKey { case emoteAssetID = "emote_asset_id" }
}

extension AddReactionRequest: FastJSONDecodable {
    /// The id as a string (its integer form, and every error, are JSONDecoder's).
    init?(strings: [String: String]) {
        guard let text = strings["emote_asset_id"], let id = AssetID(text) else { return nil }
        emoteAssetID = id
    }
}

struct MarkReadRequest: Decodable {
    var lastReadMessageID: MessageID

    enum CodingKeys: String, CodingKey { case lastReadMessageID = "last_read_message_id" }
}

extension MarkReadRequest: FastJSONDecodable {
    /// The id as a decimal string (its JSON integer form, and every error, are JSONDecoder's).
    init?(strings: [String: String]) {
        guard let text = strings["last_read_message_id"], let id = MessageID(text) else { return nil }
        lastReadMessageID = id
    }
}

struct BlockRequest: Decodable {
    var userID: UserID

    enum CodingKeys: String, CodingKey { case userID = "user_id" }
}

struct UpsertUserRequest: Decodable {
    var displayName: String

    enum CodingKeys: String, CodingKey { case displayName = "display_name" }
}
