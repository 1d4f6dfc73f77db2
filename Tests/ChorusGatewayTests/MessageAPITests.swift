import Crypto
import Foundation
import HTTPTypes
import Testing

@Suite("Messages API")
struct MessageAPITests {
    func page(_ api: TestAPI, _ channel: String, _ query: String = "", as user: String = "alice") async throws -> (ids: [String], hasMore: Bool) {
        let reply = try await api.call(.get, "/v1/channels/\(channel)/messages\(query)", as: user)
        guard reply.status == .ok else { throw TestFailure("list failed: \(reply.rawBody)") }
        let messages = reply.object["messages"] as? [[String: Any]] ?? []
        return (messages.compactMap { $0["body"] as? String }, reply.object["has_more"] as? Bool ?? false)
    }

    @Test("send returns the full message with id and seq; bodies are validated")
    func send() async throws {
        try await TestAPI.run { api in
            let id = try await api.channelWithBob()
            let reply = try await api.call(
                .post, "/v1/channels/\(id)/messages", as: "bob",
                json: [
                    "body": "Hello :smile:",
                    "attachments": [["asset_id": 555666777, "filename": "image.png", "content_type": "image/png", "size_bytes": 102400]],
                    "inline_emotes": [["shortcode": "smile", "asset_id": "888", "start_index": 6, "end_index": 13]],
                ])
            #expect(reply.status == .created)
            let m = reply.object
            #expect(m["channel_id"] as? String == id)
            #expect(m["sender_id"] as? String == "bob")
            #expect(m["sender_name"] as? String == "bob")
            #expect(m["body"] as? String == "Hello :smile:")
            #expect(m["deleted"] as? Bool == false)
            #expect(m["edited_at"] is NSNull)
            #expect(m["created_at"] as? Int == Int(api.clock.now().seconds))
            #expect((m["seq"] as? Int ?? 0) > 1)
            let attachment = (m["attachments"] as? [[String: Any]])?.first
            #expect(attachment?["asset_id"] as? String == "555666777")  // integers come back as strings
            #expect(attachment?["size_bytes"] as? Int == 102400)
            #expect((m["inline_emotes"] as? [[String: Any]])?.first?["end_index"] as? Int == 13)
            #expect((m["reactions"] as? [Any])?.isEmpty == true)

            // Attachments alone are a message.
            #expect(try await api.call(.post, "/v1/channels/\(id)/messages", as: "bob", json: ["attachments": [["asset_id": "1"]]]).status == .created)

            let cases: [([String: Any], String)] = [
                ([:], "CHAT_EMPTY_MESSAGE"),
                (["body": ""], "CHAT_EMPTY_MESSAGE"),
                (["body": " \n\t "], "CHAT_EMPTY_MESSAGE"),
                (["body": String(repeating: "a", count: 4001)], "CHAT_MESSAGE_TOO_LONG"),
                (["body": "x", "attachments": Array(repeating: ["asset_id": "1"], count: 11)], "INVALID_REQUEST"),
                (["body": "hello", "inline_emotes": [["shortcode": "s", "asset_id": "1", "start_index": 3, "end_index": 6]]], "INVALID_REQUEST"),
                (["body": "hello", "inline_emotes": [["shortcode": "s", "asset_id": "1", "start_index": 2, "end_index": 2]]], "INVALID_REQUEST"),
                (["body": "hello", "inline_emotes": [["shortcode": "s", "asset_id": "1", "start_index": -1, "end_index": 2]]], "INVALID_REQUEST"),
                (["body": 42], "INVALID_REQUEST"),
                (["body": "x", "attachments": [["filename": "no-asset-id"]]], "INVALID_REQUEST"),
                (["body": "x", "attachments": [["asset_id": "a/b"]]], "INVALID_REQUEST"),
                (["body": "x", "attachments": [["asset_id": "1", "size_bytes": -5]]], "INVALID_REQUEST"),
            ]
            for (body, code) in cases {
                let reply = try await api.call(.post, "/v1/channels/\(id)/messages", as: "bob", json: body)
                #expect(reply.errorCode == code, "\(body)")
                #expect(reply.status == .badRequest, "\(body)")
            }
            // The limit counts characters, not bytes.
            #expect(try await api.call(.post, "/v1/channels/\(id)/messages", as: "bob", json: ["body": String(repeating: "😀", count: 4000)]).status == .created)
            #expect(try await api.call(.post, "/v1/channels/\(id)/messages", as: "carol", json: ["body": "hi"]).errorCode == "CHAT_NOT_MEMBER")
            #expect(try await api.call(.post, "/v1/channels/77/messages", as: "bob", json: ["body": "hi"]).errorCode == "CHAT_CHANNEL_NOT_FOUND")
        }
    }

