import ChorusModel
import Foundation
import Testing

@Suite("Query filters")
struct QueryFilterTests {
    static let equality: [Row] = [
        .init(["type": "messaging"], true),
        .init(["type": "Messaging"], false),  // case-sensitive
        .init(["type": ["$eq": "messaging"]], true),
        .init(["member_count": 3], true),
        .init(["member_count": 3.0], true),
        .init(["member_count": "3"], false),  // no coercion
        .init(["score": 2.5], true),
        .init(["frozen": false], true),
        .init(["frozen": 0], false),
        .init(["meta": ["size": 2, "color": "red"]], true),  // object without `$` keys: `$eq`
        .init(["meta": ["color": "red"]], false),
        .init(["meta": ["$eq": ["color": "red", "size": 2]]], true),
        .init(["meta": [:]], false),
        .init(["type": ["$ne": "team"]], true),
        .init(["type": ["$ne": "messaging"]], false),
        .init(["type": ["$in": ["team", "messaging"]]], true),
        .init(["type": ["$in": ["team"]]], false),
        .init(["type": ["$in": []]], false),
        .init(["member_count": ["$in": [1, 3]]], true),
        .init(["type": ["$nin": ["team"]]], true),
        .init(["type": ["$nin": ["team", "messaging"]]], false),
        .init(["type": ["$nin": []]], true),
        .init(["type": ["$contains": "messaging"]], false),  // not an array field
    ]

    static let arrays: [Row] = [
        .init(["members": "alice"], true),
        .init(["members": "dave"], false),
        .init(["members": ["carol", "alice", "bob"]], true),  // same set, any order
        .init(["members": ["alice", "bob", "carol", "alice"]], true),
        .init(["members": ["alice", "bob"]], false),
        .init(["members": ["$eq": ["bob", "carol", "alice"]]], true),
        .init(["members": ["$in": ["dave", "bob"]]], true),
        .init(["members": ["$in": ["dave"]]], false),
        .init(["members": ["$in": []]], false),
        .init(["members": ["$nin": ["dave", "erin"]]], true),
        .init(["members": ["$nin": ["dave", "carol"]]], false),
        .init(["members": ["$ne": "dave"]], true),
        .init(["members": ["$ne": "alice"]], false),
        .init(["members": ["$ne": ["alice", "bob", "carol"]]], false),
        .init(["members": ["$ne": ["alice"]]], true),
        .init(["members": ["$contains": "bob"]], true),
        .init(["members": ["$contains": "dave"]], false),
        .init(["tags": ["$contains": 2]], true),
        .init(["tags": ["$contains": 2.0]], true),
        .init(["tags": ["$contains": "2"]], false),
        .init(["tags": ["$gt": 0]], false),  // ranges never match arrays
        .init(["members": ["$autocomplete": "ali"]], false),  // text operators need a string field
    ]

    static let ranges: [Row] = [
        .init(["member_count": ["$gt": 2]], true),
        .init(["member_count": ["$gt": 3]], false),
        .init(["member_count": ["$gte": 3]], true),
        .init(["member_count": ["$lt": 3]], false),
        .init(["member_count": ["$lt": 3.5]], true),
        .init(["member_count": ["$lte": 3]], true),
        .init(["member_count": ["$gt": 2, "$lt": 5]], true),
        .init(["member_count": ["$gt": 2, "$lt": 3]], false),
        .init(["score": ["$gte": 2.5]], true),
        .init(["member_count": ["$gt": "2"]], false),  // mismatched types never match
        .init(["type": ["$gt": 1]], false),
        .init(["meta": ["$gt": "a"]], false),
        .init(["name": ["$gt": "General"]], true),
        .init(["name": ["$lt": "general"]], true),  // lexical: "G" < "g"
        .init(["name": ["$lt": "General Chat"]], false),
        .init(["frozen": ["$lt": true]], true),
        .init(["frozen": ["$gt": false]], false),
        .init(["frozen": ["$gte": false]], true),
    ]

