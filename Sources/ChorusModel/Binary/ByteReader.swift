/// Why bytes are not a valid record.
public struct RecordDecodingError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    /// Where in the bytes decoding stopped.
    public var offset: Int

    public init(_ message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var description: String { "\(message) at byte \(offset)" }
}

/// Reads what ``ByteWriter`` wrote; every read checks its bounds and throws
/// ``RecordDecodingError`` on truncated or impossible input, never traps.
public struct ByteReader {
    private let bytes: [UInt8]
    public private(set) var offset: Int

    /// Reads `bytes` from `offset` (clamped to the bytes there are).
    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = min(max(0, offset), bytes.count)
    }

    /// Bytes not yet read.
    public var remaining: Int { bytes.count - offset }

    public func failure(_ message: String) -> RecordDecodingError { RecordDecodingError(message, offset: offset) }

    public mutating func readByte() throws -> UInt8 {
        guard offset < bytes.count else { throw failure("unexpected end of record") }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func readBool() throws -> Bool {
        switch try readByte() {
        case 0: return false
        case 1: return true
        default: throw failure("invalid boolean")
        }
    }

    public mutating func readVarint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readByte()
            guard shift < 64, shift < 63 || byte <= 1 else { throw failure("varint longer than 64 bits") }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    public mutating func readSigned() throws -> Int64 {
        let raw = try readVarint()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// A count that must fit in the bytes left (each element takes at least `minimumElementBytes`).
    public mutating func readCount(minimumElementBytes: Int = 1) throws -> Int {
        let count = try readVarint()
        guard count <= UInt64(remaining / max(1, minimumElementBytes)) else { throw failure("count \(count) exceeds the record") }
        return Int(count)
    }

    public mutating func readString() throws -> String {
        let count = try readCount()
        guard let string = String(validating: bytes[offset..<offset + count], as: UTF8.self) else {
            throw failure("invalid UTF-8")
        }
        offset += count
        return string
    }

    /// What ``ByteWriter/writeBytes(_:)`` wrote.
    public mutating func readBytes() throws -> [UInt8] {
        let count = try readCount()
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    public mutating func readArray<Element>(_ readElement: (inout ByteReader) throws -> Element) throws -> [Element] {
        let count = try readCount()
        var elements: [Element] = []
        elements.reserveCapacity(count)
        for _ in 0..<count { elements.append(try readElement(&self)) }
        return elements
    }

    public mutating func readOptional<Value>(_ readValue: (inout ByteReader) throws -> Value) throws -> Value? {
        try readBool() ? try readValue(&self) : nil
    }
}
