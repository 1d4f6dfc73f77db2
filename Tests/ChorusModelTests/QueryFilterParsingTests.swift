import ChorusModel
import Foundation
import Testing

@Suite("Query filter parsing")
struct QueryFilterParsingTests {
    static let errors: [ErrorRow] = [
        .init("x", "filter_conditions: a filter must be an object, got string"),
        .init([], "filter_conditions: a filter must be an object, got array"),
        .init(.null, "filter_conditions: a filter must be an object, got null"),
        .init(["$foo": 1], "filter_conditions: unknown operator $foo"),
        .init(["name": ["$foo": 1]], "filter_conditions.name: unknown operator $foo"),
        .init(["name": ["$and": [["a": 1]]]], "filter_conditions.name: unknown operator $and"),
        .init(["$eq": "x"], #"filter_conditions: $eq must be applied to a field, as in {"field": {"$eq": …}}"#),
        .init(["": 1], "filter_conditions: empty field name"),
        .init(["members": ["$in": "alice"]], "filter_conditions.members: $in needs an array, got string"),
        .init(["members": ["$nin": ["a": 1]]], "filter_conditions.members: $nin needs an array, got object"),
        .init(["frozen": ["$exists": "yes"]], "filter_conditions.frozen: $exists needs a boolean, got string"),
        .init(["frozen": ["$exists": 1]], "filter_conditions.frozen: $exists needs a boolean, got number"),
        .init(["name": ["$autocomplete": ""]], "filter_conditions.name: $autocomplete needs a non-empty string"),
        .init(["name": ["$autocomplete": 5]], "filter_conditions.name: $autocomplete needs a non-empty string, got number"),
        .init(["text": ["$q": .null]], "filter_conditions.text: $q needs a non-empty string, got null"),
        .init(["text": ["$q": " ?! "]], "filter_conditions.text: $q needs at least one letter or digit"),
        .init(["age": ["$gt": .null]], "filter_conditions.age: $gt needs a number, string or boolean, got null"),
        .init(["age": ["$lte": [1]]], "filter_conditions.age: $lte needs a number, string or boolean, got array"),
        .init(["name": ["$eq": "a", "first": "b"]],
              "filter_conditions.name: cannot mix operators and plain keys (first) in one object"),
        .init(["$and": []], "filter_conditions.$and: $and needs at least one filter"),
        .init(["$or": ["a": 1]], "filter_conditions.$or: $or needs an array of filters, got object"),
        .init(["$nor": [1]], "filter_conditions.$nor[0]: a filter must be an object, got number"),
        .init(["$and": [["a": 1], ["b": ["$in": 3]]]], "filter_conditions.$and[1].b: $in needs an array, got number"),
        .init(["$or": [["$nor": [["x": ["$q": ""]]]]]], "filter_conditions.$or[0].$nor[0].x: $q needs a non-empty string"),
    ]

    @Test("invalid filters are rejected with precise messages", arguments: errors)
    func parseErrors(row: ErrorRow) {
        #expect(throws: QueryFilterError(row.message)) { try QueryFilter.parse(row.filter) }
    }

    @Test("error paths start at the caller's path")
    func customPath() {
        #expect(throws: QueryFilterError("message_filter_conditions.x: $in needs an array, got number")) {
            try QueryFilter.parse(["x": ["$in": 1]], path: "message_filter_conditions")
        }
        #expect(QueryFilterError("a: b").description == "a: b")
    }

    /// `{"$and": [{"$and": […{"a": 1}]}]}` with `depth` nested `$and`s.
    private func nested(_ depth: Int) -> JSONValue {
        (0..<depth).reduce(["a": 1]) { inner, _ in ["$and": [inner]] }
    }

