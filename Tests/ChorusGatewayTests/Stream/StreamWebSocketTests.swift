import ChorusAuth
import ChorusTestSupport
import Foundation
import HTTPTypes
import NIOWebSocket
import Testing

extension TestAPI {
    /// `ws://…/connect` with the Stream query parameters for `user` (override any of them).
    func streamConnectURL(_ user: String, token: String? = nil, apiKey: String = TestAPI.streamKey, json: String? = nil) -> String {
        let payload = json ?? #"{"user_id": "\#(user)", "user_details": {"id": "\#(user)", "name": "\#(user.capitalized)"}, "server_determines_connection_id": true}"#
        let encoded = payload.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? payload
        return "ws://127.0.0.1:\(client.port!)/connect?json=\(encoded)&api_key=\(apiKey)&authorization=\(token ?? self.token(user))&stream-auth-type=jwt"
    }

    /// Connects `user` to the Stream WebSocket and returns the socket and its first event.
    func streamConnect(_ user: String) async throws -> (TestSocket, TestSocket.Frame) {
        let socket = TestSocket(url: streamConnectURL(user))
        let first = try await socket.next(timeout: .seconds(30))
        guard first.type == "health.check" else { throw TestFailure("expected health.check, got \(first)") }
        return (socket, first)
    }

    /// Makes `user`'s socket (`connection`, from its first health.check) watch `cid`; returns the
    /// channel state.
    @discardableResult
    func streamWatch(_ cid: String, as user: String, connection: Any?, presence: Bool = false, extra: [String: Any] = [:]) async throws -> Reply {
        let reply = try await stream(
            .post, "/channels/\(cid.replacingOccurrences(of: ":", with: "/"))/query", as: user,
            json: ["state": true, "watch": true, "presence": presence, "connection_id": connection as Any].merging(extra) { _, new in new })
        guard reply.status == .created else { throw TestFailure("watch \(cid) as \(user): \(reply.status) \(reply.object)") }
        return reply
    }
}

@Suite("Stream API WebSocket", .serialized)
struct StreamWebSocketTests {
    @Test("connect: the first event is health.check with connection_id and me (unread counts, mutes); the user is created or renamed")
    func connect() async throws {
        try await TestAPI.run(.live) { api in
            try await api.upsertUsers("alice", "bob")
            try await api.createStreamChannel("general", by: "alice", members: ["bob"])
            try await api.createStreamChannel("quiet", by: "alice", members: ["bob"])
            try await api.streamSend("one", to: "messaging:general", as: "alice")
            try await api.streamSend("two", to: "messaging:general", as: "alice")
            let mute = try await api.stream(.post, "/moderation/mute/channel", as: "bob", json: ["channel_cid": "messaging:quiet"])
            #expect(mute.status == .created)

            let (_, first) = try await api.streamConnect("bob")
            #expect((first.object["connection_id"] as? String)?.isEmpty == false)
            let me = try #require(first.object["me"] as? [String: Any])
            #expect(me["id"] as? String == "bob")
            #expect(me["total_unread_count"] as? Int == 2)
            #expect(me["unread_channels"] as? Int == 1)
            let mutes = try #require(me["channel_mutes"] as? [[String: Any]])
            #expect(mutes.compactMap { ($0["channel"] as? [String: Any])?["cid"] as? String } == ["messaging:quiet"])
            // Connecting created carol, named from user_details.
            _ = try await api.streamConnect("carol")
            #expect(try await api.call(.get, "/v1/users/carol", as: "carol").string("display_name") == "Carol")
        }
    }