    static let timestamps: [Row] = [
        .init(["created_at": "2026-12-01T10:00:00Z"], true),
        .init(["created_at": "2026-12-01T12:00:00+02:00"], false),  // equality is exact text
        .init(["created_at": ["$gte": "2026-12-01T12:00:00+02:00"]], true),
        .init(["created_at": ["$lte": "2026-12-01T12:00:00+02:00"]], true),
        .init(["created_at": ["$gt": "2026-12-01T12:00:00+02:00"]], false),
        .init(["created_at": ["$lt": "2026-12-01T05:00:00-05:00"]], false),
        .init(["created_at": ["$lte": "2026-12-01T05:00:00-05:00"]], true),
        .init(["created_at": ["$gt": "2026-12-01T09:59:59.999999Z"]], true),
        .init(["created_at": ["$lt": "2026-12-01T10:00:00.000001Z"]], true),
        .init(["created_at": ["$lt": "2026-12-01T11:00:00.5+01:00"]], true),
        .init(["created_at": ["$gt": "2026-12-01t09:00:00z"]], true),
        // Lexically "2026-11-30…" < "2026-12-01…", but the instant is 2026-12-01T11:00Z.
        .init(["created_at": ["$gt": "2026-11-30T23:00:00-12:00"]], false),
        .init(["created_at": ["$lt": "2026-11-30T23:00:00-12:00"]], true),
        .init(["created_at": ["$gt": "2027-01-01T01:00:00+02:00"]], true, on: ["created_at": "2026-12-31T23:30:00Z"]),
        .init(["created_at": ["$gte": "2026-12-01T10:00:00.123456Z"]], true,
              on: ["created_at": "2026-12-01T10:00:00.1234569Z"]),  // beyond microseconds: truncated
        .init(["created_at": ["$gt": "2026-12-01T10:00:00.123456Z"]], false,
              on: ["created_at": "2026-12-01T10:00:00.1234569Z"]),
        .init(["created_at": ["$gt": "2024-02-28T23:59:59Z"]], true, on: ["created_at": "2024-02-29T00:00:00Z"]),
        // 2023 has no February 29, so the field is no timestamp and compares lexically ("…-02-…" < "…-03-…");
        // read as an instant it would fall after the operand.
        .init(["created_at": ["$lt": "2023-03-01T00:00:00+05:00"]], true, on: ["created_at": "2023-02-29T00:00:00Z"]),
        .init(["created_at": ["$lt": "2100-03-01T00:00:00+05:00"]], true, on: ["created_at": "2100-02-29T00:00:00Z"]),
        .init(["created_at": ["$gte": "2026-12-01"]], true),  // a date alone: lexical prefix order
        // Offsets that move the instant across a month, a leap day, a century leap day and the epoch.
        .init(["t": ["$gt": "2024-03-01T00:30:00Z"]], true, on: ["t": "2024-02-29T23:00:00-02:00"]),
        .init(["t": ["$gt": "2000-03-01T00:30:00Z"]], true, on: ["t": "2000-02-29T23:00:00-02:00"]),
        .init(["t": ["$gt": "1970-01-01T00:30:00Z"]], true, on: ["t": "1969-12-31T23:00:00-02:00"]),
        .init(["t": ["$lt": "1969-12-31T23:59:59.5Z"]], true, on: ["t": "1970-01-01T01:00:00+02:00"]),
    ]

    /// Operands that sort before `10:00:00+05:00` as text but after it as an instant (06:00Z > 05:00Z):
    /// `$gt` matches exactly when the operand is not read as an RFC 3339 timestamp.
    static let timestampOperands: [(String, isTimestamp: Bool)] = [
        ("2026-12-01T06:00:00Z", true), ("2026-12-01t06:00:00z", true), ("2026-12-01T06:00:00.5Z", true),
        ("2026-12-01T06:00:00.123456789Z", true), ("2026-12-01T07:00:00+01:00", true),
        ("2026-12-01T06:00:00-00:00", true), ("2026-12-01T06:00:60Z", true),
        ("2026-12-01T06:00:00", false), ("2026-12-01 06:00:00Z", false), ("2026-12-01T06:00:00.Z", false),
        ("2026-12-01T06:00:00+0100", false), ("2026-12-01T06:00Z", false), ("2026-12-01T06:00:00+24:00", false),
        ("2026-12-01T06:60:00Z", false), ("2026-12-01T06:00:61Z", false), ("2026-12-01T06:00:00ZZ", false),
        ("2026-11-31T06:00:00Z", false), ("2026-02-29T06:00:00Z", false), ("2026-00-01T06:00:00Z", false),
        ("+2026-12-01T06:00:00Z", false), ("2026-12-01T06:00:00.١Z", false), ("2026-12-01T06:0:00Z", false),
    ]

