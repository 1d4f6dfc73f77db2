import ChorusModel
import ChorusWire
import Distributed
import Foundation
import Testing

@Suite("Binary coding")
struct BinaryCoderTests {
    let channel = ChannelID(rawValue: 1_843_000_000_000_001)
    let t0 = Timestamp.seconds(1_800_000_000)

    var message: Message {
        var message = Message(
            id: MessageID(rawValue: 1_843_000_000_000_042), channelID: channel, seq: 7, senderID: UserID("alice")!, senderName: "Alice ✨",
            body: "hello \"world\"\n", attachments: [Attachment(assetID: AssetID("a1")!, filename: "cat.png", contentType: "image/png", sizeBytes: 123)],
            inlineEmotes: [], createdAt: t0)
        message.reactions = [Reaction(emoteAssetID: AssetID("wave")!, userIDs: [UserID("bob")!])]
        message.editedAt = t0.advanced(by: .seconds(5))
        return message
    }

    func roundTrip<T: Codable & Equatable>(_ value: T) throws -> T {
        let bytes = try BinaryEncoder().encode(value)
        return try BinaryDecoder().decode(T.self, from: bytes)
    }

    @Test("model values survive a round trip: records, events, messages, optionals, nested enums")
    func roundTrips() throws {
        let records: [ChannelRecord] = [
            .created(info: ChannelInfo(id: channel, kind: .room, name: "Lobby", ownerID: nil, createdAt: t0), members: []),
            .memberAdded(Member(userID: UserID("bob")!, role: .admin, joinedAt: t0), by: UserID("alice")!),
            .messageSent(NewMessage(id: message.id, senderID: message.senderID, senderName: "A", draft: MessageDraft(body: "x"), at: t0)),
            .reactionRemoved(message.id, emote: AssetID("wave")!, user: UserID("bob")!, at: t0),
            .hidden(user: UserID("carol")!, at: t0),
        ]
        #expect(try roundTrip(records) == records)
        let events = [
            ChannelEvent(channelID: channel, seq: 7, createdAt: t0, payload: .message(message)),
            ChannelEvent(channelID: channel, seq: nil, createdAt: t0, payload: .typing(UserID("bob")!)),
            ChannelEvent(channelID: channel, seq: 9, createdAt: t0, payload: .read(user: UserID("bob")!, cursor: ReadCursor(channelID: channel, lastReadMessageID: message.id, updatedAt: t0))),
        ]
        #expect(try roundTrip(events) == events)
        #expect(try roundTrip([Int64.min, -1, 0, Int64.max]) == [Int64.min, -1, 0, Int64.max])
        #expect(try roundTrip([UInt64.max, 0]) == [UInt64.max, 0])
        #expect(try roundTrip(["a": 1.5, "b": -0.0]) == ["a": 1.5, "b": -0.0])
        #expect(try roundTrip([Optional<String>.none, "x"]) == [nil, "x"])
        #expect(try roundTrip(ChatError(.notMember, "nope")) == ChatError(.notMember, "nope"))
    }

    @Test("smaller than JSON for a message event")
    func compact() throws {
        let event = ChannelEvent(channelID: channel, seq: 7, createdAt: t0, payload: .message(message))
        let binary = try BinaryEncoder().encode(event).count
        let json = try JSONEncoder().encode(event).count
        #expect(binary < json)
    }

