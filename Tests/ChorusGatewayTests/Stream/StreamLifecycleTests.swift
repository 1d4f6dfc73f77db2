import ChorusGateway
import ChorusModel
import Foundation
import HTTPTypes
import Testing

/// The Stream API's channel lifecycle and reading across channels (docs/stream-api.md, "Delete,
/// truncate, mark all read, unread counts", "Mute channels", "Query members", "App"): delete,
/// truncate, hide with clear_history, mark all read, unread counts, channel mutes, query members.
@Suite("Stream API lifecycle")
struct StreamLifecycleTests {
    /// A Stream call as `who`: a user id, `nil` for a server token, or `"anonymous"`.
    @discardableResult
    func call(_ api: TestAPI, _ method: HTTPRequest.Method, _ path: String, _ who: String?, _ json: Any? = nil) async throws -> Reply {
        if who == "anonymous" { return try await api.stream(method, path, token: nil, authType: "anonymous", json: json) }
        return try await api.stream(method, path, as: who, json: json)
    }
    /// `GET /members?payload=…`.
    func members(_ api: TestAPI, _ payload: [String: Any], as who: String? = nil) async throws -> Reply {
        let text = String(decoding: try JSONSerialization.data(withJSONObject: payload), as: UTF8.self)
        return try await call(api, .get, "/members?payload=" + (text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text), who)
    }
    /// The cids `user`'s query channels returns (a server scan for `nil`).
    func cids(_ api: TestAPI, _ user: String?, _ body: [String: Any] = [:]) async throws -> Set<String> {
        let reply = try await call(api, .post, "/channels", user, body.merging(["limit": 30]) { a, _ in a })
        #expect(reply.status == .created, "\(reply.rawBody)")
        return Set(reply.cids)
    }
    /// The v1 channel list entry of `user` named `name`.
    func v1Entry(_ api: TestAPI, _ user: String, named name: String) async throws -> [String: Any]? {
        try await api.call(.get, "/v1/channels?include_hidden=true", as: user).array.first { $0["name"] as? String == name }
    }
    /// The bodies of a v1 history.
    func v1History(_ api: TestAPI, _ id: String, as user: String) async throws -> [String] {
        let reply = try await api.call(.get, "/v1/channels/\(id)/messages", as: user)
        #expect(reply.status == .ok, "\(reply.rawBody)")
        return (reply.object["messages"] as? [[String: Any]])?.compactMap { $0["body"] as? String } ?? []
    }
    /// The texts `user` sees in `messaging:<id>` through get-or-create.
    func history(_ api: TestAPI, _ id: String, as user: String?) async throws -> [String] {
        let reply = try await call(api, .post, "/channels/messaging/\(id)/query", user, ["state": true])
        #expect(reply.status == .created, "\(reply.rawBody)")
        return reply.texts
    }
    /// `GET /unread` for `user` (user token): total and per-cid counts.
    func unread(_ api: TestAPI, _ user: String) async throws -> (Int?, [String: Int]) {
        let reply = try await call(api, .get, "/unread", user)
        #expect(reply.status == .ok, "\(reply.rawBody)")
        let channels = reply.list("channels").compactMap { c in (c["channel_id"] as? String).map { ($0, c["unread_count"] as? Int ?? -1) } }
        return (reply.object["total_unread_count"] as? Int, Dictionary(uniqueKeysWithValues: channels))
    }

