/// Encodes `Encodable` values into Chorus's binary encoding (see ``BinaryValue``).
///
/// Used for the arguments and results of remote calls. `userInfo` is passed to the values (for
/// example the actor system, so actor references encode by id).
public struct BinaryEncoder {
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    public init() {}

    /// The bytes of `value` (its own layout if it is ``BinaryRepresentable``).
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        // The type is asked, not the value: a value cast would see through an `Optional` and
        // write the bare layout, which the decoder of an optional (tagged) cannot read.
        if let type = T.self as? any BinaryRepresentable.Type { return type.binaryRepresentation(of: value) }
        let writer = BinaryStreamWriter(userInfo: userInfo)
        try writer.write(value, parent: nil, key: nil)
        let bytes = writer.finish()
        if !writer.needsTree { return bytes }
        var treeBytes: [UInt8] = []
        try encodeValue(value).write(to: &treeBytes)
        return treeBytes
    }

    /// The value tree of `value`: the reference encoding, and the one used for values whose
    /// `encode(to:)` uses its containers in an order ``BinaryStreamWriter`` cannot stream.
    public func encodeValue<T: Encodable>(_ value: T) throws -> BinaryValue {
        let encoder = TreeEncoder(codingPath: [], userInfo: userInfo)
        try value.encode(to: encoder)
        return encoder.root?.value ?? .null
    }
}

/// A value under construction: a class so nested containers can fill it in place.
final class Node {
    enum Kind { case value, array, map }
    let kind: Kind
    var scalar: BinaryValue = .null
    var items: [Node] = []
    var pairs: [(String, Node)] = []

    init(_ kind: Kind) { self.kind = kind }
    init(value: BinaryValue) {
        self.kind = .value
        self.scalar = value
    }

    var value: BinaryValue {
        switch kind {
        case .value: scalar
        case .array: .array(items.map(\.value))
        case .map: .map(pairs.map { ($0.0, $0.1.value) })
        }
    }
}

private final class TreeEncoder: Encoder {
    let codingPath: [any CodingKey]
    let userInfo: [CodingUserInfoKey: Any]
    var root: Node?

    init(codingPath: [any CodingKey], userInfo: [CodingUserInfoKey: any Sendable]) {
        self.codingPath = codingPath
        self.userInfo = userInfo
    }

    init(codingPath: [any CodingKey], userInfo: [CodingUserInfoKey: Any], root: Node?) {
        self.codingPath = codingPath
        self.userInfo = userInfo
        self.root = root
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if root == nil { root = Node(.map) }
        return KeyedEncodingContainer(KeyedContainer<Key>(node: root!, codingPath: codingPath, userInfo: userInfo))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if root == nil { root = Node(.array) }
        return UnkeyedContainer(node: root!, codingPath: codingPath, userInfo: userInfo)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleContainer(encoder: self)
    }

    /// Encodes `value` as a child node.
    static func node<T: Encodable>(for value: T, codingPath: [any CodingKey], userInfo: [CodingUserInfoKey: Any]) throws -> Node {
        if let primitive = BinaryValue(primitive: value) { return Node(value: primitive) }
        if let representable = value as? any BinaryRepresentable { return Node(value: .bytes(representable.binaryRepresentation)) }
        let encoder = TreeEncoder(codingPath: codingPath, userInfo: userInfo, root: nil)
        try value.encode(to: encoder)
        return encoder.root ?? Node(value: .null)
    }

    private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let node: Node
        let codingPath: [any CodingKey]
        let userInfo: [CodingUserInfoKey: Any]

        private func append(_ key: Key, _ child: Node) {
            node.pairs.append((key.stringValue, child))
        }

        mutating func encodeNil(forKey key: Key) throws { append(key, Node(value: .null)) }

        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            append(key, try TreeEncoder.node(for: value, codingPath: codingPath + [key], userInfo: userInfo))
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            let child = Node(.map)
            append(key, child)
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child, codingPath: codingPath + [key], userInfo: userInfo))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            let child = Node(.array)
            append(key, child)
            return UnkeyedContainer(node: child, codingPath: codingPath + [key], userInfo: userInfo)
        }

        mutating func superEncoder() -> any Encoder { superEncoder(key: SuperKey()) }

        mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(key: key) }

        private func superEncoder(key: any CodingKey) -> any Encoder {
            let child = Node(.map)
            node.pairs.append((key.stringValue, child))
            return TreeEncoder(codingPath: codingPath + [key], userInfo: userInfo, root: child)
        }
    }

    private struct UnkeyedContainer: UnkeyedEncodingContainer {
        let node: Node
        let codingPath: [any CodingKey]
        let userInfo: [CodingUserInfoKey: Any]

        var count: Int { node.items.count }

        private func append(_ child: Node) {
            node.items.append(child)
        }

        mutating func encodeNil() throws { append(Node(value: .null)) }

        mutating func encode<T: Encodable>(_ value: T) throws {
            append(try TreeEncoder.node(for: value, codingPath: codingPath, userInfo: userInfo))
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            let child = Node(.map)
            append(child)
            return KeyedEncodingContainer(KeyedContainer<NestedKey>(node: child, codingPath: codingPath, userInfo: userInfo))
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let child = Node(.array)
            append(child)
            return UnkeyedContainer(node: child, codingPath: codingPath, userInfo: userInfo)
        }

        mutating func superEncoder() -> any Encoder {
            let child = Node(.map)
            append(child)
            return TreeEncoder(codingPath: codingPath, userInfo: userInfo, root: child)
        }
    }

    private struct SingleContainer: SingleValueEncodingContainer {
        let encoder: TreeEncoder
        var codingPath: [any CodingKey] { encoder.codingPath }

        mutating func encodeNil() throws { encoder.root = Node(value: .null) }

        mutating func encode<T: Encodable>(_ value: T) throws {
            encoder.root = try TreeEncoder.node(for: value, codingPath: codingPath, userInfo: encoder.userInfo)
        }
    }
}

/// The key of `superEncoder()` and `superDecoder()`: "super", whatever keys the type declares.
struct SuperKey: CodingKey {
    var stringValue: String { "super" }
    var intValue: Int? { nil }
    init() {}
    init?(stringValue: String) { nil }
    init?(intValue: Int) { nil }
}

/// A value with its own compact layout, written and read by hand: the binary coder uses it
/// instead of `Codable` (a remote call's argument or result of such a type costs a microsecond
/// or two instead of tens). At the top level of ``BinaryEncoder/encode(_:)`` and
/// ``BinaryDecoder/decode(_:from:)`` the bytes are the layout itself; nested in another value
/// they are a byte string (``BinaryValue/bytes(_:)``). Nodes must agree on which types conform
/// (part of ``Wire/protocolVersion``).
public protocol BinaryRepresentable {
    var binaryRepresentation: [UInt8] { get }
    /// Throws on bytes that are not exactly one value.
    init(binaryRepresentation: [UInt8]) throws
}

extension BinaryRepresentable {
    /// The layout of `value`, whose type is `Self`: one cast to the concrete type, where a cast
    /// of `value` to `any BinaryRepresentable` would look the conformance up again.
    static func binaryRepresentation<T>(of value: T) -> [UInt8] { (value as! Self).binaryRepresentation }
}
