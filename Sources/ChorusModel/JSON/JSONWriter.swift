/// Writes JSON whose shape is known, member by member, without `JSONEncoder`'s boxing of every
/// value: the same bytes `JSONEncoder` makes with `.withoutEscapingSlashes`, keys in the order
/// the caller writes them (sorted, for every shape written so far, as `.sortedKeys` sorts).
///
/// `JSONEncoder` was ~8% of a durable send's CPU for the 201 body and ~6% of a small-room
/// workload for the stored message rows (perf; docs/benchmarks.md). Each shape written this way
/// is checked byte for byte against `JSONEncoder`'s output for random values (control
/// characters, quotes, non-ASCII text included): `JSONWriterTests`, `MessageRowTests`.
public struct JSONWriter {
    @usableFromInline var storage: [UInt8] = []

    /// What has been written so far.
    public var bytes: [UInt8] { storage }

    public init(capacity: Int = 256) {
        storage.reserveCapacity(capacity)
    }

    /// An object: `body` writes its members with ``member(_:_:)``-style calls, in the order they
    /// should appear.
    @inlinable
    public mutating func object(_ body: (inout JSONWriter) -> Void) {
        storage.append(UInt8(ascii: "{"))
        let start = storage.count
        body(&self)
        if storage.count > start, storage[storage.count - 1] == UInt8(ascii: ",") { storage.removeLast() }
        storage.append(UInt8(ascii: "}"))
    }

    @inlinable
    public mutating func array<Element>(_ elements: some Collection<Element>, _ write: (inout JSONWriter, Element) -> Void) {
        storage.append(UInt8(ascii: "["))
        var first = true
        for element in elements {
            if !first { storage.append(UInt8(ascii: ",")) }
            first = false
            write(&self, element)
        }
        storage.append(UInt8(ascii: "]"))
    }

    /// `"key":` (keys are plain ASCII names).
    @inlinable
    mutating func key(_ key: StaticString) {
        storage.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { storage.append(contentsOf: $0) }
        storage.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    /// Ends a member (the object drops the last one's comma).
    @inlinable
    mutating func next() {
        storage.append(UInt8(ascii: ","))
    }

    @inlinable
    public mutating func member(_ key: StaticString, _ value: String) {
        self.key(key)
        string(value)
        next()
    }

    @inlinable
    public mutating func member(_ key: StaticString, _ value: some BinaryInteger) {
        self.key(key)
        integer(value)
        next()
    }

    @inlinable
    public mutating func member(_ key: StaticString, _ value: Bool) {
        self.key(key)
        storage.append(contentsOf: value ? "true".utf8 : "false".utf8)
        next()
    }

    /// A member that is `null` when `value` is `nil`.
    @inlinable
    public mutating func member(_ key: StaticString, nullable value: String?) {
        self.key(key)
        if let value { string(value) } else { storage.append(contentsOf: "null".utf8) }
        next()
    }

    /// A member that is `null` when `value` is `nil`.
    @inlinable
    public mutating func member(_ key: StaticString, nullable value: Int64?) {
        self.key(key)
        if let value { integer(value) } else { storage.append(contentsOf: "null".utf8) }
        next()
    }

    /// A member whose value is an array of `elements`, each written by `write`.
    @inlinable
    public mutating func member<Element>(_ key: StaticString, each elements: some Collection<Element>, _ write: (inout JSONWriter, Element) -> Void) {
        self.key(key)
        array(elements, write)
        next()
    }

    /// A member whose value `write` writes (an object, an array or a literal).
    @inlinable
    public mutating func writeMember(_ key: StaticString, _ write: (inout JSONWriter) -> Void) {
        self.key(key)
        write(&self)
        next()
    }

    /// A member whose value is an object, its members written by `body`.
    @inlinable
    public mutating func member(_ key: StaticString, object body: (inout JSONWriter) -> Void) {
        self.key(key)
        object(body)
        next()
    }

    @inlinable
    public mutating func integer(_ value: some BinaryInteger) {
        storage.append(contentsOf: String(value).utf8)
    }

    /// A string literal, escaped as Foundation's `JSONEncoder` escapes with `.withoutEscapingSlashes`.
    public mutating func string(_ value: String) {
        storage.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): storage.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): storage.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x08: storage.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: storage.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x0A: storage.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: storage.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: storage.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Self.hexDigits
                storage.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: storage.append(byte)
            }
        }
        storage.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
