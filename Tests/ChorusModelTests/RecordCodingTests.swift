import ChorusModel
import ChorusTestSupport
import struct ChorusWire.BinaryDecoder
import struct ChorusWire.BinaryEncoder
import Testing

/// Every record type survives the binary record format, and no input, however damaged, traps.
@Suite("Binary record format")
struct RecordCodingTests {
    static let alice = UserID("alice")!
    static let bob = UserID("bob.b@x-1")!
    static let at = Timestamp(milliseconds: 1_800_000_000_123)
    static let info = ChannelInfo(id: ChannelID(rawValue: 385_861_663_686_918_144), kind: .group, name: "Project Team ✨", ownerID: alice, createdAt: at)
    static let dm = ChannelInfo(id: ChannelID(rawValue: 7), kind: .dm, name: "", ownerID: nil, createdAt: Timestamp(milliseconds: -5))
    static let emote = AssetID("999888777")!
    static let draft = MessageDraft(
        body: "Hello :wave: everyone",
        attachments: [Attachment(assetID: AssetID("asset-1")!, filename: "plan.pdf", contentType: "application/pdf", sizeBytes: 1 << 40)],
        inlineEmotes: [InlineEmote(shortcode: "wave", assetID: emote, startIndex: 6, endIndex: 12)])
    static let message = MessageID(rawValue: UInt64.max)

    static let channelRecords: [ChannelRecord] = [
        .created(info: info, members: [Member(userID: alice, role: .owner, joinedAt: at), Member(userID: bob, role: .admin, joinedAt: at)]),
        .created(info: dm, members: []),
        .updated(name: "", by: alice, at: at),
        .memberAdded(Member(userID: bob, role: .member, joinedAt: at), by: alice),
        .memberRemoved(bob, by: bob, at: at),
        .messageSent(NewMessage(id: message, senderID: bob, senderName: "Bob \u{0}\n\"", draft: draft, at: at)),
        .messageSent(NewMessage(id: MessageID(rawValue: 0), senderID: alice, senderName: "", draft: MessageDraft(body: ""), at: at)),
        .messageSent(NewMessage(id: message, senderID: bob, senderName: "Bob", draft: draft, at: at, clientMessageID: "retry-1:a.b_C")),
        .messageEdited(message, body: "edited", inlineEmotes: [], at: at),
        .messageDeleted(message, by: alice, at: at),
        .reactionAdded(message, emote: emote, user: bob, at: at),
        .reactionRemoved(message, emote: emote, user: bob, at: at),
        .readCursorSet(user: alice, message: message, at: at),
        .hidden(user: alice, at: at),
        .shown(user: alice, at: Timestamp(milliseconds: .min)),
        .created(info: info, members: [], profile: profile),
        .profileSet(ChannelProfile(address: ChannelAddress(type: "team", id: "!members-00ff")!, createdBy: nil), by: alice, at: at),
        .truncated(through: message, hard: true, by: alice, at: at),
        .truncated(through: nil, hard: false, by: bob, at: at),
        .channelDeleted(hard: false, through: nil, by: alice, at: at),
        .channelDeleted(hard: true, through: message, by: bob, at: at),
        .historyCleared(user: bob, through: message, at: at),
        .roleChanged(bob, role: .admin, by: alice, at: at),
        .expired(through: message, at: at),
    ]

    /// Custom data with every kind of JSON value, nested.
    static let profile = ChannelProfile(
        address: ChannelAddress(type: "messaging", id: "general")!, createdBy: alice,
        custom: [
            "color": "red", "n": 42, "pi": 3.25, "neg": -0.0, "ok": true, "no": false, "none": nil,
            "tags": ["a", 1, ["nested": [nil, "é✨"]]], "": [:],
        ])

    static let userRecords: [UserRecord] = [
        .upserted(displayName: "Alice 🧑‍💻", at: at),
        .blockAdded(bob, at: at),
        .blockRemoved(bob, at: Timestamp(milliseconds: .max)),
        .membershipChanged(info.id, isMember: true, seq: 0),
        .membershipChanged(info.id, isMember: false, seq: .max),
        .directChannelOpened(dm, with: bob),
        .channelMuted(info.id, expires: Timestamp(milliseconds: 1_800_000_030_000), at: at),
        .channelMuted(dm.id, expires: nil, at: at),
        .channelUnmuted(info.id, at: at),
    ]

    func roundTrip<Value: RecordCodable & Equatable>(_ value: Value) throws -> [UInt8] {
        var writer = ByteWriter()
        value.write(to: &writer)
        var reader = ByteReader(writer.bytes)
        #expect(try Value(from: &reader) == value)
        #expect(reader.remaining == 0)
        return writer.bytes
    }