    @Test("only well-formed RFC 3339 date-times compare as instants", arguments: timestampOperands)
    func timestampSyntax(operand: String, isTimestamp: Bool) throws {
        let filter = try QueryFilter.parse(["t": ["$gt": .string(operand)]])
        #expect(filter.matches { _ in "2026-12-01T10:00:00+05:00" } == !isTimestamp)
    }

    static let absent: [Row] = [
        .init(["missing": ["$exists": false]], true),
        .init(["missing": ["$exists": true]], false),
        .init(["nickname": ["$exists": false]], true),  // null counts as absent
        .init(["type": ["$exists": true]], true),
        .init(["type": ["$exists": false]], false),
        .init(["missing": .null], true),
        .init(["nickname": ["$eq": .null]], true),
        .init(["type": .null], false),
        .init(["missing": ["$ne": "x"]], true),
        .init(["missing": ["$ne": .null]], false),
        .init(["type": ["$ne": .null]], true),
        .init(["missing": ["$in": ["x"]]], false),
        .init(["missing": ["$in": [.null]]], false),
        .init(["missing": ["$nin": ["x"]]], false),
        .init(["nickname": ["$nin": ["x"]]], false),
        .init(["missing": ["$gt": 0]], false),
        .init(["missing": ["$lt": 0]], false),
        .init(["missing": ["$contains": "x"]], false),
        .init(["missing": ["$autocomplete": "a"]], false),
        .init(["nickname": ["$q": "a"]], false),
    ]

    static let logic: [Row] = [
        .init([:], true),
        .init(["type": "messaging", "member_count": 3], true),
        .init(["type": "messaging", "member_count": 4], false),
        .init(["$and": [["type": "messaging"], ["members": ["$in": ["bob"]]]]], true),
        .init(["$and": [["type": "messaging"], ["members": ["$in": ["dave"]]]]], false),
        .init(["$and": [[:]]], true),
        .init(["$or": [["type": "team"], ["member_count": ["$gte": 3]]]], true),
        .init(["$or": [["type": "team"], ["member_count": 4]]], false),
        .init(["$nor": [["type": "team"], ["frozen": true]]], true),
        .init(["$nor": [["type": "team"], ["frozen": false]]], false),
        .init(["type": "messaging", "$or": [["frozen": true], ["member_count": 2]]], false),
        .init(["type": "messaging", "$or": [["frozen": true], ["member_count": 3]]], true),
        .init(["$or": [["$and": [["type": "messaging"], ["frozen": true]]], ["$nor": [["members": "dave"]]]]], true),
        .init(["$or": [["$and": [["type": "messaging"], ["frozen": true]]], ["$nor": [["members": "bob"]]]]], false),
    ]

