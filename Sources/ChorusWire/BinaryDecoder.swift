import Distributed

/// Decodes `Decodable` values from Chorus's binary encoding (see ``BinaryValue``).
///
/// It reads the bytes in place, without building a value tree: the whole value is checked once
/// (tags, lengths, counts, nesting depth, nothing after it), then each container reads its items
/// where they lie. Malformed bytes and values of the wrong shape throw (a ``WireError`` or a
/// `DecodingError`); nothing a peer sends can crash the decoder.
public struct BinaryDecoder {
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]
    /// The actor system that resolves decoded actor references: what a distributed actor's
    /// `init(from:)` reads as `userInfo[.actorSystemKey]`. Kept apart from `userInfo` so that a
    /// remote call's decode does not build and hash a dictionary for the rare value that asks.
    public var actorSystem: (any DistributedActorSystem)?

    public init() {}

    /// Decodes a `T` from `bytes`, which must hold exactly one value (in `T`'s own layout if it
    /// is ``BinaryRepresentable``).
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        if let representable = T.self as? any BinaryRepresentable.Type {
            guard let value = try representable.init(binaryRepresentation: bytes) as? T else { throw WireError(.malformed, "not a \(T.self)") }
            return value
        }
        let input = BinaryInput(bytes, userInfo: userInfo, actorSystem: actorSystem)
        guard try input.skip(at: 0, depth: 0) == bytes.count else { throw WireError(.malformed, "trailing bytes after the value") }
        return try StreamDecoder(input: input, offset: 0, parent: nil, key: nil).decodeValue(type)
    }
}

/// The bytes being decoded and the reads at an offset. Every read checks its bounds; the
/// structure is checked once by ``skip(at:depth:)`` before decoding starts.
final class BinaryInput {
    let bytes: [UInt8]
    private let givenUserInfo: [CodingUserInfoKey: any Sendable]
    private let actorSystem: (any DistributedActorSystem)?

    init(_ bytes: [UInt8], userInfo: [CodingUserInfoKey: any Sendable], actorSystem: (any DistributedActorSystem)?) {
        self.bytes = bytes
        self.givenUserInfo = userInfo
        self.actorSystem = actorSystem
    }

    /// `Decoder.userInfo`, made when a value asks for it (an actor reference, a value with
    /// options): converting the dictionary to `Any` values on every decode would cost every call.
    var userInfo: [CodingUserInfoKey: Any] {
        var userInfo: [CodingUserInfoKey: Any] = givenUserInfo
        if let actorSystem { userInfo[.actorSystemKey] = actorSystem }
        return userInfo
    }

    func tag(at offset: Int) throws(WireError) -> BinaryValue.Tag {
        guard offset < bytes.count else { throw WireError(.malformed, "truncated value") }
        guard let tag = BinaryValue.Tag(rawValue: bytes[offset]) else { throw WireError(.malformed, "unknown value tag") }
        return tag
    }

    func varint(at offset: inout Int) throws(WireError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < bytes.count else { throw WireError(.malformed, "truncated value") }
            let byte = bytes[offset]
            offset += 1
            guard shift < 64 else { throw WireError(.malformed, "varint longer than 64 bits") }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// A length or count, bounded by the bytes left (so a forged count cannot allocate much).
    func count(at offset: inout Int) throws(WireError) -> Int {
        let count = try varint(at: &offset)
        guard count <= UInt64(bytes.count - offset) else { throw WireError(.malformed, "count \(count) exceeds the data") }
        return Int(count)
    }

    /// The range of a length-prefixed string at `offset`, which moves past it.
    func stringRange(at offset: inout Int) throws(WireError) -> Range<Int> {
        let length = try count(at: &offset)
        defer { offset += length }
        return offset..<offset + length
    }

    func string(in range: Range<Int>) throws(WireError) -> String {
        guard let string = String(validating: bytes[range], as: UTF8.self) else { throw WireError(.malformed, "invalid UTF-8") }
        return string
    }

    /// Where the value at `offset` ends; throws if it is not one well-formed value.
    func skip(at offset: Int, depth: Int) throws(WireError) -> Int {
        guard depth < 128 else { throw WireError(.malformed, "values nested more than 128 deep") }
        var offset = offset
        let tag = try tag(at: offset)
        offset += 1
        switch tag {
        case .null, .falseValue, .trueValue: return offset
        case .int, .uint:
            _ = try varint(at: &offset)
            return offset
        case .double:
            guard bytes.count - offset >= 8 else { throw WireError(.malformed, "truncated value") }
            return offset + 8
        case .string, .bytes:
            return try stringRange(at: &offset).upperBound
        case .array:
            let count = try count(at: &offset)
            for _ in 0..<count { offset = try skip(at: offset, depth: depth + 1) }
            return offset
        case .map:
            let count = try count(at: &offset)
            for _ in 0..<count {
                offset = try stringRange(at: &offset).upperBound
                offset = try skip(at: offset, depth: depth + 1)
            }
            return offset
        }
    }

    /// Whether the key bytes in `range` spell `key`.
    func key(in range: Range<Int>, is key: String) -> Bool {
        var key = key
        return key.withUTF8 { utf8 in
            guard utf8.count == range.count else { return false }
            for index in 0..<utf8.count where utf8[index] != bytes[range.lowerBound + index] { return false }
            return true
        }
    }
}

/// The coding path of a value, built on demand from its parents: only errors read it.
final class CodingPathLink {
    let parent: CodingPathLink?
    let key: any CodingKey

