import ChorusWire

/// Channel events in the record format: what a channel's actor sends to the edges of other nodes
/// (`deliver`), so a remote delivery costs a few hundred nanoseconds to encode and decode instead
/// of the Codable coder's tree (docs/benchmarks.md, "Micro benchmarks"). Payload tags are
/// permanent, like a record's.
extension ChannelEvent: RecordCodable {
    public func write(to writer: inout ByteWriter) {
        writer.write(channelID)
        writer.write(seq) { $0.writeVarint($1) }
        writer.write(createdAt)
        switch payload {
        case .message(let message): writer.write(1 as UInt8); writer.write(message)
        case .messageUpdate(let message): writer.write(2 as UInt8); writer.write(message)
        case .messageDelete(let id): writer.write(3 as UInt8); writer.write(id)
        case .reactionAdd(let change): writer.write(4 as UInt8); writer.write(change)
        case .reactionRemove(let change): writer.write(5 as UInt8); writer.write(change)
        case .typing(let user): writer.write(6 as UInt8); writer.write(user)
        case .typingStop(let user): writer.write(7 as UInt8); writer.write(user)
        case .memberAdd(let member): writer.write(8 as UInt8); writer.write(member)
        case .memberUpdate(let member): writer.write(9 as UInt8); writer.write(member)
        case .memberRemove(let user): writer.write(10 as UInt8); writer.write(user)
        case .channelUpdate(let info): writer.write(11 as UInt8); writer.write(info)
        case .channelTruncate(let info): writer.write(12 as UInt8); writer.write(info)
        case .channelDelete(let info): writer.write(13 as UInt8); writer.write(info)
        case .read(let user, let cursor):
            writer.write(14 as UInt8)
            writer.write(user)
            writer.write(cursor.channelID)
            writer.write(cursor.lastReadMessageID)
            writer.write(cursor.updatedAt)
        case .watching(let change):
            writer.write(15 as UInt8)
            writer.write(change.user)
            writer.write(change.connectionID)
            writer.write(change.watching)
            writer.write(change.presence)
            writer.write(change.announce)
            writer.writeSigned(Int64(change.watcherCount))
        case .presence(let user, let online): writer.write(16 as UInt8); writer.write(user); writer.write(online)
        case .notice(let user, let notice):
            writer.write(17 as UInt8)
            writer.write(user)
            switch notice {
            case .hidden(let clearHistory): writer.write(clearHistory ? 2 : 1 as UInt8)
            case .visible: writer.write(3 as UInt8)
            case .muted: writer.write(4 as UInt8)
            case .unmuted: writer.write(5 as UInt8)
            }
        case .custom(let user, let type, let fields):
            writer.write(18 as UInt8)
            writer.write(user)
            writer.write(type)
            writer.write(JSONValue.object(fields))
        case .resync: writer.write(19 as UInt8)
        }
    }

