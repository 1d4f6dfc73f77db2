/// A value with a fixed layout in Chorus's binary record format (``ByteWriter``).
///
/// This is the format of write-ahead log records, and of the records replication will copy
/// between nodes: positional and compact, with no field names in the bytes. A layout never
/// changes in place. To change one, add a new record version (``RecordFormat/version``) and keep
/// reading the old one. Enum cases have explicit, permanent tags.
public protocol RecordCodable {
    func write(to writer: inout ByteWriter)
    init(from reader: inout ByteReader) throws
}

/// The versions of the record format.
public enum RecordFormat {
    /// The layout every ``RecordCodable`` type writes today.
    public static let version: UInt8 = 1
}

extension Timestamp: RecordCodable {
    public func write(to writer: inout ByteWriter) { writer.writeSigned(milliseconds) }
    public init(from reader: inout ByteReader) throws { self.init(milliseconds: try reader.readSigned()) }
}

extension SnowflakeID: RecordCodable {
    public func write(to writer: inout ByteWriter) { writer.writeVarint(rawValue) }
    public init(from reader: inout ByteReader) throws { self.init(rawValue: try reader.readVarint()) }
}

extension UserID: RecordCodable {
    public func write(to writer: inout ByteWriter) { writer.write(rawValue) }
    public init(from reader: inout ByteReader) throws {
        let text = try reader.readString()
        guard let id = UserID(text) else { throw reader.failure("invalid user id") }
        self = id
    }
}

extension AssetID: RecordCodable {
    public func write(to writer: inout ByteWriter) { writer.write(rawValue) }
    public init(from reader: inout ByteReader) throws {
        let text = try reader.readString()
        guard let id = AssetID(text) else { throw reader.failure("invalid asset id") }
        self = id
    }
}

extension ChannelKind: RecordCodable {
    private var tag: UInt8 {
        switch self {
        case .dm: 1
        case .group: 2
        case .room: 3
        }
    }

    public func write(to writer: inout ByteWriter) { writer.write(tag) }
    public init(from reader: inout ByteReader) throws {
        switch try reader.readByte() {
        case 1: self = .dm
        case 2: self = .group
        case 3: self = .room
        default: throw reader.failure("unknown channel kind")
        }
    }
}

extension MemberRole: RecordCodable {
    private var tag: UInt8 {
        switch self {
        case .owner: 1
        case .admin: 2
        case .member: 3
        }
    }

    public func write(to writer: inout ByteWriter) { writer.write(tag) }
    public init(from reader: inout ByteReader) throws {
        switch try reader.readByte() {
        case 1: self = .owner
        case 2: self = .admin
        case 3: self = .member
        default: throw reader.failure("unknown member role")
        }
    }
}

extension ByteWriter {
    /// Writes a ``RecordCodable`` value (for the element closures of arrays and optionals).
    public mutating func write(_ value: some RecordCodable) { value.write(to: &self) }
}

extension ByteReader {
    public mutating func read<Value: RecordCodable>(_: Value.Type = Value.self) throws -> Value { try Value(from: &self) }
}

extension ChannelInfo: RecordCodable {
    public func write(to writer: inout ByteWriter) {
        writer.write(id)
        writer.write(kind)
        writer.write(name)
        writer.write(ownerID) { $0.write($1) }
        writer.write(createdAt)
    }

    public init(from reader: inout ByteReader) throws {
        self.init(
            id: try reader.read(), kind: try reader.read(), name: try reader.readString(), ownerID: try reader.readOptional { try $0.read() },
            createdAt: try reader.read())
    }
}

extension Member: RecordCodable {
    public func write(to writer: inout ByteWriter) {
        writer.write(userID)
        writer.write(role)
        writer.write(joinedAt)
    }

    public init(from reader: inout ByteReader) throws {
        self.init(userID: try reader.read(), role: try reader.read(), joinedAt: try reader.read())
    }
}

extension Attachment: RecordCodable {
    public func write(to writer: inout ByteWriter) {
        writer.write(assetID)
        writer.write(filename)
        writer.write(contentType)
        writer.writeSigned(sizeBytes)
    }

    public init(from reader: inout ByteReader) throws {
        self.init(assetID: try reader.read(), filename: try reader.readString(), contentType: try reader.readString(), sizeBytes: try reader.readSigned())
    }
}

extension InlineEmote: RecordCodable {
    public func write(to writer: inout ByteWriter) {
        writer.write(shortcode)
        writer.write(assetID)
        writer.writeSigned(Int64(startIndex))
        writer.writeSigned(Int64(endIndex))
    }