    init(parent: CodingPathLink?, key: any CodingKey) {
        self.parent = parent
        self.key = key
    }

    static func path(_ link: CodingPathLink?) -> [any CodingKey] {
        var path: [any CodingKey] = []
        var link = link
        while let current = link {
            path.append(current.key)
            link = current.parent
        }
        return path.reversed()
    }
}

/// The `Decoder` of the value at one offset.
struct StreamDecoder: Decoder {
    let input: BinaryInput
    let offset: Int
    /// The coding path: the parent's, then `key` (none for an array's items and the root).
    let parent: CodingPathLink?
    let key: (any CodingKey)?

    var codingPath: [any CodingKey] { CodingPathLink.path(link) }
    /// This value's place in the coding path, as its children's parent.
    var link: CodingPathLink? { key.map { CodingPathLink(parent: parent, key: $0) } ?? parent }
    var userInfo: [CodingUserInfoKey: Any] { input.userInfo }

    func mismatch(_ expected: String) -> DecodingError {
        let found = (try? input.tag(at: offset)).map { "\($0)" } ?? "nothing"
        return .typeMismatch(Any.self, .init(codingPath: codingPath, debugDescription: "expected \(expected), found \(found)"))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard try input.tag(at: offset) == .map else { throw mismatch("a map") }
        return KeyedDecodingContainer(try StreamKeyedContainer<Key>(decoder: self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard try input.tag(at: offset) == .array else { throw mismatch("an array") }
        return try StreamUnkeyedContainer(decoder: self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { StreamSingleContainer(decoder: self) }

    var isNull: Bool { (try? input.tag(at: offset)) == .null }

    /// The value here as a `T`: primitives read directly, a ``BinaryRepresentable`` from its own
    /// layout, everything else through `T(from:)`.
    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if let primitive = try decodePrimitive(type) { return primitive }
        if let representable = T.self as? any BinaryRepresentable.Type {
            guard try input.tag(at: offset) == .bytes else { throw mismatch("the bytes of a \(T.self)") }
            var position = offset + 1
            let range = try input.stringRange(at: &position)
            guard let value = try representable.init(binaryRepresentation: Array(input.bytes[range])) as? T else {
                throw WireError(.malformed, "not a \(T.self)")
            }
            return value
        }
        return try T(from: self)
    }

    /// Primitive types read directly from the bytes; `nil` for every other type.
    func decodePrimitive<T>(_ type: T.Type) throws -> T? {
        // Metatype comparisons, most frequent first (cheaper than casts of the metatype).
        if type == String.self {
            guard try input.tag(at: offset) == .string else { throw mismatch("a string") }
            var position = offset + 1
            return (try input.string(in: input.stringRange(at: &position)) as! T)
        }
        if type == UInt64.self { return (try integer(UInt64.self) as! T) }
        if type == Int64.self { return (try integer(Int64.self) as! T) }
        if type == Int.self { return (try integer(Int.self) as! T) }
        if type == Bool.self {
            switch try input.tag(at: offset) {
            case .trueValue: return (true as! T)
            case .falseValue: return (false as! T)
            default: throw mismatch("a boolean")
            }
        }
        if type == Double.self || type == Float.self {
            let double = try self.double()
            return type == Float.self ? (Float(double) as! T) : (double as! T)
        }
        if type == UInt.self { return (try integer(UInt.self) as! T) }
        if type == Int32.self { return (try integer(Int32.self) as! T) }
        if type == UInt32.self { return (try integer(UInt32.self) as! T) }
        if type == Int16.self { return (try integer(Int16.self) as! T) }
        if type == UInt16.self { return (try integer(UInt16.self) as! T) }
        if type == Int8.self { return (try integer(Int8.self) as! T) }
        if type == UInt8.self { return (try integer(UInt8.self) as! T) }
        return nil
    }

    private func integer<I: FixedWidthInteger>(_: I.Type) throws -> I {
        var position = offset + 1
        switch try input.tag(at: offset) {
        case .int:
            let raw = try input.varint(at: &position)
            if let result = I(exactly: Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)) { return result }
        case .uint:
            if let result = I(exactly: try input.varint(at: &position)) { return result }
        default: break
        }
        throw mismatch("an integer that fits \(I.self)")
    }

    private func double() throws -> Double {
        var position = offset + 1
        switch try input.tag(at: offset) {
        case .double:
            guard input.bytes.count - position >= 8 else { throw WireError(.malformed, "truncated value") }
            let bits = (0..<8).reduce(UInt64(0)) { $0 | UInt64(input.bytes[position + $1]) << (8 * UInt64($1)) }
            return Double(bitPattern: bits)
        case .int:
            let raw = try input.varint(at: &position)
            return Double(Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1))
        case .uint: return Double(try input.varint(at: &position))
        default: throw mismatch("a number")
        }
    }
}

/// A map's keys located once; lookups start after the last key found, so keys asked for in the
/// order they were written (as synthesized `Decodable` code does) are found at the first try.
private final class MapEntries {
    struct Entry {
        let key: Range<Int>
        let value: Int
    }

