import ChorusModel
import ChorusWire

extension ReplicaBase: RecordCodable {
    public func write(to writer: inout ByteWriter) { writer.writeVarint(seq) }

    public init(from reader: inout ChorusModel.ByteReader) throws { self.init(seq: try reader.readVarint()) }
}

/// The record layout of an envelope: a tag byte (channel or user), the key, the replication
/// message, then the copy if there is one. A copy (a whole channel or user, sent only with a
/// snapshot or a fetched whole log) is rare and keeps its `Codable` form, nested as bytes; that is
/// why writing can throw.
extension ReplicaEnvelope {
    func write(to writer: inout ByteWriter) throws {
        switch self {
        case .channel(let id, let message, let copy):
            writer.write(UInt8(0))
            writer.write(id)
            writer.write(message)
            try writer.write(copy.map { try BinaryEncoder().encode($0) }) { $0.writeBytes($1) }
        case .user(let id, let message, let copy):
            writer.write(UInt8(1))
            writer.write(id)
            writer.write(message)
            try writer.write(copy.map { try BinaryEncoder().encode($0) }) { $0.writeBytes($1) }
        }
    }

    init(from reader: inout ChorusModel.ByteReader) throws {
        switch try reader.readByte() {
        case 0:
            self = .channel(
                try reader.read(), try reader.read(),
                copy: try reader.readOptional { try BinaryDecoder().decode(ChannelCopy.self, from: $0.readBytes()) })
        case 1:
            self = .user(
                try reader.read(), try reader.read(),
                copy: try reader.readOptional { try BinaryDecoder().decode(UserState.self, from: $0.readBytes()) })
        default:
            throw reader.failure("unknown replication envelope")
        }
    }
}

/// Replication messages for one peer, in order: what one `replicate` call carries, encoded when
/// the batch is made (so a copy that cannot be encoded fails there, not in the transport).
public struct ReplicaEnvelopes: Sendable, Codable, BinaryRepresentable {
    public let envelopes: [ReplicaEnvelope]
    public let binaryRepresentation: [UInt8]

    public init(_ envelopes: [ReplicaEnvelope]) throws {
        var writer = ByteWriter(capacity: 128 * envelopes.count)
        writer.writeVarint(UInt64(envelopes.count))
        for envelope in envelopes { try envelope.write(to: &writer) }
        self.envelopes = envelopes
        binaryRepresentation = writer.bytes
    }

    public init(binaryRepresentation bytes: [UInt8]) throws {
        var reader = ChorusModel.ByteReader(bytes)
        envelopes = try reader.readArray { try ReplicaEnvelope(from: &$0) }
        guard reader.remaining == 0 else { throw reader.failure("\(reader.remaining) stray bytes after the envelopes") }
        binaryRepresentation = bytes
    }
}