    public init(from reader: inout ByteReader) throws {
        self.init(
            shortcode: try reader.readString(), assetID: try reader.read(), startIndex: Int(try reader.readSigned()),
            endIndex: Int(try reader.readSigned()))
    }
}

extension MessageDraft: RecordCodable {
    public func write(to writer: inout ByteWriter) {
        writer.write(body)
        writer.write(attachments) { $0.write($1) }
        writer.write(inlineEmotes) { $0.write($1) }
    }

    public init(from reader: inout ByteReader) throws {
        self.init(body: try reader.readString(), attachments: try reader.readArray { try $0.read() }, inlineEmotes: try reader.readArray { try $0.read() })
    }
}

extension NewMessage: RecordCodable {
    public func write(to writer: inout ByteWriter) {
        writer.write(id)
        writer.write(senderID)
        writer.write(senderName)
        writer.write(draft)
        writer.write(at)
    }

    public init(from reader: inout ByteReader) throws {
        self.init(id: try reader.read(), senderID: try reader.read(), senderName: try reader.readString(), draft: try reader.read(), at: try reader.read())
    }
}

extension ChannelRecord: RecordCodable {
    public func write(to writer: inout ByteWriter) {
        switch self {
        case .created(let info, let members, let profile):
            // Tag 14 is tag 1's layout followed by the profile; tag 1 stays as it was.
            writer.write(profile == nil ? 1 as UInt8 : 14)
            writer.write(info)
            writer.write(members) { $0.write($1) }
            if let profile { writer.write(profile) }
        case .updated(let name, let by, let at):
            writer.write(2 as UInt8)
            writer.write(name)
            writer.write(by)
            writer.write(at)
        case .memberAdded(let member, let by):
            writer.write(3 as UInt8)
            writer.write(member)
            writer.write(by)
        case .memberRemoved(let user, let by, let at):
            writer.write(4 as UInt8)
            writer.write(user)
            writer.write(by)
            writer.write(at)
        case .messageSent(let message):
            // Tag 13 is tag 5's layout followed by the client message id; tag 5 stays as it was,
            // so logs of earlier releases read unchanged.
            writer.write(message.clientMessageID == nil ? 5 as UInt8 : 13)
            writer.write(message)
            if let clientID = message.clientMessageID { writer.write(clientID) }
        case .messageEdited(let id, let body, let inlineEmotes, let at):
            writer.write(6 as UInt8)
            writer.write(id)
            writer.write(body)
            writer.write(inlineEmotes) { $0.write($1) }
            writer.write(at)
        case .messageDeleted(let id, let by, let at):
            writer.write(7 as UInt8)
            writer.write(id)
            writer.write(by)
            writer.write(at)
        case .reactionAdded(let id, let emote, let user, let at):
            writer.write(8 as UInt8)
            writer.write(id)
            writer.write(emote)
            writer.write(user)
            writer.write(at)
        case .reactionRemoved(let id, let emote, let user, let at):
            writer.write(9 as UInt8)
            writer.write(id)
            writer.write(emote)
            writer.write(user)
            writer.write(at)
        case .readCursorSet(let user, let message, let at):
            writer.write(10 as UInt8)
            writer.write(user)
            writer.write(message)
            writer.write(at)
        case .hidden(let user, let at):
            writer.write(11 as UInt8)
            writer.write(user)
            writer.write(at)
        case .shown(let user, let at):
            writer.write(12 as UInt8)
            writer.write(user)
            writer.write(at)
        case .profileSet(let profile, let by, let at):
            writer.write(15 as UInt8)
            writer.write(profile)
            writer.write(by)
            writer.write(at)
        case .truncated(let through, let hard, let by, let at):
            writer.write(16 as UInt8)
            writer.write(through) { $0.write($1) }
            writer.write(hard)
            writer.write(by)
            writer.write(at)
        case .channelDeleted(let hard, let through, let by, let at):
            writer.write(17 as UInt8)
            writer.write(hard)
            writer.write(through) { $0.write($1) }
            writer.write(by)
            writer.write(at)
        case .historyCleared(let user, let through, let at):
            writer.write(18 as UInt8)
            writer.write(user)
            writer.write(through)
            writer.write(at)
        case .roleChanged(let user, let role, let by, let at):
            writer.write(19 as UInt8)
            writer.write(user)
            writer.write(role)
            writer.write(by)
            writer.write(at)
        case .expired(let through, let at):
            writer.write(20 as UInt8)
            writer.write(through)
            writer.write(at)
        }
    }