    let entries: [Entry]
    var next = 0

    init(input: BinaryInput, offset: Int) throws(WireError) {
        var position = offset + 1
        let count = try input.count(at: &position)
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        for _ in 0..<count {
            let key = try input.stringRange(at: &position)
            entries.append(Entry(key: key, value: position))
            position = try input.skip(at: position, depth: 0)
        }
        self.entries = entries
    }

    func value(for key: String, in input: BinaryInput) -> Int? {
        for step in 0..<entries.count {
            let index = (next + step) % entries.count
            if input.key(in: entries[index].key, is: key) {
                next = index + 1
                return entries[index].value
            }
        }
        return nil
    }
}

private struct StreamKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let input: BinaryInput
    let map: MapEntries
    let link: CodingPathLink?
    var codingPath: [any CodingKey] { CodingPathLink.path(link) }

    init(decoder: StreamDecoder) throws {
        self.input = decoder.input
        self.map = try MapEntries(input: decoder.input, offset: decoder.offset)
        self.link = decoder.link
    }

    var allKeys: [Key] { map.entries.compactMap { (try? input.string(in: $0.key)).flatMap(Key.init(stringValue:)) } }

    func contains(_ key: Key) -> Bool { map.value(for: key.stringValue, in: input) != nil }

    private func child(_ key: some CodingKey) throws -> StreamDecoder {
        guard let offset = map.value(for: key.stringValue, in: input) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no value for \(key.stringValue)"))
        }
        return StreamDecoder(input: input, offset: offset, parent: link, key: key)
    }

    func decodeNil(forKey key: Key) throws -> Bool { try child(key).isNull }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).decodeValue(type) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try child(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try child(key).unkeyedContainer() }

    func superDecoder() throws -> any Decoder { try child(SuperKey()) }

    func superDecoder(forKey key: Key) throws -> any Decoder { try child(key) }
}

private struct StreamUnkeyedContainer: UnkeyedDecodingContainer {
    let input: BinaryInput
    let link: CodingPathLink?
    let count: Int?
    var currentIndex = 0
    /// Where the item at `currentIndex` starts.
    private var position: Int

    init(decoder: StreamDecoder) throws {
        self.input = decoder.input
        self.link = decoder.link
        var position = decoder.offset + 1
        self.count = try decoder.input.count(at: &position)
        self.position = position
    }

    var codingPath: [any CodingKey] { CodingPathLink.path(link) }
    var isAtEnd: Bool { currentIndex >= count! }

    private mutating func next() throws -> StreamDecoder {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(Any.self, .init(codingPath: codingPath, debugDescription: "array ended"))
        }
        let item = StreamDecoder(input: input, offset: position, parent: link, key: nil)
        position = try input.skip(at: position, depth: 0)
        currentIndex += 1
        return item
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, (try? input.tag(at: position)) == .null else { return false }
        _ = try next()
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decodeValue(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }

    mutating func superDecoder() throws -> any Decoder { try next() }
}

private struct StreamSingleContainer: SingleValueDecodingContainer {
    let decoder: StreamDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool { decoder.isNull }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decodeValue(type) }
}