    @Test("a send repeated with its client_message_id or Idempotency-Key returns the original message and posts nothing")
    func idempotentSends() async throws {
        try await TestAPI.run { api in
            let id = try await api.channelWithBob()
            let path = "/v1/channels/\(id)/messages"
            let first = try await api.call(.post, path, as: "bob", json: ["body": "hello", "client_message_id": "m-1"])
            #expect(first.status == .created)
            #expect(first.headers[.init("Idempotent-Replayed")!] == nil)
            // The same id in the body, then in the header: the original comes back, marked replayed.
            let retried = try await api.call(.post, path, as: "bob", json: ["body": "hello again", "client_message_id": "m-1"])
            let byHeader = try await api.call(.post, path, as: "bob", json: ["body": "hello"], headers: [.init("Idempotency-Key")!: "m-1"])
            for reply in [retried, byHeader] {
                #expect(reply.status == .created)
                #expect(reply.headers[.init("Idempotent-Replayed")!] == "true")
                #expect(reply.object["id"] as? String == first.object["id"] as? String)
                #expect(reply.object["seq"] as? Int == first.object["seq"] as? Int)
                #expect(reply.object["body"] as? String == "hello")
            }
            // Another sender's id space is their own; a new id posts a new message.
            let alices = try await api.call(.post, path, as: "alice", json: ["body": "mine", "client_message_id": "m-1"])
            let second = try await api.call(.post, path, as: "bob", json: ["body": "second"], headers: [.init("Idempotency-Key")!: "m-2"])
            #expect(alices.status == .created && alices.headers[.init("Idempotent-Replayed")!] == nil)
            #expect(second.status == .created && second.object["id"] as? String != first.object["id"] as? String)
            let bodies = try await page(api, id, as: "bob").ids
            #expect(bodies == ["hello", "mine", "second"])

            // Bad ids, and a header and field that disagree, are refused.
            let refused = [
                try await api.call(.post, path, as: "bob", json: ["body": "x", "client_message_id": "with space"]),
                try await api.call(.post, path, as: "bob", json: ["body": "x", "client_message_id": String(repeating: "k", count: 65)]),
                try await api.call(.post, path, as: "bob", json: ["body": "x", "client_message_id": 5]),
                try await api.call(.post, path, as: "bob", json: ["body": "x", "client_message_id": "a"], headers: [.init("Idempotency-Key")!: "b"]),
            ]
            for reply in refused {
                #expect(reply.status == .badRequest)
                #expect(reply.errorCode == "INVALID_REQUEST")
            }
            #expect(try await page(api, id, as: "bob").ids.count == 3)

            // Sends without an id each get the edge's own (for its retries): the same body twice is two messages.
            let plain = [
                try await api.call(.post, path, as: "bob", json: ["body": "again"]),
                try await api.call(.post, path, as: "bob", json: ["body": "again"]),
            ]
            #expect(plain.allSatisfy { $0.status == .created && $0.headers[.init("Idempotent-Replayed")!] == nil })
            #expect(plain[0].object["id"] as? String != plain[1].object["id"] as? String)
            #expect(try await page(api, id, as: "bob").ids == ["hello", "mine", "second", "again", "again"])
        }
    }