    @Test("every channel and user record round-trips, every case has its own tag")
    func everyCase() throws {
        var tags = Set<UInt8>()
        for record in Self.channelRecords { tags.insert(try roundTrip(record)[0]) }
        #expect(tags == Set(1...20))
        tags = []
        for record in Self.userRecords { tags.insert(try roundTrip(record)[0]) }
        #expect(tags == Set(1...7))
    }

    /// One event of every payload case (and of each notice).
    static let events: [ChannelEvent] = {
        let full = Message(
            id: message, channelID: info.id, seq: 41, senderID: bob, senderName: "Bob", body: "hi :wave:", attachments: draft.attachments,
            inlineEmotes: draft.inlineEmotes, createdAt: at, editedAt: at, deleted: false,
            reactions: [Reaction(emoteAssetID: emote, userIDs: [alice, bob])], clientMessageID: "c-1")
        let change = ChannelEvent.ReactionChange(messageID: message, emote: emote, userID: alice)
        let payloads: [ChannelEvent.Payload] = [
            .message(full),
            .messageUpdate(Message(id: MessageID(rawValue: 1), channelID: dm.id, seq: 0, senderID: alice, senderName: "", body: "", attachments: [], inlineEmotes: [], createdAt: at, deleted: true)),
            .messageDelete(message), .reactionAdd(change), .reactionRemove(change), .typing(alice), .typingStop(bob),
            .memberAdd(Member(userID: bob, role: .member, joinedAt: at)), .memberUpdate(Member(userID: bob, role: .admin, joinedAt: at)),
            .memberRemove(bob), .channelUpdate(info), .channelTruncate(dm), .channelDelete(info),
            .read(user: alice, cursor: ReadCursor(channelID: info.id, lastReadMessageID: message, updatedAt: at)),
            .watching(ChannelEvent.WatchChange(user: bob, connectionID: "conn-1", watching: true, presence: false, announce: true, watcherCount: 3)),
            .presence(user: bob, online: true), .notice(user: alice, .hidden(clearHistory: true)), .notice(user: alice, .hidden(clearHistory: false)),
            .notice(user: alice, .visible), .notice(user: alice, .muted), .notice(user: alice, .unmuted),
            .custom(user: alice, type: "game.move", fields: ["x": 3, "board": ["a", nil, true]]), .resync,
        ]
        return payloads.enumerated().map { index, payload in
            ChannelEvent(channelID: info.id, seq: index.isMultiple(of: 2) ? UInt64(index) : nil, createdAt: at, payload: payload)
        }
    }()

    @Test("channel events round-trip in their binary layout, through the remote-call coder too; every payload has its own tag; truncations throw")
    func channelEvents() throws {
        var tags = Set<UInt8>()
        for event in Self.events {
            let bytes = try roundTrip(event)
            // The tag follows the channel id, the optional seq and the time.
            var reader = ByteReader(bytes)
            _ = try reader.read(ChannelID.self)
            _ = try reader.readOptional { try $0.readVarint() }
            _ = try reader.read(Timestamp.self)
            tags.insert(try reader.readByte())
            for length in 0..<bytes.count {
                var truncated = ByteReader(Array(bytes[..<length]))
                #expect(throws: RecordDecodingError.self) { _ = try ChannelEvent(from: &truncated) }
            }
        }
        #expect(tags == Set(1...19))
        // What a remote `deliver` carries: the batch in this layout, and the same events back.
        let batch = ChannelEventBatch(Self.events)
        let carried = try BinaryEncoder().encode(batch)
        #expect(carried == batch.binaryRepresentation)
        #expect(try BinaryDecoder().decode(ChannelEventBatch.self, from: carried) == batch)
        #expect(try BinaryDecoder().decode(ChannelEventBatch.self, from: BinaryEncoder().encode(ChannelEventBatch([]))).events.isEmpty)
        #expect(throws: (any Error).self) { _ = try ChannelEventBatch(binaryRepresentation: carried + [0]) }
        #expect(throws: (any Error).self) { _ = try ChannelEventBatch(binaryRepresentation: Array(carried.dropLast())) }
    }

    @Test("a forwarded send's result and a user's profile round-trip in their layout, through the remote-call coder too; truncations throw")
    func sentMessagesAndProfiles() throws {
        let message = Message(
            id: Self.message, channelID: Self.info.id, seq: 12, senderID: Self.bob, senderName: "Bob \u{0}\n\"", body: "hi",
            attachments: Self.draft.attachments, inlineEmotes: Self.draft.inlineEmotes, createdAt: Self.at, editedAt: Self.at, deleted: false,
            reactions: [Reaction(emoteAssetID: Self.emote, userIDs: [Self.alice, Self.bob])], clientMessageID: "retry-1")
        for sent in [SentMessage(message: message, replayed: false), SentMessage(message: message, replayed: true)] {
            let bytes = try roundTrip(sent)
            #expect(try BinaryEncoder().encode(sent) == sent.binaryRepresentation)
            #expect(try BinaryDecoder().decode(SentMessage.self, from: bytes) == sent)
            for length in 0..<bytes.count {
                #expect(throws: (any Error).self) { _ = try SentMessage(binaryRepresentation: Array(bytes[..<length])) }
            }
        }
        for profile in [UserProfile(id: Self.alice, displayName: "Alice 🧑‍💻", createdAt: Self.at), UserProfile(id: Self.bob, displayName: "", createdAt: Timestamp(milliseconds: -1))] {
            let bytes = try roundTrip(profile)
            #expect(try BinaryDecoder().decode(UserProfile.self, from: BinaryEncoder().encode(profile)) == profile)
            #expect(throws: (any Error).self) { _ = try UserProfile(binaryRepresentation: bytes + [0]) }
        }
    }

