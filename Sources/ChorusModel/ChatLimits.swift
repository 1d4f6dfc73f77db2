/// Size limits on what clients may send. Defaults follow the API contract.
public struct ChatLimits: Hashable, Sendable, Codable {
    /// Longest message body, in characters (default 4,000).
    public var maxMessageLength: Int
    /// Most attachments on one message (default 10).
    public var maxAttachments: Int
    /// Most inline emotes on one message (default 100).
    public var maxInlineEmotes: Int
    /// Longest channel name, in characters (default 100).
    public var maxChannelNameLength: Int
    /// Longest display name, in characters (default 100).
    public var maxDisplayNameLength: Int
    /// Longest attachment file name, content type or emote shortcode, in characters (default 255).
    public var maxFieldLength: Int
    /// Most members of one channel (default 10,000).
    public var maxMembersPerChannel = 10_000
    /// Most channels one user may be a member of (default 10,000; DMs count).
    public var maxChannelsPerUser = 10_000

    public init(
        maxMessageLength: Int = 4000, maxAttachments: Int = 10, maxInlineEmotes: Int = 100,
        maxChannelNameLength: Int = 100, maxDisplayNameLength: Int = 100, maxFieldLength: Int = 255
    ) {
        self.maxMessageLength = maxMessageLength
        self.maxAttachments = maxAttachments
        self.maxInlineEmotes = maxInlineEmotes
        self.maxChannelNameLength = maxChannelNameLength
        self.maxDisplayNameLength = maxDisplayNameLength
        self.maxFieldLength = maxFieldLength
    }

    /// Checks a message draft (for edits: the new body with the message's existing attachments).
    public func validate(_ draft: MessageDraft) throws(ChatError) {
        // Counting characters walks the body's grapheme clusters (~12% of an in-memory send).
        // A body has no more characters than UTF-8 bytes, so one within the limit in bytes needs
        // the count only to check inline emotes' indices.
        let withinInBytes = draft.body.utf8.count <= maxMessageLength
        let length = withinInBytes && draft.inlineEmotes.isEmpty ? nil : draft.body.count
        if draft.body.allSatisfy(\.isWhitespace) && draft.attachments.isEmpty {
            throw ChatError(.emptyMessage, "a message needs a body or at least one attachment")
        }
        if let length, length > maxMessageLength {
            throw ChatError(.messageTooLong, "message body is \(length) characters; the limit is \(maxMessageLength)")
        }
        if draft.attachments.count > maxAttachments {
            throw ChatError.invalid("a message may have at most \(maxAttachments) attachments")
        }
        if draft.inlineEmotes.count > maxInlineEmotes {
            throw ChatError.invalid("a message may have at most \(maxInlineEmotes) inline emotes")
        }
        for (index, attachment) in draft.attachments.enumerated() {
            if attachment.sizeBytes < 0 {
                throw ChatError.invalid("attachments[\(index)].size_bytes must not be negative")
            }
            if attachment.filename.count > maxFieldLength || attachment.contentType.count > maxFieldLength {
                throw ChatError.invalid("attachments[\(index)]: filename and content_type are limited to \(maxFieldLength) characters")
            }
        }
        guard let length else { return }  // counted whenever there are emotes
        for (index, emote) in draft.inlineEmotes.enumerated() {
            guard 0 <= emote.startIndex, emote.startIndex < emote.endIndex, emote.endIndex <= length else {
                throw ChatError.invalid(
                    "inline_emotes[\(index)] must satisfy 0 <= start_index < end_index <= body length (\(length))")
            }
            if emote.shortcode.count > maxFieldLength {
                throw ChatError.invalid("inline_emotes[\(index)].shortcode is limited to \(maxFieldLength) characters")
            }
        }
    }

    /// Checks a group or room name: 1–``maxChannelNameLength`` characters, not only white space.
    public func validateChannelName(_ name: String) throws(ChatError) {
        guard !name.allSatisfy(\.isWhitespace), name.count <= maxChannelNameLength else {
            throw ChatError.invalid("name must be 1-\(maxChannelNameLength) characters and not only white space")
        }
    }

    /// The longest client message id (`client_message_id` / `Idempotency-Key`).
    public static let maxClientMessageIDLength = 64

    /// Checks a client message id: 1–64 characters of `A-Z a-z 0-9 - _ . :`.
    public func validateClientMessageID(_ id: String) throws(ChatError) {
        let allowed = id.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || "-_.:".utf8.contains(byte)
        }
        guard allowed, (1...Self.maxClientMessageIDLength).contains(id.utf8.count) else {
            throw ChatError.invalid("client_message_id must be 1-\(Self.maxClientMessageIDLength) characters of A-Z a-z 0-9 - _ . :")
        }
    }

    /// Checks a display name: 1–``maxDisplayNameLength`` characters, not only white space.
    public func validateDisplayName(_ name: String) throws(ChatError) {
        guard !name.allSatisfy(\.isWhitespace), name.count <= maxDisplayNameLength else {
            throw ChatError.invalid("display_name must be 1-\(maxDisplayNameLength) characters and not only white space")
        }
    }
}
