import ChorusModel
import Foundation
import Testing

@Suite("Stream API messages, reactions, events and moderators")
struct StreamMessageTests {
    @Test("messages by id: get, update, partial update, delete; by client id or engine id; permissions")
    func messagesByID() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob", "carol")
            try await api.createStreamChannel("general", by: "alice", members: ["bob"])
            let sent = try await api.streamSend("hello", to: "messaging:general", as: "bob", id: "m1")
            #expect(sent["id"] as? String == "m1")
            let plain = try await api.streamSend("no id", to: "messaging:general", as: "alice")
            let engineID = try #require(plain["id"] as? String)

            let got = try await api.stream(.get, "/messages/m1", as: "alice")
            #expect(got.status == .ok)
            #expect(got.dict("message")["text"] as? String == "hello")
            #expect(got.dict("message")["cid"] as? String == "messaging:general")
            #expect(try await api.stream(.get, "/messages/\(engineID)", as: "bob").dict("message")["text"] as? String == "no id")
            expectStreamError(try await api.stream(.get, "/messages/nope", as: "alice"), .notFound, code: 16)
            expectStreamError(try await api.stream(.get, "/messages/m1", as: "carol"), .forbidden, code: 17)

            // Only the sender edits; a server edits as the sender.
            expectStreamError(try await api.stream(.post, "/messages/m1", as: "alice", json: ["message": ["text": "hijack"]]), .forbidden, code: 17)
            let edited = try await api.stream(.post, "/messages/m1", as: "bob", json: ["message": ["text": "hello again"]])
            #expect(edited.status == .ok && edited.dict("message")["text"] as? String == "hello again")
            let partial = try await api.stream(.put, "/messages/m1", as: nil, json: ["set": ["text": "set by server"]])
            #expect(partial.dict("message")["text"] as? String == "set by server")
            #expect(partial.dict("message").dict("user")["id"] as? String == "bob")
            expectStreamError(try await api.stream(.put, "/messages/m1", as: "bob", json: ["set": ["color": "red"]]), .badRequest, code: 4)
            // The v1 history shows the edit.
            let v1 = try await api.call(.get, "/v1/channels/\(try #require(ChannelAddress(cid: "messaging:general")?.channelID))/messages", as: "bob")
            #expect(v1.list("messages").contains { $0["body"] as? String == "set by server" }, "\(v1.rawBody)")

            let deleted = try await api.stream(.delete, "/messages/m1?hard=true", as: "bob")
            #expect(deleted.status == .ok && deleted.dict("message")["type"] as? String == "deleted")
            #expect(try await api.stream(.get, "/messages/m1", as: "alice").dict("message")["text"] as? String == "")

            // A client id that spells another message's engine id does not hide that message.
            let spoof = try await api.streamSend("spoof", to: "messaging:general", as: "bob", id: engineID)
            #expect(spoof["id"] as? String == engineID)
            #expect(try await api.stream(.get, "/messages/\(engineID)", as: "alice").dict("message")["text"] as? String == "no id")