    public init(from reader: inout ByteReader) throws {
        switch try reader.readByte() {
        case 1: self = .created(info: try reader.read(), members: try reader.readArray { try $0.read() })
        case 2: self = .updated(name: try reader.readString(), by: try reader.read(), at: try reader.read())
        case 3: self = .memberAdded(try reader.read(), by: try reader.read())
        case 4: self = .memberRemoved(try reader.read(), by: try reader.read(), at: try reader.read())
        case 5: self = .messageSent(try reader.read())
        case 6:
            self = .messageEdited(try reader.read(), body: try reader.readString(), inlineEmotes: try reader.readArray { try $0.read() }, at: try reader.read())
        case 7: self = .messageDeleted(try reader.read(), by: try reader.read(), at: try reader.read())
        case 8: self = .reactionAdded(try reader.read(), emote: try reader.read(), user: try reader.read(), at: try reader.read())
        case 9: self = .reactionRemoved(try reader.read(), emote: try reader.read(), user: try reader.read(), at: try reader.read())
        case 10: self = .readCursorSet(user: try reader.read(), message: try reader.read(), at: try reader.read())
        case 11: self = .hidden(user: try reader.read(), at: try reader.read())
        case 12: self = .shown(user: try reader.read(), at: try reader.read())
        case 13:
            var message: NewMessage = try reader.read()
            message.clientMessageID = try reader.readString()
            self = .messageSent(message)
        case 14:
            self = .created(info: try reader.read(), members: try reader.readArray { try $0.read() }, profile: try reader.read())
        case 15: self = .profileSet(try reader.read(), by: try reader.read(), at: try reader.read())
        case 16:
            self = .truncated(through: try reader.readOptional { try $0.read() }, hard: try reader.readBool(), by: try reader.read(), at: try reader.read())
        case 17:
            self = .channelDeleted(hard: try reader.readBool(), through: try reader.readOptional { try $0.read() }, by: try reader.read(), at: try reader.read())
        case 18: self = .historyCleared(user: try reader.read(), through: try reader.read(), at: try reader.read())
        case 19: self = .roleChanged(try reader.read(), role: try reader.read(), by: try reader.read(), at: try reader.read())
        case 20: self = .expired(through: try reader.read(), at: try reader.read())
        default: throw reader.failure("unknown channel record type")
        }
    }
}

extension UserRecord: RecordCodable {
    public func write(to writer: inout ByteWriter) {
        switch self {
        case .upserted(let displayName, let at):
            writer.write(1 as UInt8)
            writer.write(displayName)
            writer.write(at)
        case .blockAdded(let user, let at):
            writer.write(2 as UInt8)
            writer.write(user)
            writer.write(at)
        case .blockRemoved(let user, let at):
            writer.write(3 as UInt8)
            writer.write(user)
            writer.write(at)
        case .membershipChanged(let channel, let isMember, let seq):
            writer.write(4 as UInt8)
            writer.write(channel)
            writer.write(isMember)
            writer.writeVarint(seq)
        case .directChannelOpened(let info, let with):
            writer.write(5 as UInt8)
            writer.write(info)
            writer.write(with)
        case .channelMuted(let channel, let expires, let at):
            writer.write(6 as UInt8)
            writer.write(channel)
            writer.write(expires) { $0.write($1) }
            writer.write(at)
        case .channelUnmuted(let channel, let at):
            writer.write(7 as UInt8)
            writer.write(channel)
            writer.write(at)
        }
    }

    public init(from reader: inout ByteReader) throws {
        switch try reader.readByte() {
        case 1: self = .upserted(displayName: try reader.readString(), at: try reader.read())
        case 2: self = .blockAdded(try reader.read(), at: try reader.read())
        case 3: self = .blockRemoved(try reader.read(), at: try reader.read())
        case 4: self = .membershipChanged(try reader.read(), isMember: try reader.readBool(), seq: try reader.readVarint())
        case 5: self = .directChannelOpened(try reader.read(), with: try reader.read())
        case 6: self = .channelMuted(try reader.read(), expires: try reader.readOptional { try $0.read() }, at: try reader.read())
        case 7: self = .channelUnmuted(try reader.read(), at: try reader.read())
        default: throw reader.failure("unknown user record type")
        }
    }
}