    @Test("truncated or corrupted bytes throw, never crash")
    func malformedInput() throws {
        let bytes = try BinaryEncoder().encode(ChannelEvent(channelID: channel, seq: 7, createdAt: t0, payload: .message(message)))
        for length in 0..<bytes.count {
            #expect(throws: (any Error).self) { try BinaryDecoder().decode(ChannelEvent.self, from: Array(bytes.prefix(length))) }
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            var corrupted = bytes
            for _ in 0..<3 { corrupted[Int.random(in: 0..<corrupted.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
            _ = try? BinaryDecoder().decode(ChannelEvent.self, from: corrupted)  // any outcome but a crash
        }
        // A forged huge count does not allocate: it is checked against the bytes left.
        #expect(throws: WireError.self) { try BinaryDecoder().decode([String].self, from: [7, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]) }
        // Deep nesting is refused.
        #expect(throws: WireError.self) { try BinaryDecoder().decode([String].self, from: [UInt8](repeating: 7, count: 300).flatMap { [$0, 1] }) }
        #expect(throws: (any Error).self) { try BinaryDecoder().decode(Int8.self, from: try BinaryEncoder().encode(300)) }
    }
}

/// The streaming encoder against the tree encoder (the reference), and the in-place decoder on
/// shapes synthesized `Codable` code does not produce.
@Suite("Binary coding: streaming")
struct BinaryStreamingTests {
    /// The bytes the tree encoder writes for `value`.
    func treeBytes<T: Encodable>(_ value: T) throws -> [UInt8] {
        var bytes: [UInt8] = []
        try BinaryEncoder().encodeValue(value).write(to: &bytes)
        return bytes
    }

    @Test("the streaming encoder writes the tree encoder's bytes, counts over 127 included")
    func sameBytesAsTheTree() throws {
        let channel = ChannelID(rawValue: 1_843_000_000_000_001)
        let t0 = Timestamp.seconds(1_800_000_000)
        let message = Message(
            id: MessageID(rawValue: 42), channelID: channel, seq: 7, senderID: UserID("alice")!, senderName: "Alice",
            body: "hi", attachments: [], inlineEmotes: [], createdAt: t0)
        let event = ChannelEvent(channelID: channel, seq: 7, createdAt: t0, payload: .message(message))
        let info = ChannelInfo(id: channel, kind: .room, name: "Lobby", ownerID: UserID("alice")!, createdAt: t0)
        #expect(try BinaryEncoder().encode(info) == treeBytes(info))
        let members = [Member(userID: UserID("bob")!, role: .admin, joinedAt: t0), Member(userID: UserID("carol")!, role: .member, joinedAt: t0)]
        #expect(try BinaryEncoder().encode(members) == treeBytes(members))
        #expect(try BinaryEncoder().encode([event, event]) == treeBytes([event, event]))
        // Counts of 128 and 20,000 take two and three bytes: the container's bytes move.
        let wide = Dictionary(uniqueKeysWithValues: (0..<200).map { ("key\($0)", [Int](0..<($0 % 3 == 0 ? 130 : 2))) })
        #expect(try BinaryEncoder().encode(wide) == treeBytes(wide))
        let nested = [[Int](0..<128), [], [Int](0..<20_000), [1]]
        #expect(try BinaryEncoder().encode(nested) == treeBytes(nested))
        #expect(try BinaryDecoder().decode([[Int]].self, from: BinaryEncoder().encode(nested)) == nested)
        #expect(try BinaryDecoder().decode([String: [Int]].self, from: BinaryEncoder().encode(wide)) == wide)
        for scalar in [Optional<Double>.none, 1.5, -0.0] {
            #expect(try BinaryEncoder().encode(scalar) == treeBytes(scalar))
        }
        #expect(try BinaryEncoder().encode(Nothing()) == [0])
    }

    @Test("a value with its own layout is that layout at the top level and a byte string of it inside another value")
    func ownLayout() throws {
        let t0 = Timestamp.seconds(1_800_000_000)
        let message = Message(
            id: MessageID(rawValue: 42), channelID: ChannelID(rawValue: 1_843_000_000_000_001), seq: 7, senderID: UserID("alice")!,
            senderName: "Alice", body: "hi", attachments: [], inlineEmotes: [], createdAt: t0)
        #expect(try BinaryEncoder().encode(message) == message.binaryRepresentation)
        let nested = try BinaryEncoder().encode(["m": message])
        var expected: [UInt8] = [8, 1]  // a map of one pair
        Varint.writeString("m", to: &expected)
        expected.append(9)  // bytes
        Varint.writeBytes(message.binaryRepresentation, to: &expected)
        #expect(nested == expected)
        #expect(try BinaryDecoder().decode([String: Message].self, from: nested) == ["m": message])
        // A byte string where another type is expected, and a damaged layout inside, throw.
        #expect(throws: (any Error).self) { try BinaryDecoder().decode([String: String].self, from: nested) }
        var damaged = nested
        damaged[damaged.count - 1] ^= 0xFF
        #expect(throws: (any Error).self) { try BinaryDecoder().decode([String: Message].self, from: damaged) }
        // An optional one, at the top level and inside: tagged (the layout alone would not say nil).
        for value in [message, nil] as [Message?] {
            #expect(try BinaryDecoder().decode(Message?.self, from: BinaryEncoder().encode(value)) == value)
            #expect(try BinaryDecoder().decode([Message?].self, from: BinaryEncoder().encode([value, message])) == [value, message])
        }
    }

    @Test("containers used out of order, super encoders and two values in one container fall back to the tree")
    func outOfOrder() throws {
        for value in [Unusual(mode: .interleaved), Unusual(mode: .superEncoder), Unusual(mode: .twoSingles)] {
            let bytes = try BinaryEncoder().encode(value)
            #expect(bytes == (try treeBytes(value)), "\(value.mode)")
        }
        let decoded = try BinaryDecoder().decode(Interleaved.self, from: BinaryEncoder().encode(Unusual(mode: .interleaved)))
        #expect(decoded == Interleaved(inner: Interleaved.Inner(a: 1, b: 2), after: "x"))
    }

    @Test("keys in any order, extra keys, missing keys and wrong types")
    func keyedShapes() throws {
        // Written in reverse order, with a key the type does not know.
        let bytes = try BinaryEncoder().encode(["extra": "?", "body": "hi", "id": "7"])
        struct Two: Decodable, Equatable { let id: String; let body: String; let missing: String? }
        #expect(try BinaryDecoder().decode(Two.self, from: bytes) == Two(id: "7", body: "hi", missing: nil))
        struct Required: Decodable { let absent: String }
        #expect {
            try BinaryDecoder().decode(Required.self, from: bytes)
        } throws: { error in
            guard case DecodingError.keyNotFound(let key, _) = error else { return false }
            return key.stringValue == "absent"
        }
        struct Nested: Decodable { let outer: [String: Int] }
        let wrong = try BinaryEncoder().encode(["outer": ["n": "not a number"]])
        #expect {
            try BinaryDecoder().decode(Nested.self, from: wrong)
        } throws: { error in
            guard case DecodingError.typeMismatch(_, let context) = error else { return false }
            return context.codingPath.map(\.stringValue) == ["outer", "n"]
        }
    }

    @Test("userInfo reaches the values on both sides")
    func userInfo() throws {
        var encoder = BinaryEncoder()
        encoder.userInfo[Scaled.key] = 10
        var decoder = BinaryDecoder()
        decoder.userInfo[Scaled.key] = 10
        let bytes = try encoder.encode([Scaled(value: 3)])
        #expect(try BinaryDecoder().decode([Int].self, from: bytes) == [30])
        #expect(try decoder.decode([Scaled].self, from: bytes) == [Scaled(value: 3)])
    }

    @Test("the decoder's actor system resolves actor references, beside the rest of userInfo")
    func actorSystem() throws {
        let system = LocalTestingDistributedActorSystem()
        let greeter = Greeter(actorSystem: system)
        var encoder = BinaryEncoder()
        encoder.userInfo[Scaled.key] = 10
        let bytes = try encoder.encode(Pair(actor: greeter, scaled: Scaled(value: 3)))
        var decoder = BinaryDecoder()
        decoder.userInfo[Scaled.key] = 10
        decoder.actorSystem = system
        let pair = try decoder.decode(Pair.self, from: bytes)
        #expect(pair.actor === greeter && pair.scaled == Scaled(value: 3))
        decoder.actorSystem = nil
        #expect(throws: (any Error).self) { try decoder.decode(Pair.self, from: bytes) }
    }
}

private distributed actor Greeter {
    typealias ActorSystem = LocalTestingDistributedActorSystem
}

private struct Pair: Codable {
    let actor: Greeter
    let scaled: Scaled
}

private struct Nothing: Encodable {
    func encode(to encoder: any Encoder) throws {}
}

/// Multiplies by the coder's `Scaled.key` on the wire.
private struct Scaled: Codable, Equatable {
    static let key = CodingUserInfoKey(rawValue: "scale")!
    let value: Int

