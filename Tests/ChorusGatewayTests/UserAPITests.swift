import Foundation
import HTTPTypes
import Testing

@Suite("Users and blocks API")
struct UserAPITests {
    @Test("a user is created on first request with the token's name, else the id")
    func createdOnFirstUse() async throws {
        try await TestAPI.run { api in
            #expect(try await api.call(.get, "/v1/users/alice", as: "bob").errorCode == "CHAT_USER_NOT_FOUND")
            _ = try await api.call(.get, "/v1/channels", token: api.token("alice", name: "Alice A."))
            let alice = try await api.call(.get, "/v1/users/alice", as: "bob")
            #expect(alice.status == .ok)
            #expect(alice.string("id") == "alice")
            #expect(alice.string("display_name") == "Alice A.")
            #expect(alice["created_at"] as? Int == Int(api.clock.now().seconds))
            #expect(try await api.call(.get, "/v1/users/bob", as: "bob").string("display_name") == "bob")
            // A later token with another name does not rename.
            _ = try await api.call(.get, "/v1/channels", token: api.token("alice", name: "Other"))
            #expect(try await api.call(.get, "/v1/users/alice", as: "bob").string("display_name") == "Alice A.")
            // Any token may read profiles.
            #expect(try await api.call(.get, "/v1/users/alice", token: api.serverToken).status == .ok)
            #expect(try await api.call(.get, "/v1/users/not*valid", as: "bob").errorCode == "INVALID_REQUEST")
        }
    }

    @Test("server tokens upsert users")
    func upsert() async throws {
        try await TestAPI.run { api in
            let created = try await api.call(.put, "/v1/users/carol", token: api.serverToken, json: ["display_name": "Carol"])
            #expect(created.status == .ok)
            #expect(created.string("display_name") == "Carol")
            let createdAt = created["created_at"] as? Int
            api.clock.advance(by: .seconds(100))
            let renamed = try await api.call(.put, "/v1/users/carol", token: api.serverToken, json: ["display_name": "Caroline"])
            #expect(renamed.string("display_name") == "Caroline")
            #expect(renamed["created_at"] as? Int == createdAt)
            #expect(try await api.call(.get, "/v1/users/carol", as: "bob").string("display_name") == "Caroline")
            for body: [String: Any] in [[:], ["display_name": ""], ["display_name": 7], ["display_name": String(repeating: "n", count: 101)]] {
                #expect(try await api.call(.put, "/v1/users/carol", token: api.serverToken, json: body).errorCode == "INVALID_REQUEST", "\(body)")
            }
            // Renames show in member lists.
            let id = try await api.createChannel(owner: "carol")
            let members = try await api.call(.get, "/v1/channels/\(id)/members", as: "carol").array
            #expect(members.first?["display_name"] as? String == "Caroline")
        }
    }

    @Test("blocks: add, list, remove; self and unknown users refused")
    func blocks() async throws {
        try await TestAPI.run { api in
            try await api.createUsers("bob", "carol")
            let added = try await api.call(.post, "/v1/blocks", as: "alice", json: ["user_id": "bob"])
            #expect(added.status == .created)
            _ = try await api.call(.post, "/v1/blocks", as: "alice", json: ["user_id": "carol"])
            #expect(try await api.call(.post, "/v1/blocks", as: "alice", json: ["user_id": "bob"]).status == .created)  // idempotent
            #expect(try await api.call(.get, "/v1/blocks", as: "alice")["blocked_user_ids"] as? [String] == ["bob", "carol"])
            #expect(try await api.call(.delete, "/v1/blocks/bob", as: "alice").status == .noContent)
            #expect(try await api.call(.delete, "/v1/blocks/bob", as: "alice").status == .noContent)
            #expect(try await api.call(.get, "/v1/blocks", as: "alice")["blocked_user_ids"] as? [String] == ["carol"])
            #expect(try await api.call(.post, "/v1/blocks", as: "alice", json: ["user_id": "alice"]).errorCode == "INVALID_REQUEST")
            #expect(try await api.call(.post, "/v1/blocks", as: "alice", json: ["user_id": "ghost"]).errorCode == "CHAT_USER_NOT_FOUND")
            #expect(try await api.call(.post, "/v1/blocks", as: "alice", json: ["user_id": "bad id"]).errorCode == "INVALID_REQUEST")
            #expect(try await api.call(.get, "/v1/blocks", as: "bob")["blocked_user_ids"] as? [String] == [])
        }
    }
}

@Suite("Robust input")
struct RobustnessTests {
    @Test("malformed bodies get INVALID_REQUEST naming the problem")
    func malformedBodies() async throws {
        try await TestAPI.run { api in
            for raw in ["{bad", "", "[]", "null", "\"text\"", "{\"type\": \"group\", \"name\": [1]}", "\u{FF}\u{FE}"] {
                let reply = try await api.call(.post, "/v1/channels", as: "alice", rawBody: raw)
                #expect(reply.status == .badRequest, "\(raw)")
                #expect(reply.errorCode == "INVALID_REQUEST", "\(raw)")
            }
            let typed = try await api.call(.post, "/v1/channels", as: "alice", json: ["type": "dm", "user_id": 5])
            let message = (typed.object["error"] as? [String: Any])?["message"] as? String
            #expect(message?.contains("user_id") == true)
            // Unknown keys are ignored.
            #expect(try await api.call(.post, "/v1/channels", as: "alice", json: ["type": "group", "name": "x", "extra": [1, 2]]).status == .created)
        }
    }

    @Test("oversized bodies get 413 PAYLOAD_TOO_LARGE")
    func oversized() async throws {
        try await TestAPI.run(configuration: .testing { $0.limits.maxBodyBytes = 2048  }) { api in
            let big = "{\"type\":\"group\",\"name\":\"" + String(repeating: "a", count: 5000) + "\"}"
            let reply = try await api.call(.post, "/v1/channels", as: "alice", rawBody: big)
            #expect(reply.status == .contentTooLarge)
            #expect(reply.errorCode == "PAYLOAD_TOO_LARGE")
        }
    }

    @Test("unknown routes and methods get 404 NOT_FOUND; every response has X-Request-Id")
    func unknownRoutes() async throws {
        try await TestAPI.run { api in
            for (method, path) in [(HTTPRequest.Method.get, "/nope"), (.get, "/v1/nope"), (.patch, "/v1/channels"), (.delete, "/v1/channels")] {
                let reply = try await api.call(method, path, as: "alice")
                #expect(reply.status == .notFound, "\(method) \(path)")
                #expect(reply.errorCode == "NOT_FOUND", "\(method) \(path)")
                #expect(reply.headers[.init("X-Request-Id")!] != nil)
            }
            let health = try await api.call(.get, "/healthz")
            #expect(health.status == .ok)
            #expect(health.headers[.init("X-Request-Id")!]?.isEmpty == false)
            let echoed = try await api.call(.get, "/healthz", headers: [.init("X-Request-Id")!: "trace-123"])
            #expect(echoed.headers[.init("X-Request-Id")!] == "trace-123")
        }
    }
}
