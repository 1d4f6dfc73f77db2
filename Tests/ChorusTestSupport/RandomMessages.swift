import ChorusModel

extension SeededRandom {
    /// Text with what JSON must escape: quotes, backslashes, slashes, every control character,
    /// DEL, non-ASCII letters, emoji and a line separator.
    public mutating func jsonHostileText() -> String {
        let pieces = ["a", "Z", "0", " ", "\"", "\\", "/", "é", "✨", "👩‍💻", "\u{7F}", "\u{2028}", "{", "}", ":", ","]
            + (0..<0x20).map { String(Unicode.Scalar(UInt8($0))) }
        return String((0..<Int(next() % 12)).map { _ in pieces[Int(next() % UInt64(pieces.count))] }.joined())
    }

    /// A short identifier-safe name (user and asset ids).
    public mutating func name() -> String {
        "n" + String(next() % 100_000)
    }

    /// A message with every field exercised: attachments, emotes, reactions, an edit time and a
    /// client message id some of the time, negative and large numbers, hostile text.
    public mutating func message() -> Message {
        let attachments = (0..<Int(next() % 3)).map { _ in
            Attachment(
                assetID: AssetID(name())!, filename: jsonHostileText(), contentType: jsonHostileText(),
                sizeBytes: Int64(bitPattern: next()) >> Int64(next() % 64))
        }
        let emotes = (0..<Int(next() % 3)).map { _ in
            InlineEmote(shortcode: jsonHostileText(), assetID: AssetID(name())!, startIndex: Int(next() % 50), endIndex: Int(next() % 50))
        }
        var message = Message(
            id: MessageID(rawValue: next()), channelID: ChannelID(rawValue: next() >> 1), seq: next() >> 8,
            senderID: UserID(name())!, senderName: jsonHostileText(), body: jsonHostileText(), attachments: attachments, inlineEmotes: emotes,
            createdAt: Timestamp(milliseconds: Int64(bitPattern: next() >> 20) - (1 << 40)))
        if chance(0.5) { message.editedAt = Timestamp(milliseconds: Int64(next() >> 24)) }
        message.deleted = chance(0.3)
        message.reactions = (0..<Int(next() % 3)).map { _ in
            Reaction(emoteAssetID: AssetID(name())!, userIDs: (0..<Int(next() % 3)).map { _ in UserID(name())! })
        }
        if chance(0.5) { message.clientMessageID = jsonHostileText() }
        return message
    }
}
