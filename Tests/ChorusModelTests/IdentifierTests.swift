import ChorusModel
import Foundation
import Testing

@Suite("Identifiers")
struct IdentifierTests {
    @Test("snowflake ids parse only canonical decimals", arguments: [
        ("0", UInt64?(0)), ("1843312267542528", 1_843_312_267_542_528), ("18446744073709551615", UInt64.max),
        ("18446744073709551616", nil), ("", nil), ("-1", nil), ("+1", nil), (" 1", nil), ("1e3", nil), ("0x10", nil),
    ])
    func parse(text: String, expected: UInt64?) {
        #expect(ChannelID(text)?.rawValue == expected)
        #expect(MessageID(text)?.rawValue == expected)
    }

    @Test("ids encode as decimal strings and decode from strings or integers")
    func idJSON() throws {
        let id = MessageID(rawValue: 1_843_312_267_542_528)
        #expect(String(decoding: try JSONEncoder().encode(id), as: UTF8.self) == #""1843312267542528""#)
        #expect(try JSONDecoder().decode(MessageID.self, from: Data(#""1843312267542528""#.utf8)) == id)
        #expect(try JSONDecoder().decode(MessageID.self, from: Data("1843312267542528".utf8)) == id)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(MessageID.self, from: Data(#""abc""#.utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(MessageID.self, from: Data("-5".utf8)) }
    }

    @Test("user ids: 1-64 characters from [A-Za-z0-9_.@-]")
    func userIDs() {
        for valid in ["a", "alice", "Alice_1.2@example-org", String(repeating: "x", count: 64)] {
            #expect(UserID(valid) != nil, "\(valid)")
        }
        for invalid in ["", String(repeating: "x", count: 65), "has space", "slash/", "émile", "a:b", "a\u{0}"] {
            #expect(UserID(invalid) == nil, "\(invalid)")
        }
    }

    @Test("asset ids are accepted as strings or integers and returned as strings")
    func assetIDs() throws {
        #expect(try JSONDecoder().decode(AssetID.self, from: Data("555666777".utf8)).rawValue == "555666777")
        #expect(try JSONDecoder().decode(AssetID.self, from: Data(#""emote-1""#.utf8)).rawValue == "emote-1")
        #expect(String(decoding: try JSONEncoder().encode(AssetID("42")!), as: UTF8.self) == #""42""#)
        for bad in ["-1", "1.5", "true", "null", #""""#, #""a/b""#, #""a?b""#, #""a b""#] {
            #expect(throws: DecodingError.self, "\(bad)") { try JSONDecoder().decode(AssetID.self, from: Data(bad.utf8)) }
        }
    }
}

@Suite("Snowflakes and time")
struct SnowflakeTests {
    @Test("ids strictly increase, embed the time, and survive clock steps back and sequence overflow")
    func monotonic() {
        var generator = SnowflakeGenerator(node: 5)
        let t = Timestamp.seconds(1_800_000_000)
        var last = generator.next(now: t)
        #expect(SnowflakeGenerator.timestamp(of: last) == t)
        #expect((last >> 12) & 0x3FF == 5)
        for _ in 0..<10_000 {  // > 4,096 in one millisecond: borrows the next milliseconds
            let id = generator.next(now: t)
            #expect(id > last)
            last = id
        }
        let stepBack = generator.next(now: t.advanced(by: .seconds(-10)))
        #expect(stepBack > last)
        let later = generator.next(now: t.advanced(by: .seconds(1)))
        #expect(later > stepBack)
        #expect(SnowflakeGenerator.timestamp(of: later) == t.advanced(by: .seconds(1)))
    }

    @Test("timestamps: seconds round down, advance by durations")
    func timestamps() {
        #expect(Timestamp(milliseconds: 1999).seconds == 1)
        #expect(Timestamp(milliseconds: -1).seconds == -1)
        #expect(Timestamp.seconds(10).advanced(by: .milliseconds(1500)).milliseconds == 11_500)
        let clock = ManualTimeSource(start: .seconds(100))
        clock.advance(by: .seconds(5))
        #expect(clock.now() == .seconds(105))
    }
}

@Suite("Message validation")
struct ChatLimitsTests {
    let limits = ChatLimits()

    func code(_ draft: MessageDraft) -> ChatError.Code? {
        do {
            try limits.validate(draft)
            return nil
        } catch {
            return error.code
        }
    }

    @Test("body, attachments and inline emotes")
    func validation() {
        let attachment = Attachment(assetID: AssetID("1")!, filename: "a", contentType: "image/png", sizeBytes: 1)
        #expect(code(MessageDraft(body: "hi")) == nil)
        #expect(code(MessageDraft(body: "", attachments: [attachment])) == nil)
        #expect(code(MessageDraft(body: "")) == .emptyMessage)
        #expect(code(MessageDraft(body: "\u{3000}\n")) == .emptyMessage)
        #expect(code(MessageDraft(body: String(repeating: "a", count: 4000))) == nil)
        #expect(code(MessageDraft(body: String(repeating: "a", count: 4001))) == .messageTooLong)
        #expect(code(MessageDraft(body: String(repeating: "👍🏽", count: 4000))) == nil)  // characters, not bytes
        #expect(code(MessageDraft(body: "x", attachments: Array(repeating: attachment, count: 10))) == nil)
        #expect(code(MessageDraft(body: "x", attachments: Array(repeating: attachment, count: 11))) == .invalidRequest)
        func emote(_ start: Int, _ end: Int) -> InlineEmote { InlineEmote(shortcode: "s", assetID: AssetID("2")!, startIndex: start, endIndex: end) }
        #expect(code(MessageDraft(body: "héllo", inlineEmotes: [emote(0, 5)])) == nil)
        #expect(code(MessageDraft(body: "héllo", inlineEmotes: [emote(0, 6)])) == .invalidRequest)
        #expect(code(MessageDraft(body: "héllo", inlineEmotes: [emote(3, 3)])) == .invalidRequest)
        #expect(code(MessageDraft(body: "héllo", inlineEmotes: [emote(-1, 2)])) == .invalidRequest)
    }
}

@Suite("Snowflake recovery")
struct SnowflakeRecoveryTests {
    @Test("after advance(past:), ids exceed the given id even with the clock far behind")
    func advancePast() {
        var before = SnowflakeGenerator(node: 1)
        let recovered = before.next(now: .seconds(1_900_000_000))
        var after = SnowflakeGenerator(node: 1)
        after.advance(past: recovered)
        #expect(after.next(now: .seconds(1_800_000_000)) > recovered)
    }
}

@Suite("Random hex")
struct RandomHexTests {
    @Test("twice as many lowercase hex digits as bytes, different each time")
    func shape() {
        let a = randomHex(bytes: 32)
        #expect(a.count == 64)
        #expect(a.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(randomHex(bytes: 16).count == 32)
        #expect(randomHex(bytes: 0).isEmpty)
        #expect(a != randomHex(bytes: 32))
    }

    @Test("every digit is random, across the eight-byte draws (a length that is not a multiple of eight too)")
    func everyDigitVaries() {
        let samples = (0..<200).map { _ in Array(randomHex(bytes: 20).utf8) }
        for position in 0..<40 {
            // All 200 the same digit by chance: 16 × 16^-200.
            #expect(Set(samples.map { $0[position] }).count > 1, "digit \(position)")
        }
    }
}
