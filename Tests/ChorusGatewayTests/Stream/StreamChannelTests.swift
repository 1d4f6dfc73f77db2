import ChorusModel
import Foundation
import HTTPTypes
import Testing

/// The Stream-compatible channel endpoints: users, get-or-create, send, update, partial update,
/// hide/show, mark read, query channels, and one engine behind both facades (seed "Channels";
/// wire notes "Shapes clients send").
@Suite("Stream API channels")
struct StreamChannelTests {
    @Test("POST /users upserts users by id (201, server only); users are also created by their first request")
    func users() async throws {
        try await TestAPI.run { api in
            let body: [String: Any] = ["users": ["alice": ["id": "alice", "name": "Alice", "role": "user"], "bob": ["id": "bob"]]]
            let reply = try await api.stream(.post, "/users", token: api.serverToken, json: body)
            #expect(reply.status == .created)
            expectStreamHeaders(reply)
            expectStrings(reply.dict("users"), ["alice.id": "alice", "alice.name": "Alice", "bob.id": "bob"])
            let renamed = try await api.stream(.post, "/users", token: api.serverToken, json: ["users": ["alice": ["id": "alice", "name": "Alice L."]]])
            #expect(renamed.dict("users").dict("alice")["name"] as? String == "Alice L.")
            let channel = try await api.createStreamChannel("general", by: "alice", members: ["bob"])
            #expect(channel.channel.dict("created_by")["name"] as? String == "Alice L.")
            #expect(channel.list("members").first { $0["user_id"] as? String == "alice" }?.dict("user")["name"] as? String == "Alice L.")

            let invalid: [[String: Any]] = [
                [:], ["users": [] as [Any]], ["users": [:] as [String: Any]], ["users": ["alice": ["id": "bob"]]],
                ["users": ["bad id": ["id": "bad id"]]], ["users": ["alice": "Alice"]],
            ]
            for body in invalid {
                expectStreamError(try await api.stream(.post, "/users", token: api.serverToken, json: body), .badRequest, code: 4, "\(body)")
            }
            // carol does not exist until her first request.
            let early = try await api.stream(.post, "/channels/messaging/c/query", as: "alice", json: ["data": ["members": ["carol"]]])
            expectStreamError(early, .notFound, code: 16)
            _ = try await api.stream(.post, "/channels", as: "carol", json: TestAPI.empty)
            let late = try await api.stream(.post, "/channels/messaging/c/query", as: "alice", json: ["data": ["members": ["carol"]]])
            #expect(late.status == .created)
            #expect(late.roles == ["alice": "owner", "carol": "channel_member"])
        }
    }

    @Test("get-or-create: 201 with channel, members, messages, read and the viewer's membership; data counts only on creation")
    func getOrCreate() async throws {
        try await TestAPI.run { api in
            api.clock.set(TestAPI.streamEpoch)
            try await api.upsertUsers("alice", "bob")
            let body: [String: Any] = [
                "data": ["name": "General", "members": ["alice", "bob"], "color": "red", "created_by": ["id": "alice"]],
                "messages": ["limit": 20], "state": true, "watch": false, "presence": false,
            ]
            let reply = try await api.stream(.post, "/channels/messaging/general/query", token: api.serverToken, json: body)
            #expect(reply.status == .created, "\(reply.rawBody)")
            expectStreamHeaders(reply)
            expectStrings(reply.channel, [
                "id": "general", "type": "messaging", "cid": "messaging:general", "name": "General", "color": "red",
                "created_at": TestAPI.rfc3339(TestAPI.streamEpoch), "created_by.id": "alice", "created_by.name": "Alice",
            ])
            #expect(reply.channel["member_count"] as? Int == 2)
            #expect(reply.roles == ["alice": "owner", "bob": "channel_member"])
            #expect(reply.list("members").first { $0["user_id"] as? String == "bob" }?.dict("user")["name"] as? String == "Bob")
            #expect((reply.object["messages"] as? [Any])?.isEmpty == true)
            #expect(reply.object["read"] is [Any])
            #expect(reply.object["membership"] == nil, "a server has no membership")

            let again = try await api.stream(.post, "/channels/messaging/general/query", as: "alice", json: ["data": ["name": "Other", "color": "blue"]])
            #expect(again.status == .created)
            expectStrings(again.object, ["channel.name": "General", "channel.color": "red", "membership.user_id": "alice", "membership.channel_role": "owner"])
            let bob = try await api.stream(.post, "/channels/messaging/general/query", as: "bob", json: ["state": true])
            #expect(bob.dict("membership")["channel_role"] as? String == "channel_member")

            // A user token creates as itself; created_by_id works for a server.
            let mine = try await api.stream(.post, "/channels/messaging/bobs/query", as: "bob", json: ["data": ["members": ["alice"]]])
            #expect(mine.status == .created)
            #expect(mine.channel.dict("created_by")["id"] as? String == "bob")
            #expect(mine.roles == ["bob": "owner", "alice": "channel_member"])
            let byID = try await api.stream(
                .post, "/channels/team/x/query", token: api.serverToken, json: ["data": ["created_by_id": "bob", "members": ["bob"]]])
            #expect(byID.status == .created)
            #expect(byID.roles == ["bob": "owner"])
            // A livestream channel may be read by anyone.
            try await api.createStreamChannel("show", type: "livestream", by: "alice", members: [])
            let viewer = try await api.stream(.post, "/channels/livestream/show/query", as: "bob", json: ["state": true])
            #expect(viewer.status == .created && viewer.object["membership"] == nil, "\(viewer.rawBody)")
        }
    }

