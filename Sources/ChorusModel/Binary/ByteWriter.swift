/// Appends the primitives of Chorus's compact binary record format to a byte array.
///
/// Unsigned integers are LEB128 varints (7 bits a byte, low first), signed ones are zigzag
/// varints, strings and byte runs are a varint length and then the bytes (UTF-8 for strings),
/// optionals a presence byte. The format is positional: what a record holds and in which order
/// is fixed by its `version`, not described in the bytes (see ``RecordCodable``).
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func write(_ byte: UInt8) { bytes.append(byte) }

    public mutating func write(_ flag: Bool) { bytes.append(flag ? 1 : 0) }

    public mutating func writeVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    /// A signed integer, zigzag-encoded so small negative numbers stay short.
    public mutating func writeSigned(_ value: Int64) {
        writeVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    public mutating func write(_ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            writeVarint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// A length, then the bytes (a value in a layout of its own, nested in this one).
    public mutating func writeBytes(_ run: [UInt8]) {
        writeVarint(UInt64(run.count))
        bytes.append(contentsOf: run)
    }

    /// A count, then each element.
    public mutating func write<Element>(_ elements: [Element], _ writeElement: (inout ByteWriter, Element) -> Void) {
        writeVarint(UInt64(elements.count))
        for element in elements { writeElement(&self, element) }
    }

    /// A presence byte, then the value if there is one.
    public mutating func write<Value>(_ value: Value?, _ writeValue: (inout ByteWriter, Value) -> Void) {
        guard let value else { return write(false) }
        write(true)
        writeValue(&self, value)
    }
}
