/// Writes a value's binary encoding straight into bytes, without building a ``BinaryValue`` tree.
///
/// Every map and array starts with its count, which is not known until the container is done,
/// and `Encodable` never says when that is. So each container reserves one byte for its count
/// and stays *open* until a container further out is written to again (or the value ends);
/// then its count is filled in (the rare count over 127 makes room for its longer varint by
/// moving the container's bytes). That covers how `Encodable` code uses containers in practice:
/// one at a time, innermost first. Code that goes back to a container after one further out was
/// written to, or asks for a super encoder, is noticed (`needsTree`), and ``BinaryEncoder`` then
/// encodes that value with the tree encoder instead. The bytes are the same either way.
final class BinaryStreamWriter {
    let userInfo: [CodingUserInfoKey: Any]
    private(set) var bytes: [UInt8] = []
    /// Set when the value used containers in an order this writer cannot stream.
    private(set) var needsTree = false
    private var open: [OpenContainer] = []
    private var nextID = 0

    private struct OpenContainer {
        let id: Int
        let countOffset: Int
        var count: Int
    }

    init(userInfo: [CodingUserInfoKey: Any] = [:]) {
        self.userInfo = userInfo
        bytes.reserveCapacity(256)
    }

    /// The finished bytes: every open container's count filled in.
    func finish() -> [UInt8] {
        close(downTo: 0)
        return bytes
    }

    /// Writes `value` at the current position (an element, a map value or the whole value).
    func write<T: Encodable>(_ value: T, parent: StreamEncoder?, key: (any CodingKey)?) throws {
        if let primitive = BinaryValue(primitive: value) {
            primitive.write(to: &bytes)
            return
        }
        if let representable = value as? any BinaryRepresentable {
            bytes.append(BinaryValue.Tag.bytes.rawValue)
            Varint.writeBytes(representable.binaryRepresentation, to: &bytes)
            return
        }
        let start = bytes.count
        try value.encode(to: StreamEncoder(writer: self, parent: parent, key: key))
        // A value that wrote nothing is null, as in the tree.
        if bytes.count == start { bytes.append(BinaryValue.Tag.null.rawValue) }
    }

    func writeNull() { bytes.append(BinaryValue.Tag.null.rawValue) }

    func writeKey(_ key: some CodingKey) { Varint.writeString(key.stringValue, to: &bytes) }

    /// Starts a map or an array here; the returned id names it in ``enter(_:)``.
    func openContainer(_ tag: BinaryValue.Tag) -> Int {
        bytes.append(tag.rawValue)
        nextID += 1
        open.append(OpenContainer(id: nextID, countOffset: bytes.count, count: 0))
        bytes.append(0)
        return nextID
    }

    /// Makes container `id` the innermost open one (closing those inside it) and counts one more
    /// item in it. False if it is closed already: the value then needs the tree encoder.
    @discardableResult
    func enter(_ id: Int) -> Bool {
        guard let index = open.lastIndex(where: { $0.id == id }) else {
            needsTree = true
            return false
        }
        close(downTo: index + 1)
        open[index].count += 1
        return true
    }

    /// The number of items in container `id` so far (0 once it is closed).
    func count(of id: Int) -> Int { open.last { $0.id == id }?.count ?? 0 }

    /// Marks the value as one for the tree encoder.
    func giveUp() { needsTree = true }

    private func close(downTo depth: Int) {
        while open.count > depth {
            let container = open.removeLast()
            if container.count < 0x80 {
                bytes[container.countOffset] = UInt8(container.count)
            } else {
                var varint: [UInt8] = []
                Varint.write(UInt64(container.count), to: &varint)
                bytes[container.countOffset] = varint[0]
                bytes.insert(contentsOf: varint[1...], at: container.countOffset + 1)
            }
        }
    }
}

/// The `Encoder` of one value being written by a ``BinaryStreamWriter``.
final class StreamEncoder: Encoder {
    let writer: BinaryStreamWriter
    let parent: StreamEncoder?
    let key: (any CodingKey)?
    /// The map or array this value opened, if any (asking twice gives the same one).
    private var container: (id: Int, isMap: Bool)?
    private var wroteSingleValue = false