    @Test("events of watched channels arrive in Stream's format, from both facades, with the channel's cid")
    func events() async throws {
        try await TestAPI.run(.live) { api in
            try await api.upsertUsers("alice", "bob")
            try await api.createStreamChannel("general", by: "alice", members: ["bob"])
            let (bob, hello) = try await api.streamConnect("bob")
            try await api.streamWatch("messaging:general", as: "bob", connection: hello.object["connection_id"])
            try await api.streamSend("hello", to: "messaging:general", as: "alice", id: "m1")
            let new = try await bob.next(skipping: ["health.check"])
            #expect(new.type == "message.new")
            #expect(new.object["cid"] as? String == "messaging:general")
            #expect(new.object["channel_type"] as? String == "messaging")
            #expect(new.object["channel_id"] as? String == "general")
            let message = try #require(new.object["message"] as? [String: Any])
            #expect(message["id"] as? String == "m1")
            #expect(message["text"] as? String == "hello")
            #expect((new.object["user"] as? [String: Any])?["id"] as? String == "alice")
            #expect(new.object["created_at"] as? String == TestAPI.rfc3339(api.clock.now()))

            let patch = try await api.stream(.patch, "/channels/messaging/general", as: "alice", json: ["set": ["color": "red"]])
            #expect(patch.status == .ok)
            #expect(try await bob.next(skipping: ["health.check"]).type == "channel.updated")
            let read = try await api.stream(.post, "/channels/messaging/general/read", as: "alice", json: [:])
            #expect(read.status == .created)
            let readEvent = try await bob.next(skipping: ["health.check"])
            #expect(readEvent.type == "message.read")
            #expect((readEvent.object["user"] as? [String: Any])?["id"] as? String == "alice")

            // A v1 group reached as group:<id>; bob does not watch it: he hears of it by notifications.
            let group = try await api.channelWithBob()
            let v1Member = try await bob.next(skipping: ["health.check"])
            #expect(v1Member.type == "notification.added_to_channel")
            #expect(v1Member.object["cid"] as? String == "group:\(group)")
            try await api.send("from v1", to: group, as: "alice")
            let fromV1 = try await bob.next(skipping: ["health.check"])
            #expect(fromV1.type == "notification.message_new")
            #expect(fromV1.object["cid"] as? String == "group:\(group)")
            #expect((fromV1.object["message"] as? [String: Any])?["text"] as? String == "from v1")
            // Watching it, a v1 message arrives as message.new with that cid.
            try await api.streamWatch("group:\(group)", as: "bob", connection: hello.object["connection_id"])
            try await api.send("watched", to: group, as: "alice")
            let watched = try await bob.next(skipping: ["health.check"])
            #expect(watched.type == "message.new" && watched.object["cid"] as? String == "group:\(group)")

            // Truncation and deletion have their own Stream events (v1 sockets see channel_update).
            let v1Bob = try await api.connect("bob")
            let truncate = try await api.stream(.post, "/channels/messaging/general/truncate", as: "alice", json: [:])
            #expect(truncate.status == .created)
            let truncated = try await bob.next(skipping: ["health.check"])
            #expect(truncated.type == "channel.truncated" && truncated.object["cid"] as? String == "messaging:general")
            #expect(try await v1Bob.next().type == "channel_update")
            #expect(try await api.stream(.delete, "/channels/messaging/general", as: "alice").status == .ok)
            let deleted = try await bob.next(skipping: ["health.check"])
            #expect(deleted.type == "channel.deleted" && deleted.object["cid"] as? String == "messaging:general")
            #expect(try await v1Bob.next().type == "channel_update")
        }
    }

    @Test("health.check every heartbeat interval of the injected clock (at most 30 s)")
    func healthChecks() async throws {
        try await TestAPI.run(.live) { api in
            let (socket, first) = try await api.streamConnect("alice")
            try await eventually("the heartbeat is armed") { api.clock.sleeperCount >= 1 }
            api.clock.advance(by: .seconds(25))
            let health = try await socket.next(skipping: [])
            #expect(health.type == "health.check")
            #expect(health.object["connection_id"] as? String == first.object["connection_id"] as? String)
            #expect(health.object["me"] == nil)
        }
    }

    @Test("precondition errors: one error event in Stream's shape, then close 1000")
    func preconditionErrors() async throws {
        try await TestAPI.run(.live) { api in
            let expired = JWT.sign(JWT.Claims(userID: "alice", exp: Double(api.clock.now().seconds) - 3600), secret: Array(TestAPI.secret.utf8))
            let cases: [(String, Int)] = [
                (api.streamConnectURL("alice", apiKey: "wrong"), 2),
                (api.streamConnectURL("alice", token: "not-a-jwt"), 5),
                (api.streamConnectURL("alice", token: expired), 40),
                (api.streamConnectURL("alice", token: api.serverToken), 5),
                (api.streamConnectURL("alice", json: "not json"), 4),
                (api.streamConnectURL("alice", json: #"{"user_id": "bob"}"#), 17),
            ]
            for (url, code) in cases {
                let path = String(url.drop { $0 != "/" }.dropFirst(2).drop { $0 != "/" })
                let socket = try RawWebSocket(port: api.client.port!, path: path)
                let text = try #require(try await socket.nextText())
                let frame = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
                let error = try #require(frame["error"] as? [String: Any], "\(text)")
                #expect(error["code"] as? Int == code, "\(url): \(text)")
                #expect(error["StatusCode"] is Int && error["message"] is String)
                var rest: [String] = []
                #expect(try await socket.readUntilClose(texts: &rest) == 1000 && rest.isEmpty, "\(url)")
            }
        }
    }
}