            // Several by id, in the order asked; unknown ids are left out.
            let list = try await api.stream(.get, "/channels/messaging/general/messages?ids=\(engineID),nope,m1", as: "alice")
            #expect(list.list("messages").compactMap { $0["id"] as? String } == [engineID, "m1"])
        }
    }

    @Test("reactions: add (201), list, remove; duplicates refused; counts on the message")
    func reactions() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob")
            try await api.createStreamChannel("general", by: "alice", members: ["bob"])
            try await api.streamSend("react to me", to: "messaging:general", as: "alice", id: "r1")
            let love = try await api.stream(.post, "/messages/r1/reaction", as: "bob", json: ["reaction": ["type": "love"]])
            #expect(love.status == .created)
            #expect(love.dict("reaction")["type"] as? String == "love")
            #expect(love.dict("message").dict("reaction_counts")["love"] as? Int == 1)
            let server = try await api.stream(.post, "/messages/r1/reaction", as: nil, json: ["reaction": ["type": "love", "user_id": "alice"]])
            #expect(server.dict("message").dict("reaction_counts")["love"] as? Int == 2)
            expectStreamError(try await api.stream(.post, "/messages/r1/reaction", as: "bob", json: ["reaction": ["type": "love"]]), .badRequest, code: 4)
            expectStreamError(try await api.stream(.post, "/messages/r1/reaction", as: nil, json: ["reaction": ["type": "love"]]), .badRequest, code: 4)
            let listed = try await api.stream(.get, "/messages/r1/reactions?limit=10", as: "alice")
            #expect(listed.list("reactions").compactMap { $0["user_id"] as? String } == ["bob", "alice"])
            let removed = try await api.stream(.delete, "/messages/r1/reaction/love", as: "bob")
            #expect(removed.status == .ok)
            #expect(removed.dict("message").dict("reaction_counts")["love"] as? Int == 1)
            expectStreamError(try await api.stream(.delete, "/messages/r1/reaction/love", as: "bob"), .notFound, code: 16)
        }
    }

    @Test("events: typing.start and typing.stop reach the typing list; other typing types are refused")
    func events() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob")
            try await api.createStreamChannel("general", by: "alice", members: ["bob"])
            let start = try await api.stream(.post, "/channels/messaging/general/event", as: "bob", json: ["event": ["type": "typing.start"]])
            #expect(start.status == .created && start.dict("event")["type"] as? String == "typing.start")
            let id = try #require(ChannelAddress(cid: "messaging:general")?.channelID)
            #expect(try await api.call(.get, "/v1/channels/\(id)/typing", as: "alice")["typing_users"] as? [String] == ["bob"])
            _ = try await api.stream(.post, "/channels/messaging/general/event", as: "bob", json: ["event": ["type": "typing.stop"]])
            #expect(try await api.call(.get, "/v1/channels/\(id)/typing", as: "alice")["typing_users"] as? [String] == [])
            expectStreamError(
                try await api.stream(.post, "/channels/messaging/general/event", as: "bob", json: ["event": ["type": "typing.party"]]), .badRequest, code: 4)
        }
    }

    @Test("moderators: add_moderators and demote_moderators change channel_role; a moderator may manage; the owner stays owner")
    func moderators() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob", "carol")
            try await api.createStreamChannel("general", by: "alice", members: ["bob", "carol"])
            expectStreamError(try await api.stream(.patch, "/channels/messaging/general", as: "bob", json: ["set": ["x": 1]]), .forbidden, code: 17)
            let promoted = try await api.stream(.post, "/channels/messaging/general", as: "alice", json: ["add_moderators": ["bob"]])
            #expect(promoted.status == .created)
            #expect(promoted.list("members").first { $0["user_id"] as? String == "bob" }?["channel_role"] as? String == "channel_moderator")
            #expect(try await api.stream(.patch, "/channels/messaging/general", as: "bob", json: ["set": ["x": 1]]).status == .ok)
            let demoted = try await api.stream(.post, "/channels/messaging/general", as: nil, json: ["demote_moderators": ["bob"]])
            #expect(demoted.list("members").first { $0["user_id"] as? String == "bob" }?["channel_role"] as? String == "channel_member")
            expectStreamError(try await api.stream(.post, "/channels/messaging/general", as: nil, json: ["demote_moderators": ["alice"]]), .forbidden, code: 17)
            expectStreamError(try await api.stream(.post, "/channels/messaging/general", as: nil, json: ["add_moderators": ["nobody"]]), .notFound, code: 16)
        }
    }

    @Test("users: partial update (name only; a user for themself), query by id with filters and sort")
    func users() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob", "carol")
            let renamed = try await api.stream(.patch, "/users", as: nil, json: ["users": [["id": "bob", "set": ["name": "Robert"]]]])
            #expect(renamed.status == .ok)
            #expect(renamed.dict("users").dict("bob")["name"] as? String == "Robert")
            #expect(try await api.stream(.patch, "/users", as: "alice", json: ["users": [["id": "alice", "set": ["name": "Al"]]]]).status == .ok)
            expectStreamError(try await api.stream(.patch, "/users", as: "alice", json: ["users": [["id": "bob", "set": ["name": "x"]]]]), .forbidden, code: 17)
            expectStreamError(try await api.stream(.patch, "/users", as: nil, json: ["users": [["id": "bob", "set": ["role": "admin"]]]]), .badRequest, code: 4)
            expectStreamError(try await api.stream(.patch, "/users", as: nil, json: ["users": []]), .badRequest, code: 4)

            func query(_ payload: [String: Any], as user: String? = "alice") async throws -> Reply {
                let text = String(decoding: try JSONSerialization.data(withJSONObject: payload), as: UTF8.self)
                return try await api.stream(.get, "/users?payload=" + text.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!, as: user)
            }
            let found = try await query(["filter_conditions": ["id": ["$in": ["carol", "bob", "nobody"]]], "sort": [["field": "name", "direction": 1]]])
            #expect(found.list("users").compactMap { $0["name"] as? String } == ["Carol", "Robert"])
            let named = try await query(["filter_conditions": ["id": ["$in": ["alice", "bob", "carol"]], "name": ["$autocomplete": "rob"]]])
            #expect(named.list("users").compactMap { $0["id"] as? String } == ["bob"])
            expectStreamError(try await query(["filter_conditions": ["name": "Robert"]]), .badRequest, code: 4)
            expectStreamError(try await query(["filter_conditions": ["id": "bob", "color": "red"]]), .badRequest, code: 4)
        }
    }

    @Test("query channels and search read only the channels a cid condition names")
    func cidNamedQueries() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob")
            try await api.createStreamChannel("one", by: "alice", members: ["bob"])
            try await api.createStreamChannel("two", by: "alice", members: [])
            let reply = try await api.stream(
                .post, "/channels", as: nil, json: ["filter_conditions": ["cid": ["$in": ["messaging:one", "messaging:nope"]]]])
            #expect(reply.list("channels").compactMap { $0.dict("channel")["cid"] as? String } == ["messaging:one"])
            // A user sees a named channel only if they may read it.
            let bob = try await api.stream(.post, "/channels", as: "bob", json: ["filter_conditions": ["cid": ["$in": ["messaging:one", "messaging:two"]]]])
            #expect(bob.list("channels").compactMap { $0.dict("channel")["cid"] as? String } == ["messaging:one"])
        }
    }
}