    init(value: Int) { self.value = value }

    init(from decoder: any Decoder) throws {
        value = try decoder.singleValueContainer().decode(Int.self) / (decoder.userInfo[Self.key] as! Int)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value * (encoder.userInfo[Self.key] as! Int))
    }
}

/// The shape `Unusual(mode: .interleaved)` writes.
private struct Interleaved: Decodable, Equatable {
    struct Inner: Decodable, Equatable { let a: Int; let b: Int }
    let inner: Inner
    let after: String
}

/// `Encodable` code that uses containers in ways the streaming encoder cannot follow.
private struct Unusual: Encodable {
    enum Mode { case interleaved, superEncoder, twoSingles }
    enum Keys: String, CodingKey { case inner, after, a, b }
    let mode: Mode

    func encode(to encoder: any Encoder) throws {
        switch mode {
        case .interleaved:
            var outer = encoder.container(keyedBy: Keys.self)
            var inner = outer.nestedContainer(keyedBy: Keys.self, forKey: .inner)
            try inner.encode(1, forKey: .a)
            try outer.encode("x", forKey: .after)
            try inner.encode(2, forKey: .b)  // back into a container after its parent moved on
        case .superEncoder:
            var outer = encoder.container(keyedBy: Keys.self)
            let superEncoder = outer.superEncoder()
            try outer.encode("x", forKey: .after)
            var single = superEncoder.singleValueContainer()
            try single.encode(5)
        case .twoSingles:
            var single = encoder.singleValueContainer()
            try single.encode(1)
            try single.encode(2)
        }
    }
}
