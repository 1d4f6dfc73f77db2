/// The self-describing value tree of Chorus's binary encoding of `Codable` values.
///
/// On the wire each value is a tag byte and its data: integers as (zigzag) LEB128 varints,
/// doubles as 8 little-endian bytes, strings and byte strings with a varint length, arrays with a
/// varint count, maps with a count and (string key, value) pairs. A ``BinaryRepresentable`` value
/// inside another is a byte string of its own layout. Compact next to JSON (no quotes,
/// no decimal digits, no escaping) and decoded without any text parsing.
public indirect enum BinaryValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case string(String)
    /// A ``BinaryRepresentable`` value's own layout.
    case bytes([UInt8])
    case array([BinaryValue])
    case map([(String, BinaryValue)])

    public static func == (lhs: BinaryValue, rhs: BinaryValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.bool(let a), .bool(let b)): a == b
        case (.int(let a), .int(let b)): a == b
        case (.uint(let a), .uint(let b)): a == b
        case (.double(let a), .double(let b)): a.bitPattern == b.bitPattern
        case (.string(let a), .string(let b)): a == b
        case (.bytes(let a), .bytes(let b)): a == b
        case (.array(let a), .array(let b)): a == b
        case (.map(let a), .map(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: false
        }
    }

    enum Tag: UInt8 {
        case null = 0, falseValue, trueValue, int, uint, double, string, array, map, bytes
    }

    /// The value of a primitive type (strings, integers, booleans, floating point), `nil` for any
    /// other: found by comparing metatypes (cheap) rather than by dynamic casts of the value
    /// (expensive, and tried for every struct otherwise).
    init?<T>(primitive value: T) {
        let type = T.self
        if type == String.self {
            self = .string(value as! String)
        } else if type == UInt64.self {
            self = .uint(value as! UInt64)
        } else if type == Int64.self {
            self = .int(value as! Int64)
        } else if type == Int.self {
            self = .int(Int64(value as! Int))
        } else if type == Bool.self {
            self = .bool(value as! Bool)
        } else if type == Double.self {
            self = .double(value as! Double)
        } else if type == UInt.self {
            self = .uint(UInt64(value as! UInt))
        } else if type == Int32.self {
            self = .int(Int64(value as! Int32))
        } else if type == UInt32.self {
            self = .uint(UInt64(value as! UInt32))
        } else if type == Int16.self {
            self = .int(Int64(value as! Int16))
        } else if type == UInt16.self {
            self = .uint(UInt64(value as! UInt16))
        } else if type == Int8.self {
            self = .int(Int64(value as! Int8))
        } else if type == UInt8.self {
            self = .uint(UInt64(value as! UInt8))
        } else if type == Float.self {
            self = .double(Double(value as! Float))
        } else {
            return nil
        }
    }

    /// Appends the encoding of this value to `bytes`.
    public func write(to bytes: inout [UInt8]) {
        switch self {
        case .null: bytes.append(Tag.null.rawValue)
        case .bool(let value): bytes.append(value ? Tag.trueValue.rawValue : Tag.falseValue.rawValue)
        case .int(let value):
            bytes.append(Tag.int.rawValue)
            Varint.write(UInt64(bitPattern: (value << 1) ^ (value >> 63)), to: &bytes)
        case .uint(let value):
            bytes.append(Tag.uint.rawValue)
            Varint.write(value, to: &bytes)
        case .double(let value):
            bytes.append(Tag.double.rawValue)
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        case .string(let value):
            bytes.append(Tag.string.rawValue)
            Varint.writeString(value, to: &bytes)
        case .bytes(let data):
            bytes.append(Tag.bytes.rawValue)
            Varint.writeBytes(data, to: &bytes)
        case .array(let values):
            bytes.append(Tag.array.rawValue)
            Varint.write(UInt64(values.count), to: &bytes)
            for value in values { value.write(to: &bytes) }
        case .map(let pairs):
            bytes.append(Tag.map.rawValue)
            Varint.write(UInt64(pairs.count), to: &bytes)
            for (key, value) in pairs {
                Varint.writeString(key, to: &bytes)
                value.write(to: &bytes)
            }
        }
    }
}

/// LEB128 varints and length-prefixed strings.
public enum Varint {
    public static func write(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    public static func writeString(_ string: String, to bytes: inout [UInt8]) {
        let utf8 = string.utf8
        write(UInt64(utf8.count), to: &bytes)
        bytes.append(contentsOf: utf8)
    }

    public static func writeBytes(_ data: [UInt8], to bytes: inout [UInt8]) {
        write(UInt64(data.count), to: &bytes)
        bytes.append(contentsOf: data)
    }
}

/// Reads Chorus's binary encodings from a byte array; every overrun is a ``WireError``, never a crash.
public struct ByteReader {
    public let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var isAtEnd: Bool { offset >= bytes.count }

    public mutating func readByte() throws(WireError) -> UInt8 {
        guard offset < bytes.count else { throw WireError(.malformed, "truncated value") }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func readBytes(_ count: Int) throws(WireError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - offset else { throw WireError(.malformed, "truncated value") }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    public mutating func readVarint() throws(WireError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readByte()
            guard shift < 64 else { throw WireError(.malformed, "varint longer than 64 bits") }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// A length or count, bounded by the bytes left (so a forged count cannot allocate much).
    public mutating func readCount() throws(WireError) -> Int {
        let count = try readVarint()
        guard count <= UInt64(bytes.count - offset) else { throw WireError(.malformed, "count \(count) exceeds the data") }
        return Int(count)
    }

    public mutating func readString() throws(WireError) -> String {
        let count = try readCount()
        let slice = try readBytes(count)
        guard let string = String(validating: slice, as: UTF8.self) else { throw WireError(.malformed, "invalid UTF-8") }
        return string
    }

    public mutating func readByteArray() throws(WireError) -> [UInt8] {
        Array(try readBytes(try readCount()))
    }
}

/// A malformed or refused message on the cluster wire.
public struct WireError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// Bytes that do not decode.
        case malformed
        /// A frame over the size limit.
        case tooLarge
        /// A value that decodes but does not fit the expected type.
        case typeMismatch
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