    @Test("custom data encodes to the same bytes whatever the order of its keys")
    func customDataIsCanonical() throws {
        var forward = ByteWriter()
        JSONValue.object(["a": 1, "b": 2, "c": ["x": 1, "y": 2]]).write(to: &forward)
        var reversed = ByteWriter()
        JSONValue.object(Dictionary(uniqueKeysWithValues: [("c", JSONValue.object(["y": 2, "x": 1])), ("b", 2), ("a", 1)])).write(to: &reversed)
        #expect(forward.bytes == reversed.bytes)
    }

    @Test("varints and zigzag integers round-trip at their edges, and small values take one byte")
    func integers() throws {
        for value: UInt64 in [0, 1, 127, 128, 16383, 16384, UInt64(UInt32.max), UInt64.max - 1, .max] {
            var writer = ByteWriter()
            writer.writeVarint(value)
            var reader = ByteReader(writer.bytes)
            #expect(try reader.readVarint() == value)
            if value < 128 { #expect(writer.bytes.count == 1) }
        }
        for value: Int64 in [0, -1, 1, -64, 63, -65, .min, .max] {
            var writer = ByteWriter()
            writer.writeSigned(value)
            var reader = ByteReader(writer.bytes)
            #expect(try reader.readSigned() == value)
            if (-64...63).contains(value) { #expect(writer.bytes.count == 1) }
        }
        // An 11-byte varint, or a 10th byte above 1, is more than 64 bits.
        var tooLong = ByteReader(Array(repeating: 0xFF, count: 10) + [0x01])
        #expect(throws: RecordDecodingError.self) { try tooLong.readVarint() }
        var overflow = ByteReader(Array(repeating: 0xFF, count: 9) + [0x02])
        #expect(throws: RecordDecodingError.self) { try overflow.readVarint() }
    }

    @Test("every truncation of every record is an error, never a trap or a wrong value")
    func truncations() throws {
        for record in Self.channelRecords {
            let bytes = try roundTrip(record)
            for length in 0..<bytes.count {
                var reader = ByteReader(Array(bytes[..<length]))
                #expect(throws: RecordDecodingError.self) { _ = try ChannelRecord(from: &reader) }
            }
        }
        for record in Self.userRecords {
            let bytes = try roundTrip(record)
            for length in 0..<bytes.count {
                var reader = ByteReader(Array(bytes[..<length]))
                #expect(throws: RecordDecodingError.self) { _ = try UserRecord(from: &reader) }
            }
        }
    }

    @Test("random bytes decode to an error or a value, never a trap (seeded)")
    func garbage() {
        var generator = SeededRandom(seed: 0xC0FFEE)
        var decoded = 0
        for _ in 0..<20_000 {
            let count = Int(generator.next() % 48)
            let bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            var reader = ByteReader(bytes)
            if (try? ChannelRecord(from: &reader)) != nil { decoded += 1 }
            var userReader = ByteReader(bytes)
            _ = try? UserRecord(from: &userReader)
        }
        #expect(decoded < 20_000)
    }

    @Test("invalid ids, strings and tags are refused with the offset")
    func invalidContent() {
        // .memberRemoved with the user id "a b" (a space is not allowed in user ids).
        var badUser = ByteReader([4, 3] + Array("a b".utf8))
        #expect(throws: RecordDecodingError.self) { _ = try ChannelRecord(from: &badUser) }
        var badUTF8 = ByteReader([2, 2, 0xC3, 0x28])
        #expect(throws: RecordDecodingError.self) { _ = try ChannelRecord(from: &badUTF8) }
        var badTag = ByteReader([21])
        do {
            _ = try ChannelRecord(from: &badTag)
            Issue.record("tag 21 decoded")
        } catch let error as RecordDecodingError {
            #expect(error.offset == 1)
            #expect(error.message == "unknown channel record type")
        } catch {
            Issue.record("unexpected \(error)")
        }
        // A count larger than the bytes left is refused before anything is allocated.
        var hugeCount = ByteReader([1, 7, 1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
        #expect(throws: RecordDecodingError.self) { _ = try ChannelRecord(from: &hugeCount) }
    }
}
