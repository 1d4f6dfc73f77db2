import Foundation
import Testing

@Suite("Stream API search")
struct StreamSearchTests {
    func payload(_ object: [String: Any]) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: object)
        return String(decoding: data, as: UTF8.self).addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
    }

    @Test("search: whole words in the channels the filter matches, message filters, sort, offset and next, permissions")
    func search() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob", "carol")
            try await api.createStreamChannel("general", by: "alice", members: ["bob"])
            try await api.createStreamChannel("random", by: "alice", members: ["carol"])
            for (text, cid, user) in [
                ("hello world", "messaging:general", "alice"), ("say hello", "messaging:general", "bob"),
                ("helloworld", "messaging:general", "alice"), ("hello from random", "messaging:random", "carol"),
                ("HELLO again", "messaging:general", "bob"),
            ] {
                try await api.streamSend(text, to: cid, as: user)
                api.clock.advance(by: .seconds(1))
            }
            func texts(_ reply: Reply) -> [String] { reply.list("results").map { $0.dict("message")["text"] as? String ?? "?" } }
            let all: [String: Any] = ["filter_conditions": ["members": ["$in": ["alice"]]], "query": "hello"]
            let everything = try await api.stream(.get, "/search?payload=" + payload(all), as: "alice")
            #expect(everything.status == .ok)
            #expect(texts(everything) == ["HELLO again", "hello from random", "say hello", "hello world"])
            #expect(everything.list("results").first?.dict("message").dict("channel")["cid"] as? String == "messaging:general")

            // Bob sees only his channel; a filter on the cid narrows alice's.
            #expect(texts(try await api.stream(.get, "/search?payload=" + payload(all), as: "bob")) == ["HELLO again", "say hello", "hello world"])
            let general = ["filter_conditions": ["cid": "messaging:general"], "query": "hello"] as [String: Any]
            #expect(texts(try await api.stream(.get, "/search?payload=" + payload(general), as: "alice")).count == 3)

            // message_filter_conditions: text $q, user.id; sort ascending; offset; next.
            let byBob: [String: Any] = [
                "filter_conditions": ["cid": "messaging:general"],
                "message_filter_conditions": ["text": ["$q": "hello"], "user.id": "bob"],
                "sort": [["field": "created_at", "direction": 1]],
            ]
            #expect(texts(try await api.stream(.get, "/search?payload=" + payload(byBob), as: "alice")) == ["say hello", "HELLO again"])
            var paged = all
            paged["limit"] = 3
            let first = try await api.stream(.get, "/search?payload=" + payload(paged), as: "alice")
            #expect(texts(first).count == 3)
            let next = try #require(first.object["next"] as? String)
            paged["next"] = next
            let second = try await api.stream(.get, "/search?payload=" + payload(paged), as: "alice")
            #expect(texts(second) == ["hello world"])
            #expect(second.object["next"] == nil)
            paged["next"] = nil
            paged["offset"] = 1
            #expect(texts(try await api.stream(.get, "/search?payload=" + payload(paged), as: "alice")) == ["hello from random", "say hello", "hello world"])

            // Errors.
            let bad: [([String: Any], String)] = [
                (["query": "hello"], "filter_conditions is required"),
                (["filter_conditions": ["cid": "messaging:general"]], "query"),
                (["filter_conditions": ["cid": "messaging:general"], "query": " ?! "], "query"),
                (["filter_conditions": ["cid": "messaging:general"], "query": "x", "limit": 101], "limit"),
                (["filter_conditions": ["cid": "messaging:general"], "query": "x", "offset": 1, "next": "3"], "offset or next"),
                (["filter_conditions": ["cid": "messaging:general"], "query": "x", "next": "abc"], "next"),
                (["filter_conditions": ["cid": "messaging:general"], "message_filter_conditions": ["color": "red"], "query": "x"], "color"),
                (["filter_conditions": ["cid": "messaging:general"], "query": "x", "sort": [["field": "color"]]], "color"),
            ]
            for (body, mentioning) in bad {
                let reply = try await api.stream(.get, "/search?payload=" + payload(body), as: "alice")
                #expect(reply.status == .badRequest && reply.code == 4, "\(body): \(reply.rawBody)")
                #expect(reply.message.contains(mentioning), "\(body): \(reply.message)")
            }
            let missing = try await api.stream(.get, "/search", as: "alice")
            #expect(missing.status == .badRequest && missing.message.contains("payload"))
            let anonymous = try await api.stream(.get, "/search?payload=" + payload(all), token: nil, authType: "anonymous")
            #expect(anonymous.status == .forbidden && anonymous.code == 17)
        }
    }
}