    public init(from reader: inout ByteReader) throws {
        let channelID: ChannelID = try reader.read()
        let seq = try reader.readOptional { try $0.readVarint() }
        let createdAt: Timestamp = try reader.read()
        let payload: Payload
        switch try reader.readByte() {
        case 1: payload = .message(try reader.read())
        case 2: payload = .messageUpdate(try reader.read())
        case 3: payload = .messageDelete(try reader.read())
        case 4: payload = .reactionAdd(try reader.read())
        case 5: payload = .reactionRemove(try reader.read())
        case 6: payload = .typing(try reader.read())
        case 7: payload = .typingStop(try reader.read())
        case 8: payload = .memberAdd(try reader.read())
        case 9: payload = .memberUpdate(try reader.read())
        case 10: payload = .memberRemove(try reader.read())
        case 11: payload = .channelUpdate(try reader.read())
        case 12: payload = .channelTruncate(try reader.read())
        case 13: payload = .channelDelete(try reader.read())
        case 14:
            let user: UserID = try reader.read()
            payload = .read(user: user, cursor: ReadCursor(channelID: try reader.read(), lastReadMessageID: try reader.read(), updatedAt: try reader.read()))
        case 15:
            payload = .watching(
                WatchChange(
                    user: try reader.read(), connectionID: try reader.readString(), watching: try reader.readBool(), presence: try reader.readBool(),
                    announce: try reader.readBool(), watcherCount: Int(try reader.readSigned())))
        case 16: payload = .presence(user: try reader.read(), online: try reader.readBool())
        case 17:
            let user: UserID = try reader.read()
            let notice: Notice
            switch try reader.readByte() {
            case 1: notice = .hidden(clearHistory: false)
            case 2: notice = .hidden(clearHistory: true)
            case 3: notice = .visible
            case 4: notice = .muted
            case 5: notice = .unmuted
            default: throw reader.failure("unknown notice")
            }
            payload = .notice(user: user, notice)
        case 18:
            let user: UserID = try reader.read()
            let type = try reader.readString()
            guard case .object(let fields) = try reader.read(JSONValue.self) else { throw reader.failure("custom event fields are not an object") }
            payload = .custom(user: user, type: type, fields: fields)
        case 19: payload = .resync
        default: throw reader.failure("unknown channel event payload")
        }
        self.init(channelID: channelID, seq: seq, createdAt: createdAt, payload: payload)
    }
}

extension ChannelEvent.ReactionChange: RecordCodable {
    public func write(to writer: inout ByteWriter) {
        writer.write(messageID)
        writer.write(emote)
        writer.write(userID)
    }

    public init(from reader: inout ByteReader) throws {
        self.init(messageID: try reader.read(), emote: try reader.read(), userID: try reader.read())
    }
}

extension Reaction: RecordCodable {
    public func write(to writer: inout ByteWriter) {
        writer.write(emoteAssetID)
        writer.write(userIDs) { $0.write($1) }
    }

    public init(from reader: inout ByteReader) throws {
        self.init(emoteAssetID: try reader.read(), userIDs: try reader.readArray { try $0.read() })
    }
}

extension Message: RecordCodable {
    public func write(to writer: inout ByteWriter) {
        writer.write(id)
        writer.write(channelID)
        writer.writeVarint(seq)
        writer.write(senderID)
        writer.write(senderName)
        writer.write(body)
        writer.write(attachments) { $0.write($1) }
        writer.write(inlineEmotes) { $0.write($1) }
        writer.write(createdAt)
        writer.write(editedAt) { $0.write($1) }
        writer.write(deleted)
        writer.write(reactions) { $0.write($1) }
        writer.write(clientMessageID) { $0.write($1) }
    }

    public init(from reader: inout ByteReader) throws {
        self.init(
            id: try reader.read(), channelID: try reader.read(), seq: try reader.readVarint(), senderID: try reader.read(),
            senderName: try reader.readString(), body: try reader.readString(), attachments: try reader.readArray { try $0.read() },
            inlineEmotes: try reader.readArray { try $0.read() }, createdAt: try reader.read(), editedAt: try reader.readOptional { try $0.read() },
            deleted: try reader.readBool(), reactions: try reader.readArray { try $0.read() },
            clientMessageID: try reader.readOptional { try $0.readString() })
    }
}

/// Events of channels on one node for an edge on another, in order: what a remote `deliver`
/// call carries, in the record layout (a count, then each event).
public struct ChannelEventBatch: Hashable, Sendable, Codable, BinaryRepresentable {
    public var events: [ChannelEvent]

    public init(_ events: [ChannelEvent]) {
        self.events = events
    }

    public var binaryRepresentation: [UInt8] {
        var writer = ByteWriter(capacity: 256 * events.count)
        writer.write(events) { $0.write($1) }
        return writer.bytes
    }

    public init(binaryRepresentation bytes: [UInt8]) throws {
        var reader = ByteReader(bytes)
        events = try reader.readArray { try $0.read() }
        guard reader.remaining == 0 else { throw reader.failure("\(reader.remaining) stray bytes after the events") }
    }
}