    init(writer: BinaryStreamWriter, parent: StreamEncoder?, key: (any CodingKey)?) {
        self.writer = writer
        self.parent = parent
        self.key = key
    }

    /// Built on demand: only errors read it.
    var codingPath: [any CodingKey] {
        var path: [any CodingKey] = []
        var encoder: StreamEncoder? = self
        while let current = encoder {
            if let key = current.key { path.append(key) }
            encoder = current.parent
        }
        return path.reversed()
    }

    var userInfo: [CodingUserInfoKey: Any] { writer.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(StreamKeyedContainer<Key>(encoder: self, id: containerID(isMap: true)))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        StreamUnkeyedContainer(encoder: self, id: containerID(isMap: false))
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { StreamSingleContainer(encoder: self) }

    private func containerID(isMap: Bool) -> Int {
        if let container {
            if container.isMap != isMap || wroteSingleValue { writer.giveUp() }
            return container.id
        }
        if wroteSingleValue { writer.giveUp() }
        let id = writer.openContainer(isMap ? .map : .array)
        container = (id, isMap)
        return id
    }

    /// The one value of a single-value container; a second one (or one after a container) needs the tree.
    fileprivate func writeSingle(_ body: () throws -> Void) rethrows {
        if wroteSingleValue || container != nil {
            writer.giveUp()
            return
        }
        wroteSingleValue = true
        try body()
    }
}

private struct StreamKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: StreamEncoder
    let id: Int
    var codingPath: [any CodingKey] { encoder.codingPath }
    private var writer: BinaryStreamWriter { encoder.writer }

    init(encoder: StreamEncoder, id: Int) {
        self.encoder = encoder
        self.id = id
    }

    mutating func encodeNil(forKey key: Key) throws {
        guard writer.enter(id) else { return }
        writer.writeKey(key)
        writer.writeNull()
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        guard writer.enter(id) else { return }
        writer.writeKey(key)
        try writer.write(value, parent: encoder, key: key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        writer.enter(id)
        writer.writeKey(key)
        return StreamEncoder(writer: writer, parent: encoder, key: key).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        writer.enter(id)
        writer.writeKey(key)
        return StreamEncoder(writer: writer, parent: encoder, key: key).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { detachedEncoder(key: SuperKey()) }

    mutating func superEncoder(forKey key: Key) -> any Encoder { detachedEncoder(key: key) }

    /// A super encoder's value would be written whenever the caller gets to it: left to the tree encoder.
    private func detachedEncoder(key: any CodingKey) -> any Encoder {
        writer.giveUp()
        return StreamEncoder(writer: BinaryStreamWriter(), parent: encoder, key: key)
    }
}

private struct StreamUnkeyedContainer: UnkeyedEncodingContainer {
    let encoder: StreamEncoder
    let id: Int
    var codingPath: [any CodingKey] { encoder.codingPath }
    var count: Int { writer.count(of: id) }
    private var writer: BinaryStreamWriter { encoder.writer }

    mutating func encodeNil() throws {
        guard writer.enter(id) else { return }
        writer.writeNull()
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        guard writer.enter(id) else { return }
        try writer.write(value, parent: encoder, key: nil)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        writer.enter(id)
        return StreamEncoder(writer: writer, parent: encoder, key: nil).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        writer.enter(id)
        return StreamEncoder(writer: writer, parent: encoder, key: nil).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        writer.giveUp()
        return StreamEncoder(writer: BinaryStreamWriter(), parent: encoder, key: nil)
    }
}

private struct StreamSingleContainer: SingleValueEncodingContainer {
    let encoder: StreamEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    mutating func encodeNil() throws {
        encoder.writeSingle { encoder.writer.writeNull() }
    }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try encoder.writeSingle { try encoder.writer.write(value, parent: encoder.parent, key: encoder.key) }
    }
}
