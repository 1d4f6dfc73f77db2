/// JSON values in the record format: a tag byte, then the value. Object members are written in
/// key order, so equal values always encode to equal bytes.
extension JSONValue: RecordCodable {
    public func write(to writer: inout ByteWriter) {
        switch self {
        case .null: writer.write(0 as UInt8)
        case .bool(let bool): writer.write(bool ? 2 : 1 as UInt8)
        case .number(let number):
            writer.write(3 as UInt8)
            writer.writeVarint(number.bitPattern)
        case .string(let string):
            writer.write(4 as UInt8)
            writer.write(string)
        case .array(let elements):
            writer.write(5 as UInt8)
            writer.write(elements) { $0.write($1) }
        case .object(let members):
            writer.write(6 as UInt8)
            writer.write(members.sorted { $0.key < $1.key }) { writer, member in
                writer.write(member.key)
                writer.write(member.value)
            }
        }
    }

    public init(from reader: inout ByteReader) throws {
        switch try reader.readByte() {
        case 0: self = .null
        case 1: self = .bool(false)
        case 2: self = .bool(true)
        case 3: self = .number(Double(bitPattern: try reader.readVarint()))
        case 4: self = .string(try reader.readString())
        case 5: self = .array(try reader.readArray { try $0.read() })
        case 6: self = .object(try Self.readMembers(&reader))
        default: throw reader.failure("unknown JSON value type")
        }
    }

    static func readMembers(_ reader: inout ByteReader) throws -> [String: JSONValue] {
        let members = try reader.readArray { reader in (try reader.readString(), try reader.read(JSONValue.self)) }
        return Dictionary(members, uniquingKeysWith: { _, last in last })
    }
}

extension ChannelProfile: RecordCodable {
    public func write(to writer: inout ByteWriter) {
        writer.write(address.type)
        writer.write(address.id)
        writer.write(createdBy) { $0.write($1) }
        writer.write(JSONValue.object(custom))
    }

    public init(from reader: inout ByteReader) throws {
        let type = try reader.readString()
        let id = try reader.readString()
        guard let address = ChannelAddress(type: type, id: id) else { throw reader.failure("invalid channel address") }
        let createdBy: UserID? = try reader.readOptional { try $0.read() }
        guard case .object(let custom) = try reader.read(JSONValue.self) else { throw reader.failure("channel custom data is not an object") }
        self.init(address: address, createdBy: createdBy, custom: custom)
    }
}
