/// Decodes `Decodable` values from Chorus's binary encoding (see ``BinaryValue``).
///
/// Malformed bytes and values of the wrong shape throw (a ``WireError`` or a `DecodingError`);
/// nothing a peer sends can crash the decoder.
public struct BinaryDecoder {
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    public init() {}

    /// Decodes a `T` from `bytes`, which must hold exactly one value (in `T`'s own layout if it
    /// is ``BinaryRepresentable``).
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        if let representable = T.self as? any BinaryRepresentable.Type {
            guard let value = try representable.init(binaryRepresentation: bytes) as? T else { throw WireError(.malformed, "not a \(T.self)") }
            return value
        }
        var reader = ByteReader(bytes)
        let value = try BinaryValue.read(from: &reader)
        guard reader.isAtEnd else { throw WireError(.malformed, "trailing bytes after the value") }
        return try decode(type, from: value)
    }

    /// Decodes a `T` from a value tree.
    public func decode<T: Decodable>(_ type: T.Type, from value: BinaryValue) throws -> T {
        try TreeDecoder(value: value, codingPath: [], userInfo: userInfo).decodeValue(type)
    }
}

private struct TreeDecoder: Decoder {
    let value: BinaryValue
    let codingPath: [any CodingKey]
    let userInfo: [CodingUserInfoKey: Any]

    init(value: BinaryValue, codingPath: [any CodingKey], userInfo: [CodingUserInfoKey: Any]) {
        self.value = value
        self.codingPath = codingPath
        self.userInfo = userInfo
    }

    func mismatch(_ expected: String) -> DecodingError {
        .typeMismatch(Any.self, .init(codingPath: codingPath, debugDescription: "expected \(expected), found \(value)"))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .map(let pairs) = value else { throw mismatch("a map") }
        return KeyedDecodingContainer(KeyedContainer<Key>(pairs: pairs, codingPath: codingPath, userInfo: userInfo))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let values) = value else { throw mismatch("an array") }
        return UnkeyedContainer(values: values, codingPath: codingPath, userInfo: userInfo)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleContainer(decoder: self) }

    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if let primitive = try decodePrimitive(type) { return primitive }
        return try T(from: self)
    }

    /// Primitive types read directly from the tree; `nil` for every other type.
    func decodePrimitive<T>(_ type: T.Type) throws -> T? {
        func integer<I: FixedWidthInteger>(_: I.Type) throws -> I {
            switch value {
            case .int(let raw): if let result = I(exactly: raw) { return result }
            case .uint(let raw): if let result = I(exactly: raw) { return result }
            default: break
            }
            throw mismatch("an integer that fits \(I.self)")
        }
        // Metatype comparisons, most frequent first (cheaper than casts of the metatype).
        if type == String.self {
            guard case .string(let string) = value else { throw mismatch("a string") }
            return (string as! T)
        }
        if type == UInt64.self { return (try integer(UInt64.self) as! T) }
        if type == Int64.self { return (try integer(Int64.self) as! T) }
        if type == Int.self { return (try integer(Int.self) as! T) }
        if type == Bool.self {
            guard case .bool(let bool) = value else { throw mismatch("a boolean") }
            return (bool as! T)
        }
        if type == Double.self || type == Float.self {
            let double: Double
            switch value {
            case .double(let raw): double = raw
            case .int(let raw): double = Double(raw)
            case .uint(let raw): double = Double(raw)
            default: throw mismatch("a number")
            }
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

    private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let pairs: [(String, BinaryValue)]
        let codingPath: [any CodingKey]
        let userInfo: [CodingUserInfoKey: Any]

        var allKeys: [Key] { pairs.compactMap { Key(stringValue: $0.0) } }

        private func value(_ key: Key) -> BinaryValue? {
            let name = key.stringValue
            return pairs.first { $0.0 == name }?.1
        }

        func contains(_ key: Key) -> Bool { value(key) != nil }

        private func child(_ key: Key) throws -> TreeDecoder {
            guard let value = value(key) else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no value for \(key.stringValue)"))
            }
            return TreeDecoder(value: value, codingPath: codingPath + [key], userInfo: userInfo)
        }

        func decodeNil(forKey key: Key) throws -> Bool { value(key) == .null }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try child(key).decodeValue(type) }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            try child(key).container(keyedBy: type)
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try child(key).unkeyedContainer() }

        func superDecoder() throws -> any Decoder { try child(Key(stringValue: "super")!) }

        func superDecoder(forKey key: Key) throws -> any Decoder { try child(key) }
    }

    private struct UnkeyedContainer: UnkeyedDecodingContainer {
        let values: [BinaryValue]
        let codingPath: [any CodingKey]
        let userInfo: [CodingUserInfoKey: Any]
        var currentIndex = 0

        init(values: [BinaryValue], codingPath: [any CodingKey], userInfo: [CodingUserInfoKey: Any]) {
            self.values = values
            self.codingPath = codingPath
            self.userInfo = userInfo
        }

        var count: Int? { values.count }
        var isAtEnd: Bool { currentIndex >= values.count }

        private mutating func next() throws -> TreeDecoder {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(Any.self, .init(codingPath: codingPath, debugDescription: "array ended"))
            }
            defer { currentIndex += 1 }
            return TreeDecoder(value: values[currentIndex], codingPath: codingPath, userInfo: userInfo)
        }

        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd, values[currentIndex] == .null else { return false }
            currentIndex += 1
            return true
        }

        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().decodeValue(type) }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
            try next().container(keyedBy: type)
        }

        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer { try next().unkeyedContainer() }

        mutating func superDecoder() throws -> any Decoder { try next() }
    }

    private struct SingleContainer: SingleValueDecodingContainer {
        let decoder: TreeDecoder
        var codingPath: [any CodingKey] { decoder.codingPath }

        func decodeNil() -> Bool { decoder.value == .null }

        func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoder.decodeValue(type) }
    }
}
