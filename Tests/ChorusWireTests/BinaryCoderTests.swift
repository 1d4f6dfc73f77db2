import ChorusModel
import ChorusWire
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