    @Test("get-or-create errors: missing creator, unknown users, impostors, non-members, bad ids, limits, custom data over 5 KiB")
    func getOrCreateErrors() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob", "carol")
            try await api.createStreamChannel("general", by: "alice", members: ["bob"])
            let server = api.serverToken
            let cases: [(String, String, String?, [String: Any], HTTPResponse.Status, Int)] = [
                ("server without created_by", "/channels/messaging/new/query", nil, ["data": ["members": ["alice"]]], .badRequest, 4),
                ("unknown member", "/channels/messaging/new/query", "alice", ["data": ["members": ["zed"]]], .notFound, 16),
                ("unknown creator", "/channels/messaging/new/query", nil, ["data": ["created_by": ["id": "zed"]]], .notFound, 16),
                ("user token naming another creator", "/channels/messaging/new/query", "alice", ["data": ["created_by": ["id": "bob"]]], .forbidden, 17),
                ("non-member reading", "/channels/messaging/general/query", "carol", ["state": true], .forbidden, 17),
                ("bad id", "/channels/messaging/bad.id/query", "alice", [:], .badRequest, 4),
                ("id too long", "/channels/messaging/\(String(repeating: "a", count: 65))/query", "alice", [:], .badRequest, 4),
                ("v1 type with a non-decimal id", "/channels/group/abc/query", "alice", ["data": ["members": ["bob"]]], .badRequest, 4),
                ("missing v1 channel", "/channels/group/999/query", "alice", [:], .notFound, 16),
                ("custom data over 5 KiB", "/channels/messaging/big/query", "alice",
                 ["data": ["members": ["bob"], "blob": String(repeating: "x", count: 5200)]], .contentTooLarge, 22),
            ]
            for (name, path, user, body, status, code) in cases {
                let reply = try await api.stream(.post, path, token: user.map { api.token($0) } ?? server, json: body)
                expectStreamError(reply, status, code: code, name)
            }
            let limit = try await api.stream(.post, "/channels/messaging/general/query", as: "alice", json: ["messages": ["limit": 301]])
            expectStreamError(limit, .badRequest, code: 4, mentioning: "messages.limit")
        }
    }

    @Test("create with members only: the id is !members-<16 hex>, the same for the same member set (creator included)")
    func membersID() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob", "carol")
            func create(_ token: String, _ data: [String: Any]) async throws -> String {
                let reply = try await api.stream(.post, "/channels/messaging/query", token: token, json: ["data": data, "state": true])
                #expect(reply.status == .created, "\(reply.rawBody)")
                return reply.channel["id"] as? String ?? ""
            }
            let first = try await create(api.serverToken, ["members": ["alice", "bob"], "created_by": ["id": "alice"]])
            #expect(first.hasPrefix("!members-"))
            let hex = first.dropFirst("!members-".count)
            #expect(hex.count == 16 && hex.allSatisfy(\.isHexDigit), "\(first)")
            #expect(try await create(api.serverToken, ["members": ["bob", "alice"], "created_by": ["id": "alice"]]) == first)
            #expect(try await create(api.serverToken, ["members": ["bob"], "created_by": ["id": "alice"]]) == first)
            #expect(try await create(api.token("bob"), ["members": ["alice"]]) == first)
            let other = try await create(api.token("alice"), ["members": ["carol"]])
            #expect(other.hasPrefix("!members-") && other != first)
            // The channel is addressable by its id.
            let state = try await api.stream(.post, "/channels/messaging/\(first)/query", as: "bob", json: ["state": true])
            #expect(state.channel["cid"] as? String == "messaging:\(first)")
            #expect(state.roles == ["alice": "owner", "bob": "channel_member"])
            for body: [String: Any] in [[:], ["data": [:] as [String: Any]], ["data": ["members": [] as [String]]]] {
                expectStreamError(try await api.stream(.post, "/channels/messaging/query", as: "alice", json: body), .badRequest, code: 4)
            }
        }
    }

    @Test("send: 201 with the message; the same id again returns the same message; impostors and non-members are refused")
    func send() async throws {
        try await TestAPI.run { api in
            api.clock.set(TestAPI.streamEpoch)
            try await api.upsertUsers("alice", "bob", "carol")
            try await api.createStreamChannel("general", by: "alice", members: ["bob"])
            let path = "/channels/messaging/general/message"
            let body: [String: Any] = ["message": ["text": "hi", "id": "m1", "user": ["id": "alice"]], "skip_push": true]
            let reply = try await api.stream(.post, path, token: api.serverToken, json: body)
            #expect(reply.status == .created, "\(reply.rawBody)")
            expectStreamHeaders(reply)
            expectStrings(reply.dict("message"), [
                "id": "m1", "text": "hi", "cid": "messaging:general", "type": "regular", "user.id": "alice", "user.name": "Alice",
                "created_at": TestAPI.rfc3339(TestAPI.streamEpoch),
            ])

            api.clock.advance(by: .seconds(5))
            let retry = try await api.stream(.post, path, as: "alice", json: ["message": ["text": "changed", "id": "m1"]])
            #expect(retry.status == .created)
            expectStrings(retry.dict("message"), ["id": "m1", "text": "hi", "created_at": TestAPI.rfc3339(TestAPI.streamEpoch)])
            let plain = try await api.streamSend("yo", to: "messaging:general", as: "bob")
            #expect((plain["id"] as? String).map { !$0.isEmpty && $0 != "m1" } == true)
            let state = try await api.stream(.post, "/channels/messaging/general/query", as: "alice", json: ["state": true])
            #expect(state.texts == ["hi", "yo"])
            #expect(state.list("messages").first?["id"] as? String == "m1")
            let newest = try await api.stream(.post, "/channels/messaging/general/query", as: "alice", json: ["messages": ["limit": 1]])
            #expect(newest.texts == ["yo"])

            let cases: [(String, String?, [String: Any], HTTPResponse.Status, Int)] = [
                ("user token naming another sender", "alice", ["message": ["text": "x", "user": ["id": "bob"]]], .forbidden, 17),
                ("non-member", "carol", ["message": ["text": "x"]], .forbidden, 17),
                ("server without a user", nil, ["message": ["text": "x"]], .badRequest, 4),
                ("no message", "alice", ["text": "x"], .badRequest, 4),
                ("empty text", "alice", ["message": ["text": ""]], .badRequest, 4),
                ("bad message id", "alice", ["message": ["text": "x", "id": "no spaces"]], .badRequest, 4),
            ]
            for (name, user, body, status, code) in cases {
                let reply = try await api.stream(.post, path, token: user.map { api.token($0) } ?? api.serverToken, json: body)
                expectStreamError(reply, status, code: code, name)
            }
            let missing = try await api.stream(.post, "/channels/messaging/nowhere/message", as: "alice", json: ["message": ["text": "x"]])
            expectStreamError(missing, .notFound, code: 16)
        }
    }

    @Test("update: data replaces name and custom data; add and remove members; plain members may not")
    func update() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob", "carol")
            try await api.createStreamChannel("general", by: "alice", members: ["bob"], data: ["name": "General", "color": "red", "topic": "x"])
            let path = "/channels/messaging/general"
            let reply = try await api.stream(.post, path, token: api.serverToken, json: ["data": ["name": "Renamed", "color": "blue"]])
            #expect(reply.status == .created, "\(reply.rawBody)")
            expectStreamHeaders(reply)
            expectStrings(reply.channel, ["name": "Renamed", "color": "blue"])
            #expect(reply.channel["topic"] == nil, "data replaces the custom data")
            #expect(reply.roles == ["alice": "owner", "bob": "channel_member"])
            let state = try await api.stream(.post, "/channels/messaging/general/query", as: "bob", json: ["state": true])
            expectStrings(state.channel, ["name": "Renamed", "color": "blue"])

            let added = try await api.stream(.post, path, as: "alice", json: ["add_members": ["carol"]])
            #expect(added.status == .created)
            #expect(added.roles == ["alice": "owner", "bob": "channel_member", "carol": "channel_member"])
            #expect(added.channel["member_count"] as? Int == 3)
            let removed = try await api.stream(.post, path, as: "alice", json: ["remove_members": ["bob"]])
            #expect(removed.roles == ["alice": "owner", "carol": "channel_member"])
            #expect(removed.channel["member_count"] as? Int == 2)

            expectStreamError(try await api.stream(.post, path, as: "carol", json: ["data": ["name": "Mine"]]), .forbidden, code: 17)
            expectStreamError(try await api.stream(.post, path, as: "carol", json: ["add_members": ["bob"]]), .forbidden, code: 17)
            expectStreamError(try await api.stream(.post, path, as: "bob", json: ["data": ["name": "Out"]]), .forbidden, code: 17)
            expectStreamError(try await api.stream(.post, path, as: "alice", json: ["add_members": ["zed"]]), .notFound, code: 16)
            let big = try await api.stream(.post, path, as: "alice", json: ["data": ["blob": String(repeating: "x", count: 5200)]])
            expectStreamError(big, .contentTooLarge, code: 22)
            expectStreamError(try await api.stream(.post, "/channels/messaging/nowhere", as: "alice", json: ["data": ["a": 1]]), .notFound, code: 16)
        }
    }

    @Test("partial update: set and unset custom fields and the name (200); built-in fields are 400; plain members 403")
    func partialUpdate() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob")
            try await api.createStreamChannel("general", by: "alice", members: ["bob"], data: ["name": "General", "color": "red", "age": 3])
            let path = "/channels/messaging/general"
            let set = try await api.stream(.patch, path, token: api.serverToken, json: ["set": ["color": "green", "level": 2]])
            #expect(set.status == .ok, "\(set.rawBody)")
            expectStreamHeaders(set)
            #expect(set.channel["color"] as? String == "green")
            #expect(set.channel["level"] as? Int == 2)
            #expect(set.channel["age"] as? Int == 3)
            let unset = try await api.stream(.patch, path, as: "alice", json: ["unset": ["age"]])
            #expect(unset.status == .ok)
            #expect(unset.channel["age"] == nil)
            #expect(unset.channel["color"] as? String == "green")
            let renamed = try await api.stream(.patch, path, as: "alice", json: ["set": ["name": "New name"]])
            #expect(renamed.channel["name"] as? String == "New name")
            #expect(renamed.channel["level"] as? Int == 2)

            let cases: [([String: Any], String?)] = [
                (["set": ["cid": "x:y"]], "cid"), (["set": ["members": ["bob"]]], "members"), (["set": ["created_by": ["id": "bob"]]], "created_by"),
                (["unset": ["member_count"]], "member_count"), ([:], nil), (["set": "red"], "set"),
            ]
            for (body, field) in cases {
                expectStreamError(try await api.stream(.patch, path, as: "alice", json: body), .badRequest, code: 4, mentioning: field, "\(body)")
            }
            expectStreamError(try await api.stream(.patch, path, as: "bob", json: ["set": ["color": "pink"]]), .forbidden, code: 17)
            let big = try await api.stream(.patch, path, as: "alice", json: ["set": ["blob": String(repeating: "x", count: 5200)]])
            expectStreamError(big, .contentTooLarge, code: 22)
        }
    }

    @Test("hide and show: hidden channels leave the user's query results unless the filter mentions hidden")
    func hideAndShow() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob", "carol")
            for id in ["general", "random"] { try await api.createStreamChannel(id, by: "alice", members: ["bob"]) }
            func query(_ user: String, _ filter: [String: Any] = [:]) async throws -> Set<String> {
                Set(try await api.stream(.post, "/channels", as: user, json: ["filter_conditions": filter]).cids)
            }
            let hide = try await api.stream(.post, "/channels/messaging/general/hide", as: "alice", json: TestAPI.empty)
            #expect(hide.status == .created, "\(hide.rawBody)")
            expectStreamHeaders(hide)
            #expect(try await query("alice") == ["messaging:random"])
            #expect(try await query("alice", ["hidden": true]) == ["messaging:general"])
            #expect(try await query("alice", ["hidden": false]) == ["messaging:random"])
            #expect(try await query("bob") == ["messaging:general", "messaging:random"], "hiding is per user")
            let byServer = try await api.stream(.post, "/channels/messaging/random/hide", token: api.serverToken, json: ["user_id": "bob"])
            #expect(byServer.status == .created)
            let bobs = try await api.stream(.post, "/channels", token: api.serverToken, json: ["filter_conditions": [:] as [String: Any], "user_id": "bob"])
            #expect(bobs.cids == ["messaging:general"])
            let show = try await api.stream(.post, "/channels/messaging/general/show", as: "alice", json: TestAPI.empty)
            #expect(show.status == .created)
            #expect(try await query("alice") == ["messaging:general", "messaging:random"])
            expectStreamError(try await api.stream(.post, "/channels/messaging/general/hide", token: api.serverToken, json: TestAPI.empty), .badRequest, code: 4)
            expectStreamError(try await api.stream(.post, "/channels/messaging/general/hide", as: "carol", json: TestAPI.empty), .forbidden, code: 17)
        }
    }

    @Test("mark read: 201 with a message.read event; the reader's read entry counts unread messages after it")
    func markRead() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob", "carol")
            try await api.createStreamChannel("general", by: "alice", members: ["bob"])
            let first = try await api.streamSend("one", to: "messaging:general", as: "bob")
            try await api.streamSend("two", to: "messaging:general", as: "bob")
            let read = try await api.stream(.post, "/channels/messaging/general/read", as: "alice", json: TestAPI.empty)
            #expect(read.status == .created, "\(read.rawBody)")
            expectStreamHeaders(read)
            expectStrings(read.dict("event"), ["type": "message.read", "cid": "messaging:general", "user.id": "alice"])
            func unread() async throws -> Int? {
                let state = try await api.stream(.post, "/channels/messaging/general/query", as: "alice", json: ["state": true])
                return state.readEntry("alice")?["unread_messages"] as? Int
            }
            #expect(try await unread() == 0)
            try await api.streamSend("three", to: "messaging:general", as: "bob")
            #expect(try await unread() == 1)
            // Up to a given message (here one without a client id), for a user a server names.
            let upTo = try await api.stream(
                .post, "/channels/messaging/general/read", token: api.serverToken, json: ["message_id": first["id"] as? String ?? "", "user": ["id": "alice"]])
            #expect(upTo.status == .created, "\(upTo.rawBody)")
            #expect(upTo.dict("event")["last_read_message_id"] as? String == first["id"] as? String)
            #expect(try await unread() == 2)
            expectStreamError(try await api.stream(.post, "/channels/messaging/general/read", as: "carol", json: TestAPI.empty), .forbidden, code: 17)
        }
    }

    @Test("mark read up to a message by the id the client gave it (wire notes: {\"message_id\": \"m1\"})")
    func markReadByClientID() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob")
            try await api.createStreamChannel("general", by: "alice", members: ["bob"])
            for id in ["m1", "m2", "m3"] { try await api.streamSend("text \(id)", to: "messaging:general", as: "bob", id: id) }
            let read = try await api.stream(.post, "/channels/messaging/general/read", token: api.serverToken, json: ["message_id": "m1", "user": ["id": "alice"]])
            #expect(read.status == .created, "\(read.rawBody)")
            let state = try await api.stream(.post, "/channels/messaging/general/query", as: "alice", json: ["state": true])
            #expect(state.readEntry("alice")?["unread_messages"] as? Int == 2)
            // Read state names the message by the id this API gave it (StreamShapes.messageID), as the messages do.
            #expect(read.dict("event")["last_read_message_id"] as? String == "m1")
            #expect(state.readEntry("alice")?["last_read_message_id"] as? String == "m1")
            expectStreamError(
                try await api.stream(.post, "/channels/messaging/general/read", as: "alice", json: ["message_id": "nope"]), .notFound, code: 16)
        }
    }

    @Test("query channels: filters on built-in and custom fields with logical and comparison operators")
    func queryFilters() async throws {
        try await TestAPI.run { api in
            let t0 = try await api.queryFixture()
            func at(_ seconds: Int64) -> String { TestAPI.rfc3339(t0.advanced(by: .seconds(seconds))) }
            let (general, random, ops) = ("messaging:general", "messaging:random", "team:ops")
            let cases: [([String: Any], Set<String>)] = [
                ([:], [general, random, ops]), (["type": "team"], [ops]), (["type": ["$in": ["messaging"]]], [general, random]),
                (["cid": general], [general]), (["cid": ["$in": [general, ops]]], [general, ops]), (["id": "random"], [random]),
                (["members": ["$in": ["carol"]]], [random, ops]), (["members": ["$in": ["alice", "dave"]]], [general, random, ops]),
                (["members": ["$in": ["alice"]], "type": "messaging"], [general, random]),
                (["name": ["$autocomplete": "ran"]], [random]), (["name": ["$autocomplete": "team op"]], [ops]), (["name": "General Chat"], [general]),
                (["color": "red"], [general, ops]), (["color": ["$in": ["blue"]]], [random]), (["color": ["$nin": ["red"]]], [random]),
                (["color": ["$ne": "red"]], [random]), (["level": ["$gte": 2]], [ops]), (["level": ["$exists": false]], [random]),
                (["member_count": ["$gt": 2]], [ops]), (["member_count": 2], [general, random]),
                (["created_at": ["$gt": at(30)]], [random, ops]), (["created_at": ["$lte": at(60)]], [general, random]),
                (["last_message_at": ["$gte": at(210)]], [general]), (["last_message_at": ["$exists": true]], [general, random]),
                (["$or": [["color": "blue"], ["type": "team"]]], [random, ops]), (["$and": [["color": "red"], ["type": "messaging"]]], [general]),
                (["$nor": [["color": "red"]]], [random]), (["$or": [["level": 1], ["$and": [["type": "team"], ["member_count": 3]]]]], [general, ops]),
            ]
            for (filter, expected) in cases {
                let reply = try await api.stream(.post, "/channels", token: api.serverToken, json: ["filter_conditions": filter, "limit": 30])
                #expect(reply.status == .created, "\(filter): \(reply.rawBody)")
                #expect(Set(reply.cids) == expected && reply.cids.count == expected.count, "\(filter)")
            }
            // A user token sees only the user's channels; a server names its user with user_id.
            let perUser: [(String, [String: Any], Set<String>)] = [
                ("alice", [:], [general, random]), ("alice", ["type": "team"], []), ("alice", ["joined": true], [general, random]),
                ("carol", [:], [random, ops]), ("carol", ["members": ["$in": ["bob"]]], [ops]), ("dave", ["color": "red"], [ops]),
            ]
            for (user, filter, expected) in perUser {
                let mine = try await api.stream(.post, "/channels", as: user, json: ["filter_conditions": filter])
                #expect(Set(mine.cids) == expected, "\(user) \(filter)")
                let named = try await api.stream(.post, "/channels", token: api.serverToken, json: ["filter_conditions": filter, "user_id": user])
                #expect(Set(named.cids) == expected, "server for \(user) \(filter)")
            }
            expectStreamError(try await api.stream(.post, "/channels", as: "alice", json: ["user_id": "bob"]), .forbidden, code: 17)
        }
    }

    @Test("query channels: sort (up to 5 fields, missing values last), limit 0-30, offset, message and member limits, per-channel state")
    func querySortAndPages() async throws {
        try await TestAPI.run { api in
            _ = try await api.queryFixture()
            func cids(_ body: [String: Any]) async throws -> [String] {
                let reply = try await api.stream(.post, "/channels", token: api.serverToken, json: body)
                #expect(reply.status == .created, "\(body): \(reply.rawBody)")
                return reply.cids
            }
            func sort(_ fields: (String, Int)...) -> [[String: Any]] { fields.map { ["field": $0.0, "direction": $0.1] } }
            let (general, random, ops) = ("messaging:general", "messaging:random", "team:ops")
            let cases: [([String: Any], [String])] = [
                (["sort": sort(("last_message_at", -1))], [general, random, ops]), (["sort": sort(("last_message_at", 1))], [random, general, ops]),
                (["sort": sort(("created_at", 1))], [general, random, ops]), (["sort": sort(("created_at", -1))], [ops, random, general]),
                (["sort": sort(("member_count", -1), ("created_at", 1))], [ops, general, random]), (["sort": sort(("level", -1))], [ops, general, random]),
                (["sort": sort(("created_at", 1)), "limit": 2], [general, random]), (["sort": sort(("created_at", 1)), "limit": 2, "offset": 2], [ops]),
                (["sort": sort(("created_at", 1)), "offset": 3], []),
            ]
            for (body, expected) in cases { #expect(try await cids(body) == expected, "\(body)") }

            let full = try await api.stream(.post, "/channels", as: "carol", json: ["sort": sort(("created_at", 1)), "message_limit": 0, "member_limit": 1])
            #expect(full.list("channels").allSatisfy { $0.list("messages").isEmpty && $0.list("members").count == 1 })
            let state = try await api.stream(.post, "/channels", as: "carol", json: ["sort": sort(("created_at", 1))])
            let entry = try #require(state.list("channels").first)
            #expect(entry.dict("channel")["color"] as? String == "blue")
            #expect(entry.texts == ["in random"])
            #expect(entry.list("members").count == 2)
            #expect(entry["read"] is [Any])
            #expect(entry.dict("membership")["user_id"] as? String == "carol")
            #expect(state.list("channels").last?.dict("membership")["channel_role"] as? String == "channel_member")
        }
    }

    @Test("query channels: a bad filter, sort or page is 400 code 4 and the message names the field")
    func queryErrors() async throws {
        try await TestAPI.run { api in
            let sixFields = (0..<6).map { ["field": "f\($0)", "direction": 1] }
            let cases: [([String: Any], String)] = [
                (["filter_conditions": ["members": ["$in": "alice"]]], "members"), (["filter_conditions": ["color": ["$regex": "r"]]], "color"),
                (["filter_conditions": ["$and": ["color": "red"]]], "$and"), (["filter_conditions": ["$or": [] as [Any]]], "$or"),
                (["filter_conditions": ["created_at": ["$gt": ["x": 1]]]], "created_at"), (["filter_conditions": ["name": ["$autocomplete": ""]]], "name"),
                (["filter_conditions": ["$in": ["a"]]], "$in"), (["filter_conditions": "cid"], "filter_conditions"),
                (["sort": sixFields], "sort"), (["sort": [["field": "created_at", "direction": 2]]], "direction"),
                (["limit": 31], "limit"), (["limit": -1], "limit"), (["offset": -1], "offset"),
                (["message_limit": -1], "message_limit"), (["member_limit": 101], "member_limit"),
            ]
            for (body, field) in cases {
                expectStreamError(try await api.stream(.post, "/channels", as: "alice", json: body), .badRequest, code: 4, mentioning: field, "\(body)")
            }
        }
    }

    @Test("both facades: a v1 group is group:<id> on the Stream API, and messages cross in both directions")
    func bothFacades() async throws {
        try await TestAPI.run { api in
            try await api.createUsers("alice", "bob", "carol", "dave")
            let id = try await api.createChannel(name: "Team", owner: "alice")
            try await api.addMember("bob", to: id, by: "alice")
            try await api.addMember("carol", to: id, by: "alice", role: "admin")
            try await api.send("from v1", to: id, as: "alice")
            let path = "/channels/group/\(id)"
            let state = try await api.stream(.post, path + "/query", as: "bob", json: ["state": true])
            #expect(state.status == .created, "\(state.rawBody)")
            expectStrings(state.channel, ["type": "group", "id": id, "cid": "group:\(id)", "name": "Team", "created_by.id": "alice"])
            #expect(state.roles == ["alice": "owner", "bob": "channel_member", "carol": "channel_moderator"])
            #expect(state.list("messages").map { [$0["text"] as? String, $0.dict("user")["id"] as? String] } == [["from v1", "alice"]])

            let sent = try await api.streamSend("from stream", to: "group:\(id)", as: "bob", id: "s1")
            #expect(sent["id"] as? String == "s1")
            let history = try await api.call(.get, "/v1/channels/\(id)/messages", as: "alice")
            let v1 = history.object["messages"] as? [[String: Any]] ?? []
            #expect(v1.map { [$0["body"] as? String, $0["sender_id"] as? String] } == [["from v1", "alice"], ["from stream", "bob"]])
            let query = try await api.stream(.post, "/channels", as: "alice", json: ["filter_conditions": ["type": "group"]])
            #expect(query.cids == ["group:\(id)"])

            #expect(try await api.stream(.patch, path, as: "carol", json: ["set": ["color": "teal"]]).status == .ok, "a v1 admin is a moderator")
            expectStreamError(try await api.stream(.patch, path, as: "bob", json: ["set": ["color": "red"]]), .forbidden, code: 17)
            expectStreamError(try await api.stream(.post, path + "/query", as: "dave", json: ["state": true]), .forbidden, code: 17)

            // v1 rooms and DMs too: a room is readable by anyone, a DM by its two members.
            let room = try await api.createChannel("room", name: "Lobby", owner: "alice")
            expectStrings(try await api.stream(.post, "/channels/room/\(room)/query", as: "dave", json: ["state": true]).channel, ["cid": "room:\(room)", "name": "Lobby"])
            let dm = try await api.call(.post, "/v1/channels", as: "alice", json: ["type": "dm", "user_id": "bob"]).string("id") ?? ""
            let dmState = try await api.stream(.post, "/channels/dm/\(dm)/query", as: "bob", json: ["state": true])
            #expect(dmState.channel["cid"] as? String == "dm:\(dm)")
            #expect(dmState.roles == ["alice": "channel_member", "bob": "channel_member"])
            expectStreamError(try await api.stream(.post, "/channels/dm/\(dm)/query", as: "dave", json: TestAPI.empty), .forbidden, code: 17)

            // A Stream channel is a group on v1, with the same messages.
            try await api.createStreamChannel("general", by: "alice", members: ["bob"], data: ["name": "General"])
            try await api.streamSend("hello v1", to: "messaging:general", as: "bob")
            let list = try await api.call(.get, "/v1/channels", as: "alice")
            let general = try #require(list.array.first { $0["name"] as? String == "General" })
            #expect(general["type"] as? String == "group")
            let generalID = try #require(general["id"] as? String)
            let generalHistory = try await api.call(.get, "/v1/channels/\(generalID)/messages", as: "bob")
            #expect((generalHistory.object["messages"] as? [[String: Any]])?.compactMap { $0["body"] as? String } == ["hello v1"])
            try await api.send("hello stream", to: generalID, as: "alice")
            let after = try await api.stream(.post, "/channels/messaging/general/query", as: "bob", json: ["state": true])
            #expect(after.texts == ["hello v1", "hello stream"])
        }
    }

    @Test("get-or-create pages messages (id_lt, id_lte, id_gt, id_gte by either id) and members (limit, offset)")
    func statePaging() async throws {
        try await TestAPI.run(.live) { api in
            try await api.upsertUsers("alice", "bob", "carol", "dave")
            try await api.createStreamChannel("general", by: "alice", members: ["bob", "carol", "dave"])
            var engineIDs: [String] = []
            for i in 0..<6 {
                engineIDs.append(try await api.streamSend("m\(i)", to: "messaging:general", as: "alice", id: i == 3 ? "three" : nil)["id"] as? String ?? "")
            }
            func state(_ extra: [String: Any]) async throws -> Reply {
                try await api.stream(.post, "/channels/messaging/general/query", as: "bob", json: ["state": true].merging(extra) { _, new in new })
            }
            #expect(try await state(["messages": ["limit": 2]]).texts == ["m4", "m5"])
            #expect(try await state(["messages": ["limit": 2, "id_lt": "three"]]).texts == ["m1", "m2"])
            #expect(try await state(["messages": ["limit": 2, "id_lte": "three"]]).texts == ["m2", "m3"])
            #expect(try await state(["messages": ["limit": 2, "id_gt": engineIDs[1]]]).texts == ["m2", "m3"])
            #expect(try await state(["messages": ["limit": 2, "id_gte": engineIDs[1]]]).texts == ["m1", "m2"])
            expectStreamError(try await state(["messages": ["id_lt": "nope"]]), .badRequest, code: 4, mentioning: "id_lt")
            for edge in ["0", "18446744073709551615"] {  // the ends of the id space: never an overflow
                for key in ["id_lte", "id_gte"] {
                    let reply = try await state(["messages": [key: edge]])
                    #expect(reply.status == .created || reply.code == 4, "\(key) \(edge): \(reply.rawBody.prefix(200))")
                }
            }
            expectStreamError(try await state(["messages": ["id_lt": "three", "id_gt": "three"]]), .badRequest, code: 4, mentioning: "one of")

            let members = { (reply: Reply) in reply.list("members").compactMap { $0["user_id"] as? String } }
            #expect(members(try await state(["members": ["limit": 2]])) == ["alice", "bob"])
            #expect(members(try await state(["members": ["limit": 2, "offset": 2]])) == ["carol", "dave"])
            #expect(members(try await state(["members": ["offset": 10]])).isEmpty)
            #expect(try await state(["members": ["limit": 2, "offset": 2]]).channel["member_count"] as? Int == 4)
        }
    }
}