    static let text: [Row] = [
        .init(["name": ["$autocomplete": "gen"]], true),
        .init(["name": ["$autocomplete": "GEN"]], true),
        .init(["name": ["$autocomplete": "chat"]], true),
        .init(["name": ["$autocomplete": "hat"]], false),  // prefixes of words, not substrings
        .init(["name": ["$autocomplete": "gen ch"]], true),
        .init(["name": ["$autocomplete": "ch gen"]], true),
        .init(["name": ["$autocomplete": "gen x"]], false),  // every query word must match
        .init(["name": ["$autocomplete": "General Chat"]], true),
        .init(["name": ["$autocomplete": "general chats"]], false),
        .init(["bio": ["$autocomplete": "wör"]], true),
        .init(["bio": ["$autocomplete": "WÖR"]], true),
        .init(["bio": ["$autocomplete": "ÜNÏCODE-F"]], true),
        .init(["bio": ["$autocomplete": "u\u{308}n"]], true),  // decomposed ü equals precomposed
        .init(["bio": ["$autocomplete": "unicode"]], false),  // no accent folding
        .init(["member_count": ["$autocomplete": "3"]], false),
        .init(["name": ["$q": "general"]], true),
        .init(["name": ["$q": "gen"]], false),
        .init(["bio": ["$q": "hello"]], true),
        .init(["bio": ["$q": "wörld"]], true),
        .init(["bio": ["$q": "world"]], false),
        .init(["bio": ["$q": "ünïcode fan"]], true),
        .init(["bio": ["$q": "fan-ÜNÏCODE!"]], true),  // order and punctuation do not matter
        .init(["bio": ["$q": "ünïc"]], false),
        .init(["bio": ["$q": "daily weekly"]], false),
        .init(["text": ["$q": "hello"]], false, on: Row.sentence),  // "hello" is not "helloworld"
        .init(["text": ["$q": "HelloWorld"]], true, on: Row.sentence),
        .init(["text": ["$q": "twice, helloworld"]], true, on: Row.sentence),
        .init(["text": ["$q": "don't"]], true, on: Row.sentence),  // words "don" and "t"
        .init(["text": ["$q": "dont"]], false, on: Row.sentence),
        .init(["text": ["$q": "数字"]], true, on: ["text": "漢字 数字 ١٢٣"]),
        .init(["text": ["$q": "١٢٣"]], true, on: ["text": "漢字 数字 ١٢٣"]),
    ]

    @Test("equality, $ne, $in, $nin and $contains on scalar fields", arguments: equality)
    func scalarEquality(row: Row) throws {
        try check(row)
    }

    @Test("array fields: contains, same set, any of, none of", arguments: arrays)
    func arrayFields(row: Row) throws {
        try check(row)
    }

    @Test("ranges on numbers, strings and booleans; mismatched types never match", arguments: ranges)
    func rangeOperators(row: Row) throws {
        try check(row)
    }

    @Test("RFC 3339 timestamps compare as instants across offsets and precisions", arguments: timestamps)
    func timestampRanges(row: Row) throws {
        try check(row)
    }

    @Test("missing and null fields", arguments: absent)
    func absentFields(row: Row) throws {
        try check(row)
    }

    @Test("implicit AND, $and, $or, $nor and nesting", arguments: logic)
    func logicalOperators(row: Row) throws {
        try check(row)
    }

    @Test("$autocomplete prefixes and $q whole words, case-insensitive and Unicode-aware", arguments: text)
    func textOperators(row: Row) throws {
        try check(row)
    }

    private func check(_ row: Row) throws {
        let filter = try QueryFilter.parse(row.filter)
        #expect(filter.matches { row.document[$0] } == row.expected)
    }
}

extension QueryFilterTests {
    /// One row of the filter table: a wire filter, a document and whether it matches.
    struct Row: Sendable, CustomTestStringConvertible {
        var filter: JSONValue
        var document: [String: JSONValue]
        var expected: Bool

        init(_ filter: JSONValue, _ expected: Bool, on document: [String: JSONValue] = Row.channel) {
            self.filter = filter
            self.document = document
            self.expected = expected
        }

        var testDescription: String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let data = (try? encoder.encode(filter)) ?? Data()
            return "\(String(decoding: data, as: UTF8.self)) → \(expected)"
        }

        /// The document most rows are evaluated against.
        static let channel: [String: JSONValue] = [
            "type": "messaging", "name": "General Chat", "member_count": 3, "score": 2.5, "frozen": false,
            "members": ["alice", "bob", "carol"], "tags": [1, 2], "nickname": .null,
            "meta": ["color": "red", "size": 2], "created_at": "2026-12-01T10:00:00Z",
            "bio": "Hello, Wörld! Ünïcode-fan; writes daily",
        ]
        static let sentence: [String: JSONValue] = ["text": "say helloworld twice, don't stop"]
    }
}