    @Test("ids and seqs strictly increase, also under concurrent senders")
    func ordering() async throws {
        try await TestAPI.run { api in
            let id = try await api.channelWithBob()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for sender in ["alice", "bob"] {
                    group.addTask {
                        for i in 0..<60 { try await api.send("\(sender) \(i)", to: id, as: sender) }
                    }
                }
                try await group.waitForAll()
            }
            let reply = try await api.call(.get, "/v1/channels/\(id)/messages?limit=100", as: "alice")
            var messages = reply.object["messages"] as! [[String: Any]]
            let older = try await api.call(.get, "/v1/channels/\(id)/messages?limit=100&before=\(messages[0]["id"] as! String)", as: "alice")
            messages = (older.object["messages"] as! [[String: Any]]) + messages
            #expect(messages.count == 120)
            let ids = messages.map { UInt64($0["id"] as! String)! }
            let seqs = messages.map { $0["seq"] as! Int }
            #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 })
            #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $0 < $1 })
            // Each sender's messages appear in the order they were sent.
            for sender in ["alice", "bob"] {
                let own = messages.compactMap { $0["body"] as? String }.filter { $0.hasPrefix(sender) }
                #expect(own == (0..<60).map { "\(sender) \($0)" })
            }
        }
    }

    @Test("pagination: latest, before, after, has_more, ascending pages")
    func pagination() async throws {
        try await TestAPI.run { api in
            let id = try await api.channelWithBob()
            var ids: [String] = []
            for i in 1...7 { ids.append(try await api.send("m\(i)", to: id, as: "alice")["id"] as! String) }
            var p = try await page(api, id, "?limit=3")
            #expect(p.ids == ["m5", "m6", "m7"])
            #expect(p.hasMore)
            p = try await page(api, id, "?limit=3&before=\(ids[4])")
            #expect(p.ids == ["m2", "m3", "m4"])
            #expect(p.hasMore)
            p = try await page(api, id, "?limit=3&before=\(ids[1])")
            #expect(p.ids == ["m1"])
            #expect(!p.hasMore)
            p = try await page(api, id, "?limit=3&after=\(ids[0])")
            #expect(p.ids == ["m2", "m3", "m4"])
            #expect(p.hasMore)
            p = try await page(api, id, "?limit=3&after=\(ids[3])")
            #expect(p.ids == ["m5", "m6", "m7"])
            #expect(!p.hasMore)
            p = try await page(api, id, "?after=\(ids[6])")
            #expect(p.ids == [])
            #expect(!p.hasMore)
            p = try await page(api, id)
            #expect(p.ids == ["m1", "m2", "m3", "m4", "m5", "m6", "m7"])
            #expect(!p.hasMore)
            // A cursor id that is not a message still pages by position.
            p = try await page(api, id, "?limit=2&before=1")
            #expect(p.ids == [])
            for bad in ["?limit=0", "?limit=101", "?limit=abc", "?limit=-1", "?before=abc", "?after=1.5", "?before=1&after=2"] {
                let reply = try await api.call(.get, "/v1/channels/\(id)/messages\(bad)", as: "alice")
                #expect(reply.errorCode == "INVALID_REQUEST", "\(bad)")
            }
            #expect(try await api.call(.get, "/v1/channels/\(id)/messages", as: "carol").errorCode == "CHAT_NOT_MEMBER")
        }
    }

    @Test("edit: author only, sets edited_at, keeps id and seq; deleted messages are gone")
    func edit() async throws {
        try await TestAPI.run { api in
            let id = try await api.channelWithBob()
            let original = try await api.send("first", to: id, as: "bob")
            let mid = original["id"] as! String
            api.clock.advance(by: .seconds(30))
            let edited = try await api.call(.put, "/v1/channels/\(id)/messages/\(mid)", as: "bob", json: ["body": "second"])
            #expect(edited.status == .ok)
            #expect(edited.string("body") == "second")
            #expect(edited["edited_at"] as? Int == Int(api.clock.now().seconds))
            #expect(edited.string("id") == mid)
            #expect(edited["seq"] as? Int == original["seq"] as? Int)
            #expect(try await api.call(.put, "/v1/channels/\(id)/messages/\(mid)", as: "alice", json: ["body": "x"]).errorCode == "CHAT_NOT_MESSAGE_AUTHOR")
            #expect(try await api.call(.put, "/v1/channels/\(id)/messages/\(mid)", as: "bob", json: ["body": " "]).errorCode == "CHAT_EMPTY_MESSAGE")
            #expect(try await api.call(.put, "/v1/channels/\(id)/messages/\(mid)", as: "bob", json: [:]).errorCode == "INVALID_REQUEST")
            #expect(try await api.call(.put, "/v1/channels/\(id)/messages/12345", as: "bob", json: ["body": "x"]).errorCode == "CHAT_MESSAGE_NOT_FOUND")
            #expect(try await api.call(.put, "/v1/channels/\(id)/messages/\(mid)", as: "carol", json: ["body": "x"]).errorCode == "CHAT_NOT_MEMBER")
            _ = try await api.call(.delete, "/v1/channels/\(id)/messages/\(mid)", as: "bob")
            let gone = try await api.call(.put, "/v1/channels/\(id)/messages/\(mid)", as: "bob", json: ["body": "x"])
            #expect(gone.status == .notFound)
            #expect(gone.errorCode == "CHAT_MESSAGE_NOT_FOUND")
        }
    }

    @Test("delete: author or owner/admin, idempotent, leaves a tombstone")
    func delete() async throws {
        try await TestAPI.run { api in
            let id = try await api.channelWithBob()
            try await api.createUsers("carol")
            try await api.addMember("carol", to: id, by: "alice")
            let m1 = try await api.send("bob's", to: id, as: "bob")["id"] as! String
            let m2 = try await api.send("carol's", to: id, as: "carol")["id"] as! String
            _ = try await api.call(.post, "/v1/channels/\(id)/messages/\(m1)/reactions", as: "alice", json: ["emote_asset_id": "1"])
            #expect(try await api.call(.delete, "/v1/channels/\(id)/messages/\(m1)", as: "carol").errorCode == "CHAT_NOT_MESSAGE_AUTHOR")
            #expect(try await api.call(.delete, "/v1/channels/\(id)/messages/\(m1)", as: "bob").status == .noContent)
            #expect(try await api.call(.delete, "/v1/channels/\(id)/messages/\(m1)", as: "bob").status == .noContent)
            #expect(try await api.call(.delete, "/v1/channels/\(id)/messages/\(m2)", as: "alice").status == .noContent)  // owner
            #expect(try await api.call(.delete, "/v1/channels/\(id)/messages/999", as: "alice").errorCode == "CHAT_MESSAGE_NOT_FOUND")
            let messages = try await api.call(.get, "/v1/channels/\(id)/messages", as: "bob").object["messages"] as! [[String: Any]]
            #expect(messages.count == 2)
            for message in messages {
                #expect(message["deleted"] as? Bool == true)
                #expect(message["body"] as? String == "")
                #expect((message["attachments"] as? [Any])?.isEmpty == true)
                #expect((message["inline_emotes"] as? [Any])?.isEmpty == true)
                #expect((message["reactions"] as? [Any])?.isEmpty == true)
            }
        }
    }

    @Test("reactions: add, aggregate in reaction order, conflict, remove, not found")
    func reactions() async throws {
        try await TestAPI.run { api in
            let id = try await api.channelWithBob()
            let mid = try await api.send("react to me", to: id, as: "alice")["id"] as! String
            let path = "/v1/channels/\(id)/messages/\(mid)/reactions"
            let added = try await api.call(.post, path, as: "bob", json: ["emote_asset_id": "999888777"])
            #expect(added.status == .created)
            #expect(added.string("message") == "Reaction added")
            #expect(try await api.call(.post, path, as: "alice", json: ["emote_asset_id": 999888777]).status == .created)
            #expect(try await api.call(.post, path, as: "alice", json: ["emote_asset_id": "42"]).status == .created)
            let duplicate = try await api.call(.post, path, as: "bob", json: ["emote_asset_id": "999888777"])
            #expect(duplicate.status == .conflict)
            #expect(duplicate.errorCode == "CHAT_REACTION_EXISTS")
            func reactions() async throws -> [[String: Any]] {
                let messages = try await api.call(.get, "/v1/channels/\(id)/messages", as: "alice").object["messages"] as! [[String: Any]]
                return messages[0]["reactions"] as! [[String: Any]]
            }
            var list = try await reactions()
            #expect(list.map { $0["emote_asset_id"] as! String } == ["999888777", "42"])
            #expect(list[0]["count"] as? Int == 2)
            #expect(list[0]["user_ids"] as? [String] == ["bob", "alice"])
            #expect(try await api.call(.delete, "\(path)/42", as: "alice").status == .noContent)
            list = try await reactions()
            #expect(list.count == 1)  // the emote disappears with its last reaction
            let missing = try await api.call(.delete, "\(path)/42", as: "alice")
            #expect(missing.status == .notFound)
            #expect(missing.errorCode == "CHAT_REACTION_NOT_FOUND")
            #expect(try await api.call(.post, path, as: "bob", json: [:]).errorCode == "INVALID_REQUEST")
            #expect(try await api.call(.post, "/v1/channels/\(id)/messages/5/reactions", as: "bob", json: ["emote_asset_id": "1"]).errorCode == "CHAT_MESSAGE_NOT_FOUND")
            #expect(try await api.call(.post, path, as: "carol", json: ["emote_asset_id": "1"]).errorCode == "CHAT_NOT_MEMBER")
        }
    }

    @Test("attachment URLs are signed with HMAC-SHA256 and expire after the TTL")
    func attachmentURL() async throws {
        try await TestAPI.run { api in
            let id = try await api.channelWithBob()
            let reply = try await api.call(
                .post, "/v1/channels/\(id)/messages", as: "alice", json: ["attachments": [["asset_id": 555, "filename": "a.png"]]])
            let mid = reply.string("id")!
            let base = "/v1/channels/\(id)/messages/\(mid)/attachments"
            let full = try await api.call(.get, "\(base)/555/url", as: "bob")
            #expect(full.status == .ok)
            let expires = Int(api.clock.now().seconds) + 3600
            #expect(full["expires_at"] as? Int == expires)
            let url = try #require(full.string("url"))
            let path = "555/full?expires=\(expires)"
            let mac = HMAC<SHA256>.authenticationCode(for: Data(path.utf8), using: SymmetricKey(data: Data("cdn-key".utf8)))
            #expect(url == "https://cdn.chorus.invalid/\(path)&signature=\(mac.map { String(format: "%02x", $0) }.joined())")
            let small = try await api.call(.get, "\(base)/555/url?size=128", as: "bob")
            #expect(small.string("url")?.contains("/555/128?expires=") == true)
            #expect(try await api.call(.get, "\(base)/555/url?size=64", as: "bob").errorCode == "INVALID_REQUEST")
            let unknown = try await api.call(.get, "\(base)/556/url", as: "bob")
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "NOT_FOUND")
            #expect(try await api.call(.get, "\(base)/555/url", as: "carol").errorCode == "CHAT_NOT_MEMBER")
        }
    }

    @Test("read cursor: must name a message of the channel")
    func readCursor() async throws {
        try await TestAPI.run { api in
            let id = try await api.channelWithBob()
            let mid = try await api.send("read me", to: id, as: "alice")["id"] as! String
            let reply = try await api.call(.post, "/v1/channels/\(id)/read", as: "bob", json: ["last_read_message_id": mid])
            #expect(reply.status == .ok)
            #expect(reply.string("channel_id") == id)
            #expect(reply.string("last_read_message_id") == mid)
            #expect(reply["updated_at"] as? Int == Int(api.clock.now().seconds))
            #expect(try await api.call(.post, "/v1/channels/\(id)/read", as: "bob", json: ["last_read_message_id": "1"]).errorCode == "CHAT_MESSAGE_NOT_FOUND")
            #expect(try await api.call(.post, "/v1/channels/\(id)/read", as: "bob", json: ["last_read_message_id": "x"]).errorCode == "INVALID_REQUEST")
            #expect(try await api.call(.post, "/v1/channels/\(id)/read", as: "carol", json: ["last_read_message_id": mid]).errorCode == "CHAT_NOT_MEMBER")
        }
    }
}