    @Test("limits: nesting depth, condition count and list length")
    func limits() throws {
        #expect(try QueryFilter.parse(nested(5)).matches { $0 == "a" ? 1 : nil })
        #expect(throws: QueryFilterError(
            "filter_conditions.$and[0].$and[0].$and[0].$and[0].$and[0].$and: $and/$or/$nor nested more than 5 levels deep"
        )) { try QueryFilter.parse(nested(6)) }
        #expect(throws: QueryFilterError("filter_conditions.$and: $and/$or/$nor nested more than 0 levels deep")) {
            try QueryFilter.parse(nested(1), limits: .init(maxDepth: 0))
        }

        let hundred = JSONValue.object(Dictionary(uniqueKeysWithValues: (0..<100).map { ("f\($0)", JSONValue.number(1)) }))
        #expect(try QueryFilter.parse(hundred).fields.count == 100)
        let more = JSONValue.object(Dictionary(uniqueKeysWithValues: (0...100).map { ("f\($0)", JSONValue.number(1)) }))
        #expect(throws: QueryFilterError("filter_conditions: more than 100 conditions")) { try QueryFilter.parse(more) }
        #expect(throws: QueryFilterError("filter_conditions: more than 2 conditions")) {
            try QueryFilter.parse(["$or": [["a": ["$gt": 1, "$lt": 5]], ["b": 1]]], limits: .init(maxConditions: 2))
        }

        let ids = (0..<1000).map { JSONValue.string("u\($0)") }
        #expect(try QueryFilter.parse(["id": ["$in": .array(ids)]]).matches { _ in "u999" })
        #expect(throws: QueryFilterError("filter_conditions.id: $nin has 1001 values, more than 1000")) {
            try QueryFilter.parse(["id": ["$nin": .array(ids + ["x"])]])
        }
    }

    @Test("parsing builds a deterministic tree")
    func tree() throws {
        #expect(try QueryFilter.parse([:]) == .all)
        #expect(try QueryFilter.parse(["type": "messaging"]) == .condition(field: "type", .eq("messaging")))
        #expect(try QueryFilter.parse(["type": "messaging", "count": ["$gte": 3, "$lt": 9]]) == .and([
            .and([.condition(field: "count", .gte(3)), .condition(field: "count", .lt(9))]),
            .condition(field: "type", .eq("messaging")),
        ]))
        #expect(try QueryFilter.parse(["$nor": [["a": ["$in": [1]]], ["b": ["$exists": true]]]]) == .nor([
            .condition(field: "a", .in([1])), .condition(field: "b", .exists(true)),
        ]))
        #expect(try QueryFilter.parse(["t": ["$q": "hi", "$autocomplete": "h", "$contains": 1, "$nin": []]]) == .and([
            .condition(field: "t", .autocomplete("h")), .condition(field: "t", .contains(1)),
            .condition(field: "t", .nin([])), .condition(field: "t", .q("hi")),
        ]))
    }

    @Test("fields lists every field the filter mentions")
    func fields() throws {
        let filter = try QueryFilter.parse([
            "type": "messaging", "$or": [["members": ["$in": ["a"]]], ["$nor": [["frozen": true], ["type": "x"]]]],
        ])
        #expect(filter.fields == ["type", "members", "frozen"])
        #expect(QueryFilter.all.fields.isEmpty)
    }

    @Test("a parsed filter survives a Codable round trip")
    func codable() throws {
        let filter = try QueryFilter.parse([
            "$or": [["members": ["$in": ["a", 1, .null]]], ["created_at": ["$gt": "2026-12-01T10:00:00Z"]]],
            "name": ["$autocomplete": "ge"],
        ])
        let data = try JSONEncoder().encode(filter)
        #expect(try JSONDecoder().decode(QueryFilter.self, from: data) == filter)
    }
}

extension QueryFilterParsingTests {
    /// One row of the parse-error table: a wire filter and the exact message it is rejected with.
    struct ErrorRow: Sendable, CustomTestStringConvertible {
        var filter: JSONValue
        var message: String
        init(_ filter: JSONValue, _ message: String) {
            self.filter = filter
            self.message = message
        }
        var testDescription: String { message }
    }
}