    @Test("delete: 200 with deleted_at; then every call on the channel is 404 code 16 \"Can't find channel\", and it leaves every list")
    func delete() async throws {
        try await TestAPI.run { api in
            api.clock.set(TestAPI.streamEpoch)
            try await api.upsertUsers("alice", "bob")
            try await api.createStreamChannel("general", by: "alice", members: ["bob"], data: ["name": "General"])
            try await api.createStreamChannel("random", by: "alice", members: ["bob"], data: ["name": "Random"])
            try await api.streamSend("hello", to: "messaging:general", as: "bob")
            #expect(try await v1Entry(api, "alice", named: "General") != nil)
            api.clock.advance(by: .seconds(10))
            let reply = try await call(api, .delete, "/channels/messaging/general?hard_delete=true", nil)
            #expect(reply.status == .ok, "\(reply.rawBody)")
            expectStreamHeaders(reply)
            expectStrings(reply.channel, ["cid": "messaging:general", "name": "General",
                                          "deleted_at": TestAPI.rfc3339(TestAPI.streamEpoch.advanced(by: .seconds(10)))])
            #expect(reply.channel["member_count"] as? Int == 2, "the channel as it was")

            let path = "/channels/messaging/general"
            let after: [(String, HTTPRequest.Method, String, String?, [String: Any]?)] = [
                ("get", .post, path + "/query", "alice", ["state": true]),
                ("re-create", .post, path + "/query", nil, ["data": ["created_by": ["id": "alice"], "members": ["bob"]]]),
                ("re-create as user", .post, path + "/query", "bob", ["data": ["members": ["alice"]]]),
                ("send", .post, path + "/message", "bob", ["message": ["text": "anyone?"]]),
                ("update", .post, path, "alice", ["data": ["name": "X"]]), ("patch", .patch, path, "alice", ["set": ["a": 1]]),
                ("hide", .post, path + "/hide", "alice", [:]), ("read", .post, path + "/read", "alice", [:]),
                ("truncate", .post, path + "/truncate", nil, [:]), ("delete again", .delete, path, nil, nil),
                ("mute", .post, "/moderation/mute/channel", "alice", ["channel_cid": "messaging:general"]),
            ]
            for (name, method, path, who, body) in after {
                expectStreamError(try await call(api, method, path, who, body), .notFound, code: 16, mentioning: "Can't find channel", name)
            }
            expectStreamError(try await members(api, ["type": "messaging", "id": "general"]), .notFound, code: 16, mentioning: "Can't find channel")
            for user in ["alice", "bob", nil] { #expect(try await cids(api, user) == ["messaging:random"], "\(user ?? "server")") }
            #expect(try await cids(api, nil, ["user_id": "bob"]) == ["messaging:random"])
            #expect(try await cids(api, nil, ["filter_conditions": ["members": ["$in": ["alice"]]]]) == ["messaging:random"])
            for user in ["alice", "bob"] {
                #expect(try await v1Entry(api, user, named: "General") == nil, "v1 list of \(user)")
                #expect(try await v1Entry(api, user, named: "Random") != nil)
                #expect(try await unread(api, user).1["messaging:general"] == nil)
            }
            // The owner deletes without hard_delete too.
            let soft = try await call(api, .delete, "/channels/messaging/random?hard_delete=false", "alice")
            #expect(soft.status == .ok, "\(soft.rawBody)")
            #expect(try await cids(api, "alice").isEmpty)
            expectStreamError(try await call(api, .post, "/channels/messaging/random/query", "bob", [:]), .notFound, code: 16, mentioning: "Can't find channel")
        }
    }

    @Test("delete and truncate: plain members, non-members, anonymous and impostors get 403 code 17; bad input 400; a v1 admin (moderator) may")
    func deleteAndTruncatePermissions() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob", "carol")
            try await api.createStreamChannel("general", by: "alice", members: ["bob"])
            try await api.streamSend("keep", to: "messaging:general", as: "bob")
            let path = "/channels/messaging/general"
            for (method, target) in [(HTTPRequest.Method.delete, path), (.post, path + "/truncate")] {
                let cases: [(String, String?, Any?, HTTPResponse.Status, Int)] = [
                    ("plain member", "bob", nil, .forbidden, 17), ("non-member", "carol", nil, .forbidden, 17),
                    ("anonymous", "anonymous", nil, .forbidden, 17), ("owner naming another user", "alice", ["user_id": "bob"], .forbidden, 17),
                    ("body not JSON object", "alice", ["a"], .badRequest, 4),
                ]
                for (name, who, body, status, code) in cases {
                    expectStreamError(try await call(api, method, target, who, body), status, code: code, "\(method) \(name)")
                }
                let unknown = method == .delete ? "/channels/messaging/nowhere" : "/channels/messaging/nowhere/truncate"
                expectStreamError(try await call(api, method, unknown, "alice"), .notFound, code: 16, mentioning: "Can't find channel")
                expectStreamError(try await call(api, method, "/channels/messaging/bad.id" + (method == .delete ? "" : "/truncate"), "alice"), .badRequest, code: 4)
            }
            expectStreamError(try await call(api, .delete, path + "?hard_delete=maybe", nil), .badRequest, code: 4, mentioning: "hard_delete")
            expectStreamError(try await call(api, .post, path + "/truncate", nil, ["hard_delete": "yes"]), .badRequest, code: 4, mentioning: "hard_delete")
            expectStreamError(try await call(api, .post, path + "/truncate", nil, ["message": ["text": "cleared"]]), .badRequest, code: 4, mentioning: "message")
            #expect(try await history(api, "general", as: "bob") == ["keep"], "refused calls changed nothing")

            // A v1 group: its admin is a channel_moderator and may truncate and delete it.
            try await api.createUsers("dave")
            let group = try await api.createChannel(name: "Team", owner: "alice")
            try await api.addMember("carol", to: group, by: "alice", role: "admin")
            try await api.addMember("dave", to: group, by: "alice")
            try await api.send("v1 message", to: group, as: "dave")
            expectStreamError(try await call(api, .delete, "/channels/group/\(group)", "dave"), .forbidden, code: 17)
            #expect(try await call(api, .post, "/channels/group/\(group)/truncate", "carol", [:]).status == .created)
            #expect(try await v1History(api, group, as: "dave").isEmpty)
            let deleted = try await call(api, .delete, "/channels/group/\(group)", "carol")
            #expect(deleted.status == .ok, "\(deleted.rawBody)")
            #expect(try await api.call(.get, "/v1/channels/\(group)", as: "alice").status == .notFound)
            #expect(try await v1Entry(api, "dave", named: "Team") == nil)
        }
    }

    @Test("truncate: 201 with truncated_at; earlier messages leave both facades' histories and unread counts; new ones show")
    func truncate() async throws {
        try await TestAPI.run { api in
            api.clock.set(TestAPI.streamEpoch)
            try await api.upsertUsers("alice", "bob")
            try await api.createStreamChannel("general", by: "alice", members: ["bob"], data: ["name": "General"])
            for text in ["one", "two", "three"] { try await api.streamSend(text, to: "messaging:general", as: "bob") }
            let v1ID = try #require(try await v1Entry(api, "alice", named: "General")?["id"] as? String)
            #expect(try await unread(api, "alice").0 == 3)
            #expect(try await v1Entry(api, "alice", named: "General")?["unread_count"] as? Int == 3)

            api.clock.advance(by: .seconds(5))
            let reply = try await call(api, .post, "/channels/messaging/general/truncate", "alice", [:])
            #expect(reply.status == .created, "\(reply.rawBody)")
            expectStreamHeaders(reply)
            expectStrings(reply.channel, ["cid": "messaging:general", "truncated_at": TestAPI.rfc3339(TestAPI.streamEpoch.advanced(by: .seconds(5)))])
            for user in ["alice", "bob", nil] { #expect(try await history(api, "general", as: user) == [], "\(user ?? "server")") }
            for user in ["alice", "bob"] { #expect(try await v1History(api, v1ID, as: user) == [], "v1 \(user)") }
            #expect(try await unread(api, "alice").0 == 0)
            #expect(try await v1Entry(api, "alice", named: "General")?["unread_count"] as? Int == 0)
            #expect(try await cids(api, "alice") == ["messaging:general"], "the channel itself stays")

            try await api.streamSend("four", to: "messaging:general", as: "bob")
            try await api.send("five", to: v1ID, as: "bob")
            #expect(try await history(api, "general", as: "alice") == ["four", "five"])
            #expect(try await v1History(api, v1ID, as: "alice") == ["four", "five"])
            #expect(try await unread(api, "alice").1 == ["messaging:general": 2])
            #expect(try await v1Entry(api, "alice", named: "General")?["unread_count"] as? Int == 2)

            // A server truncates with hard_delete.
            #expect(try await call(api, .post, "/channels/messaging/general/truncate", nil, ["hard_delete": true]).status == .created)
            #expect(try await history(api, "general", as: "bob") == [])
            #expect(try await v1History(api, v1ID, as: "bob") == [])
            #expect(try await unread(api, "alice").0 == 0)
        }
    }

    @Test("hide with clear_history: the history so far disappears for that user only (both facades), the channel hides until the next message")
    func clearHistory() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob", "carol")
            try await api.createStreamChannel("general", by: "alice", members: ["bob", "carol"], data: ["name": "General"])
            for text in ["one", "two"] { try await api.streamSend(text, to: "messaging:general", as: "bob") }
            let v1ID = try #require(try await v1Entry(api, "alice", named: "General")?["id"] as? String)
            // A plain hide keeps the history.
            #expect(try await call(api, .post, "/channels/messaging/general/hide", "carol", [:]).status == .created)
            #expect(try await history(api, "general", as: "carol") == ["one", "two"])
            expectStreamError(try await call(api, .post, "/channels/messaging/general/hide", "alice", ["clear_history": "yes"]), .badRequest, code: 4)

            let hide = try await call(api, .post, "/channels/messaging/general/hide", "alice", ["clear_history": true])
            #expect(hide.status == .created, "\(hide.rawBody)")
            #expect(try await history(api, "general", as: "alice") == [])
            #expect(try await v1History(api, v1ID, as: "alice") == [])
            #expect(try await history(api, "general", as: "bob") == ["one", "two"], "others keep it")
            #expect(try await v1History(api, v1ID, as: "bob") == ["one", "two"])
            #expect(try await unread(api, "alice").0 == 0)
            #expect(try await cids(api, "alice").isEmpty)
            #expect(try await cids(api, "alice", ["filter_conditions": ["hidden": true]]) == ["messaging:general"])

            try await api.streamSend("three", to: "messaging:general", as: "bob")
            #expect(try await history(api, "general", as: "alice") == ["three"])
            #expect(try await v1History(api, v1ID, as: "alice") == ["three"])
            #expect(try await unread(api, "alice").1 == ["messaging:general": 1])
            #expect(try await cids(api, "alice") == ["messaging:general"], "a new message shows the channel again")
            // A server clears for the user it names.
            #expect(try await call(api, .post, "/channels/messaging/general/hide", nil, ["user_id": "carol", "clear_history": true]).status == .created)
            #expect(try await history(api, "general", as: "carol") == [])
            #expect(try await history(api, "general", as: "bob") == ["one", "two", "three"])
        }
    }

    @Test("mark all read and GET /unread: totals and per-channel counts (others' messages), ?user_id= for a server; errors")
    func markAllReadAndUnread() async throws {
        try await TestAPI.run { api in
            api.clock.set(TestAPI.streamEpoch)
            try await api.upsertUsers("alice", "bob", "carol")
            for id in ["a", "b", "c"] { try await api.createStreamChannel(id, by: "alice", members: ["bob", "carol"]) }
            try await api.streamSend("x", to: "messaging:a", as: "bob")
            try await api.streamSend("y", to: "messaging:a", as: "carol")
            try await api.streamSend("z", to: "messaging:b", as: "bob")
            try await api.streamSend("mine", to: "messaging:c", as: "alice")
            let reply = try await call(api, .get, "/unread", "alice")
            #expect(reply.status == .ok, "\(reply.rawBody)")
            expectStreamHeaders(reply)
            #expect(reply.object["total_unread_count"] as? Int == 3 && reply.object["unread_channels"] as? Int == 2)
            #expect(reply.list("channels").map { $0["channel_id"] as? String } == ["messaging:a", "messaging:b"])
            #expect(reply.list("channels").allSatisfy { $0["last_read"] is NSNull }, "nothing read yet")
            #expect(try await unread(api, "alice").1 == ["messaging:a": 2, "messaging:b": 1])
            #expect(try await unread(api, "bob").1 == ["messaging:a": 1, "messaging:c": 1])
            let server = try await call(api, .get, "/unread?user_id=alice", nil)
            #expect(server.object["total_unread_count"] as? Int == 3 && server.list("channels").count == 2, "\(server.rawBody)")

            api.clock.advance(by: .seconds(7))
            let read = try await call(api, .post, "/channels/read", "alice", [:])
            #expect(read.status == .created, "\(read.rawBody)")
            expectStreamHeaders(read)
            #expect(try await unread(api, "alice").0 == 0)
            #expect(try await unread(api, "bob").0 == 2, "only alice's cursors moved")
            try await api.streamSend("new", to: "messaging:b", as: "carol")
            let later = try await call(api, .get, "/unread", "alice")
            #expect(later.list("channels").map { [$0["channel_id"] as? String, $0["last_read"] as? String] }
                    == [["messaging:b", TestAPI.rfc3339(TestAPI.streamEpoch.advanced(by: .seconds(7)))]])
            #expect(try await call(api, .post, "/channels/read", nil, ["user_id": "bob"]).status == .created)
            #expect(try await unread(api, "bob").0 == 0)

            let errors: [(String, HTTPRequest.Method, String, String?, [String: Any]?, HTTPResponse.Status, Int)] = [
                ("unread: server without user_id", .get, "/unread", nil, nil, .badRequest, 4), ("unread: anonymous", .get, "/unread", "anonymous", nil, .forbidden, 17),
                ("unread: bad user_id", .get, "/unread?user_id=no%20spaces", nil, nil, .badRequest, 4),
                ("unread: user naming another", .get, "/unread?user_id=bob", "alice", nil, .forbidden, 17),
                ("read all: server without user_id", .post, "/channels/read", nil, [:], .badRequest, 4),
                ("read all: user naming another", .post, "/channels/read", "alice", ["user_id": "bob"], .forbidden, 17),
                ("read all: anonymous", .post, "/channels/read", "anonymous", [:], .forbidden, 17),
                ("read all: user_id not a string", .post, "/channels/read", nil, ["user_id": 5], .badRequest, 4),
            ]
            for (name, method, path, who, body, status, code) in errors {
                expectStreamError(try await call(api, method, path, who, body), status, code: code, name)
            }
        }
    }

    @Test("mute channels: 201 with channel_mute(s) and own_user; query channels filters on muted; expiration ends by the clock; unmute")
    func mutes() async throws {
        try await TestAPI.run { api in
            api.clock.set(TestAPI.streamEpoch)
            try await api.upsertUsers("alice", "bob")
            for id in ["a", "b", "c"] { try await api.createStreamChannel(id, by: "alice", members: ["bob"]) }
            func muted(_ user: String, _ value: Bool = true) async throws -> Set<String> {
                try await cids(api, user, ["filter_conditions": ["muted": value]])
            }
            let reply = try await call(api, .post, "/moderation/mute/channel", "alice", ["channel_cid": "messaging:a", "expiration": 60_000])
            #expect(reply.status == .created, "\(reply.rawBody)")
            expectStreamHeaders(reply)
            expectStrings(reply.dict("channel_mute"), [
                "user.id": "alice", "channel.cid": "messaging:a", "created_at": TestAPI.rfc3339(TestAPI.streamEpoch),
                "expires": TestAPI.rfc3339(TestAPI.streamEpoch.advanced(by: .seconds(60))),
            ])
            #expect(reply.list("channel_mutes").count == 1 && reply.dict("own_user")["id"] as? String == "alice", "\(reply.rawBody)")
            let two = try await call(api, .post, "/moderation/mute/channel", nil, ["user_id": "alice", "channel_cids": ["messaging:b", "messaging:c"]])
            #expect(two.status == .created, "\(two.rawBody)")
            #expect(Set(two.list("channel_mutes").map { $0.dict("channel")["cid"] as? String }) == ["messaging:b", "messaging:c"])
            #expect(two.list("channel_mutes").allSatisfy { $0["expires"] is NSNull })
            #expect(try await muted("alice") == ["messaging:a", "messaging:b", "messaging:c"])
            #expect(try await muted("bob").isEmpty, "mutes are per user")
            #expect(try await muted("bob", false) == ["messaging:a", "messaging:b", "messaging:c"])

            api.clock.advance(by: .milliseconds(59_999))
            #expect(try await muted("alice").contains("messaging:a"))
            api.clock.advance(by: .milliseconds(1))
            #expect(try await muted("alice") == ["messaging:b", "messaging:c"], "expired at its expires")
            #expect(try await muted("alice", false) == ["messaging:a"])

            let unmute = try await call(api, .post, "/moderation/unmute/channel", "alice", ["channel_cids": ["messaging:b"]])
            #expect(unmute.status == .created, "\(unmute.rawBody)")
            expectStreamHeaders(unmute)
            #expect(try await muted("alice") == ["messaging:c"])
            #expect(try await call(api, .post, "/moderation/unmute/channel", "alice", ["channel_cid": "messaging:a"]).status == .created, "no-op")
            #expect(try await call(api, .post, "/moderation/unmute/channel", nil, ["user_id": "alice", "channel_cid": "messaging:c"]).status == .created)
            #expect(try await muted("alice").isEmpty)
            // Muting again renews: a new expiry.
            #expect(try await call(api, .post, "/moderation/mute/channel", "alice", ["channel_cid": "messaging:a", "expiration": 1000]).status == .created)
            #expect(try await muted("alice") == ["messaging:a"])
            api.clock.advance(by: .seconds(1))
            #expect(try await muted("alice").isEmpty)
        }
    }

    @Test("mute errors: missing or bad cids, over 25, bad expiration (400 code 4); unknown channel 404; non-member, impostor, anonymous 403")
    func muteErrors() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob", "carol")
            try await api.createStreamChannel("a", by: "alice", members: ["bob"])
            let many = (0...25).map { "messaging:c\($0)" }
            let cases: [(String, String?, [String: Any], HTTPResponse.Status, Int)] = [
                ("no cids", "alice", [:], .badRequest, 4), ("empty cids", "alice", ["channel_cids": [] as [String]], .badRequest, 4),
                ("26 cids", "alice", ["channel_cids": many], .badRequest, 4), ("not a cid", "alice", ["channel_cid": "nocolon"], .badRequest, 4),
                ("cids not an array", "alice", ["channel_cids": "messaging:a"], .badRequest, 4),
                ("expiration 0", "alice", ["channel_cid": "messaging:a", "expiration": 0], .badRequest, 4),
                ("negative expiration", "alice", ["channel_cid": "messaging:a", "expiration": -5], .badRequest, 4),
                ("fractional expiration", "alice", ["channel_cid": "messaging:a", "expiration": 1.5], .badRequest, 4),
                ("string expiration", "alice", ["channel_cid": "messaging:a", "expiration": "soon"], .badRequest, 4),
                ("server without user_id", nil, ["channel_cid": "messaging:a"], .badRequest, 4), ("non-member", "carol", ["channel_cid": "messaging:a"], .forbidden, 17),
                ("unknown channel", "alice", ["channel_cid": "messaging:nowhere"], .notFound, 16), ("anonymous", "anonymous", ["channel_cid": "messaging:a"], .forbidden, 17),
                ("impostor", "alice", ["channel_cid": "messaging:a", "user_id": "bob"], .forbidden, 17),
            ]
            for path in ["/moderation/mute/channel", "/moderation/unmute/channel"] {
                for (name, who, body, status, code) in cases where !(path.contains("unmute") && name.contains("expiration")) {
                    expectStreamError(try await call(api, .post, path, who, body), status, code: code, "\(path) \(name)")
                }
            }
            #expect(try await cids(api, "alice", ["filter_conditions": ["muted": true]]).isEmpty, "nothing was muted")
        }
    }

    @Test("query members: filters (incl. $autocomplete on name), sorts, limit and offset; default join order")
    func queryMembers() async throws {
        try await TestAPI.run { api in
            let t0 = TestAPI.streamEpoch
            api.clock.set(t0)
            try await api.upsertUsers("alice", "bob", "carol", "albert", "dave", "eve")
            try await api.createStreamChannel("team", by: "alice", members: ["bob"])
            for user in ["carol", "albert", "dave"] {
                api.clock.advance(by: .seconds(60))
                #expect(try await call(api, .post, "/channels/messaging/team", "alice", ["add_members": [user]]).status == .created)
            }
            func at(_ seconds: Int64) -> String { TestAPI.rfc3339(t0.advanced(by: .seconds(seconds))) }
            func sort(_ field: String, _ direction: Int) -> [[String: Any]] { [["field": field, "direction": direction]] }
            let cases: [([String: Any], [String])] = [
                ([:], ["alice", "bob", "carol", "albert", "dave"]),
                (["filter_conditions": ["name": ["$autocomplete": "al"]]], ["alice", "albert"]), (["filter_conditions": ["name": ["$autocomplete": "Car"]]], ["carol"]),
                (["filter_conditions": ["id": "bob"]], ["bob"]), (["filter_conditions": ["user_id": ["$in": ["dave", "carol", "zed"]]]], ["carol", "dave"]),
                (["filter_conditions": ["channel_role": "owner"]], ["alice"]), (["filter_conditions": ["channel_role": "channel_member"]], ["bob", "carol", "albert", "dave"]),
                (["filter_conditions": ["created_at": ["$gte": at(120)]]], ["albert", "dave"]),
                (["filter_conditions": ["$or": [["name": "Bob"], ["id": "dave"]]]], ["bob", "dave"]),
                (["filter_conditions": ["banned": true]], []), (["filter_conditions": ["joined": true], "limit": 1], ["alice"]),
                (["sort": sort("name", 1)], ["albert", "alice", "bob", "carol", "dave"]),
                (["sort": sort("user_id", -1)], ["dave", "carol", "bob", "alice", "albert"]),
                (["sort": sort("created_at", -1)], ["dave", "albert", "carol", "alice", "bob"]),
                (["limit": 2], ["alice", "bob"]), (["limit": 2, "offset": 2], ["carol", "albert"]), (["offset": 5], []), (["limit": 0], []),
                (["filter_conditions": ["channel_role": "channel_member"], "sort": sort("name", -1), "limit": 2, "offset": 1], ["carol", "bob"]),
            ]
            for (extra, expected) in cases {
                let reply = try await members(api, extra.merging(["type": "messaging", "id": "team"]) { a, _ in a })
                #expect(reply.status == .ok, "\(extra): \(reply.rawBody)")
                #expect(reply.list("members").map { $0["user_id"] as? String ?? "?" } == expected, "\(extra)")
            }
            let one = try await members(api, ["type": "messaging", "id": "team", "filter_conditions": ["id": "albert"]], as: "bob")
            expectStreamHeaders(one)
            expectStrings(try #require(one.list("members").first), [
                "user_id": "albert", "user.id": "albert", "user.name": "Albert", "channel_role": "channel_member", "created_at": at(120),
            ])
            // A public (livestream) channel's members may be read by anyone, anonymous included.
            try await api.createStreamChannel("show", type: "livestream", by: "alice", members: ["bob"])
            for who in ["eve", "anonymous"] {
                let reply = try await members(api, ["type": "livestream", "id": "show"], as: who)
                #expect(reply.list("members").map { $0["user_id"] as? String } == ["alice", "bob"], "\(who): \(reply.rawBody)")
            }
        }
    }

    @Test("query members errors: unknown filter or sort fields, bad pages, bad payload (400 code 4); 404; non-members and anonymous 403")
    func queryMembersErrors() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob", "eve")
            try await api.createStreamChannel("team", by: "alice", members: ["bob"], data: ["color": "red"])
            let team: [String: Any] = ["type": "messaging", "id": "team"]
            let cases: [([String: Any], String)] = [
                (["filter_conditions": ["color": "red"]], "color"), (["filter_conditions": ["$or": [["id": "bob"], ["cid": "x"]]]], "cid"),
                (["filter_conditions": ["name": ["$regex": "a"]]], "name"), (["filter_conditions": "bob"], "filter_conditions"),
                (["sort": [["field": "color", "direction": 1]]], "color"), (["sort": [["field": "name", "direction": 0]]], "direction"),
                (["limit": 301], "limit"), (["limit": -1], "limit"), (["offset": 10_001], "offset"), (["limit": "5"], "limit"),
            ]
            for (extra, field) in cases {
                expectStreamError(try await members(api, extra.merging(team) { a, _ in a }), .badRequest, code: 4, mentioning: field, "\(extra)")
            }
            expectStreamError(try await members(api, ["type": "messaging"]), .badRequest, code: 4, mentioning: "payload")
            expectStreamError(try await members(api, ["type": "messaging", "id": "bad.id"]), .badRequest, code: 4)
            expectStreamError(try await call(api, .get, "/members", nil), .badRequest, code: 4, mentioning: "payload")
            expectStreamError(try await call(api, .get, "/members?payload=%7Bnope", nil), .badRequest, code: 4, mentioning: "payload")
            expectStreamError(try await members(api, ["type": "messaging", "id": "nowhere"]), .notFound, code: 16, mentioning: "Can't find channel")
            expectStreamError(try await members(api, team, as: "eve"), .forbidden, code: 17, "non-member")
            expectStreamError(try await members(api, team, as: "anonymous"), .forbidden, code: 17, "anonymous")
            expectStreamError(try await members(api, team.merging(["user_id": "bob"]) { a, _ in a }, as: "alice"), .forbidden, code: 17, "impostor")
            #expect(try await members(api, team.merging(["user_id": "bob"]) { a, _ in a }).status == .ok, "a server reading as a member")
        }
    }

    @Test("GET /app: name, permission_version, auth_type and max_message_length for server and user tokens; anonymous is 403 (docs: Anonymous)")
    func app() async throws {
        try await TestAPI.run(configuration: .testing { $0.limits.maxMessageLength = 1234 }) { api in
            for who in [nil, "alice"] {
                let reply = try await call(api, .get, "/app", who)
                #expect(reply.status == .ok, "\(reply.rawBody)")
                expectStreamHeaders(reply)
                expectStrings(reply.dict("app"), ["name": ChorusConfiguration.testing().node.name, "auth_type": "jwt", "permission_version": "v2"])
                #expect(reply.dict("app")["max_message_length"] as? Int == 1234)
            }
            expectStreamError(try await call(api, .get, "/app", "anonymous"), .forbidden, code: 17)
            expectStreamError(try await api.stream(.get, "/app", token: api.serverToken, apiKey: "wrong"), .unauthorized, code: 2)
        }
    }
}
