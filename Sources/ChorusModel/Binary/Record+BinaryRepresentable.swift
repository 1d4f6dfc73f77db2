import ChorusWire

/// Values with a record layout cross the cluster in it: a remote call's argument or result of one
/// of these types, or one nested in another value (a replication message's records, a forwarded
/// send's draft and the message it returns), skips `Codable`. Adding a type here changes what
/// nodes send each other (``Wire/protocolVersion``).
extension BinaryRepresentable where Self: RecordCodable {
    public var binaryRepresentation: [UInt8] {
        var writer = ByteWriter(capacity: 128)
        write(to: &writer)
        return writer.bytes
    }

    public init(binaryRepresentation bytes: [UInt8]) throws {
        var reader = ByteReader(bytes)
        self = try Self(from: &reader)
        guard reader.remaining == 0 else { throw reader.failure("\(reader.remaining) stray bytes after the value") }
    }
}

extension Message: BinaryRepresentable {}
extension MessageDraft: BinaryRepresentable {}
extension NewMessage: BinaryRepresentable {}
extension ChannelEvent: BinaryRepresentable {}
extension ChannelRecord: BinaryRepresentable {}
extension UserRecord: BinaryRepresentable {}
extension SentMessage: BinaryRepresentable {}
extension UserProfile: BinaryRepresentable {}

// A forwarded send's result, and a user's profile (what a send asks of the sender's user actor).
extension SentMessage: RecordCodable {
    public func write(to writer: inout ByteWriter) {
        writer.write(message)
        writer.write(replayed)
    }

    public init(from reader: inout ByteReader) throws {
        self.init(message: try reader.read(), replayed: try reader.readBool())
    }
}

extension UserProfile: RecordCodable {
    public func write(to writer: inout ByteWriter) {
        writer.write(id)
        writer.write(displayName)
        writer.write(createdAt)
    }

    public init(from reader: inout ByteReader) throws {
        self.init(id: try reader.read(), displayName: try reader.readString(), createdAt: try reader.read())
    }
}
