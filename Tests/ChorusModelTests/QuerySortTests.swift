import ChorusModel
import ChorusTestSupport
import Foundation
import Testing

@Suite("Query sorts")
struct QuerySortTests {
    /// Sorts documents by `sort`, then by `id` so that full ties are deterministic, and returns
    /// their ids.
    private func order(_ documents: [[String: JSONValue]], by sort: QuerySort) -> [String] {
        documents.sorted { a, b in
            if sort.areInIncreasingOrder({ a[$0] }, { b[$0] }) { return true }
            if sort.areInIncreasingOrder({ b[$0] }, { a[$0] }) { return false }
            return (a["id"]?.stringValue ?? "") < (b["id"]?.stringValue ?? "")
        }.map { $0["id"]?.stringValue ?? "?" }
    }

    @Test("accepted forms: nothing, an array of field/direction objects, a one-key object")
    func parse() throws {
        #expect(try QuerySort.parse(nil).fields.isEmpty)
        #expect(try QuerySort.parse(.null).fields.isEmpty)
        #expect(try QuerySort.parse([]).fields.isEmpty)
        #expect(try QuerySort.parse([["field": "last_message_at", "direction": -1], ["field": "created_at"]])
            == QuerySort(fields: [.init(name: "last_message_at", ascending: false), .init(name: "created_at")]))
        #expect(try QuerySort.parse([["field": "a", "direction": 1.0, "type": "number"], ["field": "b", "direction": .null]])
            == QuerySort(fields: [.init(name: "a"), .init(name: "b")]))
        #expect(try QuerySort.parse(["last_message_at": -1]) == QuerySort(fields: [.init(name: "last_message_at", ascending: false)]))
        #expect(try QuerySort.parse(["name": 1]) == QuerySort(fields: [.init(name: "name", ascending: true)]))
        let five = JSONValue.array((1...5).map { ["field": .string("f\($0)")] })
        #expect(try QuerySort.parse(five).fields.count == 5)
    }

    static let errors: [(JSONValue, String)] = [
        ("x", #"sort: must be an array of {"field", "direction"} objects, got string"#),
        (5, #"sort: must be an array of {"field", "direction"} objects, got number"#),
        ([1], #"sort[0]: must be an object with "field" and "direction", got number"#),
        ([["field": "a"], ["direction": 1]], "sort[1].field: is required"),
        ([["field": ""]], "sort[0].field: needs a non-empty string"),
        ([["field": 3]], "sort[0].field: needs a non-empty string, got number"),
        ([["field": "a", "direction": 2]], "sort[0].direction: must be 1 or -1, got 2"),
        ([["field": "a", "direction": 0]], "sort[0].direction: must be 1 or -1, got 0"),
        ([["field": "a", "direction": -0.5]], "sort[0].direction: must be 1 or -1, got -0.5"),
        ([["field": "a", "direction": "desc"]], "sort[0].direction: must be 1 or -1, got string"),
        ([["field": "a", "direction": true]], "sort[0].direction: must be 1 or -1, got boolean"),
        (.array((1...6).map { ["field": .string("f\($0)")] }), "sort: at most 5 fields"),
        (["a": 1, "b": -1], #"sort: an object sort needs exactly one field, got 2; use an array of {"field", "direction"} objects"#),
        ([:], #"sort: an object sort needs exactly one field, got 0; use an array of {"field", "direction"} objects"#),
        (["a": "asc"], "sort.a: must be 1 or -1, got string"),
        (["": 1], "sort: empty field name"),
    ]

    @Test("invalid sorts are rejected with precise messages", arguments: errors)
    func parseErrors(sort: JSONValue, message: String) {
        #expect(throws: QueryFilterError(message)) { try QuerySort.parse(sort) }
    }

    @Test("the field limit and path are the caller's")
    func customLimits() {
        #expect(throws: QueryFilterError("payload.sort: at most 2 fields")) {
            try QuerySort.parse([["field": "a"], ["field": "b"], ["field": "c"]], path: "payload.sort", maxFields: 2)
        }
    }

    @Test("several fields: ties fall through to the next field, each in its own direction")
    func multiField() throws {
        let documents: [[String: JSONValue]] = [
            ["id": "a", "type": "team", "count": 1], ["id": "b", "type": "team", "count": 3],
            ["id": "c", "type": "dm", "count": 2], ["id": "d", "type": "team"], ["id": "e", "count": 5],
            ["id": "f", "type": "team", "count": 3],
        ]
        let sort = try QuerySort.parse([["field": "type", "direction": 1], ["field": "count", "direction": -1]])
        #expect(order(documents, by: sort) == ["c", "b", "f", "a", "d", "e"])
        let reversed = try QuerySort.parse([["field": "type", "direction": -1], ["field": "count"]])
        #expect(order(documents, by: reversed) == ["a", "b", "f", "d", "c", "e"])
    }

    @Test("missing and null values sort last in both directions")
    func missingLast() throws {
        let documents: [[String: JSONValue]] = [
            ["id": "none"], ["id": "null", "n": .null], ["id": "two", "n": 2], ["id": "one", "n": 1], ["id": "neg", "n": -1.5],
        ]
        #expect(order(documents, by: try .parse(["n": 1])) == ["neg", "one", "two", "none", "null"])
        #expect(order(documents, by: try .parse(["n": -1])) == ["two", "one", "neg", "none", "null"])
    }

    @Test("timestamps sort as instants across offsets and precisions, before other strings")
    func timestamps() throws {
        let documents: [[String: JSONValue]] = [
            ["id": "a", "at": "2026-12-01T10:00:00Z"], ["id": "b", "at": "2026-12-01T11:30:00+02:00"],
            ["id": "c", "at": "2026-12-01T10:00:00.5Z"], ["id": "d", "at": "2026-11-30T23:00:00-12:00"],
            ["id": "e", "at": "2026-12-01T12:00:00+02:00"], ["id": "f"], ["id": "0", "at": "not a time"],
        ]
        // Instants: b 09:30, a = e 10:00, c 10:00.5, d 11:00; then other strings (an id that would win
        // any tie); then missing.
        #expect(order(documents, by: try .parse(["at": 1])) == ["b", "a", "e", "c", "d", "0", "f"])
        #expect(order(documents, by: try .parse(["at": -1])) == ["0", "d", "c", "a", "e", "b", "f"])
    }

    @Test("strings, booleans and mixed types have a total order")
    func mixedTypes() throws {
        let documents: [[String: JSONValue]] = [
            ["id": "s-b", "v": "b"], ["id": "s-B", "v": "B"], ["id": "n", "v": 10], ["id": "t", "v": true],
            ["id": "f", "v": false], ["id": "o", "v": ["k": 1]], ["id": "arr", "v": [1]], ["id": "s-a", "v": "a"],
        ]
        #expect(order(documents, by: try .parse(["v": 1])) == ["f", "t", "n", "s-B", "s-a", "s-b", "arr", "o"])
    }

    @Test("a full tie, or no sort fields, is not increasing either way")
    func ties() throws {
        let sort = try QuerySort.parse([["field": "a"], ["field": "b", "direction": -1]])
        let x: [String: JSONValue] = ["a": 1, "b": "x", "c": 1]
        let y: [String: JSONValue] = ["a": 1.0, "b": "x", "c": 2]
        #expect(!sort.areInIncreasingOrder({ x[$0] }, { y[$0] }))
        #expect(!sort.areInIncreasingOrder({ y[$0] }, { x[$0] }))
        #expect(!QuerySort().areInIncreasingOrder({ _ in 1 }, { _ in 2 }))
        #expect(!sort.areInIncreasingOrder({ _ in nil }, { _ in nil }))
    }

    @Test("a sort survives a Codable round trip")
    func codable() throws {
        let sort = try QuerySort.parse([["field": "last_message_at", "direction": -1], ["field": "id"]])
        #expect(try JSONDecoder().decode(QuerySort.self, from: JSONEncoder().encode(sort)) == sort)
    }

    @Test("keys order exactly as their documents: random documents of mixed types, timestamps in several offsets, missing fields and nulls")
    func keysOrderAsDocuments() {
        var random = SeededRandom(seed: 11)
        let values: [JSONValue?] = [
            nil, .null, 1, 2.5, -3, true, false, "a", "b", "B", "", "2026-12-01T10:00:00Z", "2026-12-01T12:00:00+02:00",
            "2026-12-01T10:00:00.5Z", "2025-01-01T00:00:00Z", "not a time", ["x"], ["k": 1],
        ]
        let sorts = [
            QuerySort(fields: [.init(name: "a")]), QuerySort(fields: [.init(name: "a", ascending: false), .init(name: "b")]),
            QuerySort(fields: [.init(name: "b"), .init(name: "a", ascending: false)]),
        ]
        for _ in 0..<2_000 {
            let documents = (0..<2).map { _ in
                ["a": values.randomElement(using: &random)!, "b": values.randomElement(using: &random)!].compactMapValues { $0 }
            }
            for sort in sorts {
                let (a, b) = (documents[0], documents[1])
                #expect(sort.areInIncreasingOrder(sort.key { a[$0] }, sort.key { b[$0] }) == sort.areInIncreasingOrder({ a[$0] }, { b[$0] }))
            }
        }
    }
}
