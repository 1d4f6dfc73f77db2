import ChorusGateway
import ChorusModel
import Foundation
import HTTPTypes
import NIOWebSocket
import Testing

extension TestAPI {
    /// The WebSocket URL of a `.live` test server.
    var webSocketURL: String { "ws://127.0.0.1:\(client.port!)/v1/ws" }

    /// Connects `user` and reads `hello`. Unless `start` is false, sends an empty resume (the
    /// first frame), so events flow at once instead of after the resume window.
    func connect(_ user: String, start: Bool = true) async throws -> TestSocket {
        let socket = TestSocket(url: webSocketURL + "?token=" + token(user))
        let hello = try await socket.next()
        guard hello.type == "hello" else { throw TestFailure("expected hello, got \(hello)") }
        if start { socket.send(#"{"type":"resume","channels":{}}"#) }
        return socket
    }
}

@Suite("WebSocket sessions", .serialized)
struct RealtimeTests {
    @Test("hello first; bad, expired, missing and server tokens get one error frame and close 1000")
    func connectAndAuth() async throws {
        try await TestAPI.run(.live) { api in
            let socket = TestSocket(url: api.webSocketURL + "?token=" + api.token("alice", name: "Alice"))
            let hello = try await socket.next()
            #expect(hello.type == "hello")
            #expect(hello.object["user_id"] as? String == "alice")
            #expect((hello.object["connection_id"] as? String)?.count == 32)
            #expect(hello.object["heartbeat_interval"] as? Int == 25)
            // Connecting created the user.
            #expect(try await api.call(.get, "/v1/users/alice", as: "alice").string("display_name") == "Alice")
            // The Authorization header works too.
            let header = TestSocket(url: api.webSocketURL, headers: [.authorization: "Bearer \(api.token("bob"))"])
            #expect(try await header.next().type == "hello")

            let expired = JWT.sign(JWT.Claims(userID: "alice", exp: Double(api.clock.now().seconds) - 3600), secret: Array(TestAPI.secret.utf8))
            let cases: [(String, String)] = [
                ("?token=not-a-jwt", "AUTH_INVALID_TOKEN"),
                ("?token=" + expired, "AUTH_TOKEN_EXPIRED"),
                ("", "AUTH_MISSING_TOKEN"),
                ("?token=" + api.serverToken, "AUTH_INVALID_TOKEN"),
            ]
            for (query, code) in cases {
                let bad = TestSocket(url: api.webSocketURL + query)
                let frame = try await bad.next()
                #expect(frame.type == "error" && frame.errorCode == code, "\(query)")
                #expect(try await bad.closed() == .normalClosure)
            }
            // A plain GET is a clear error, not a hang.
            #expect(try await api.call(.get, "/v1/ws").errorCode == "INVALID_REQUEST")
        }
    }

    @Test("every event type arrives in the API envelope, logged ones with the record's seq")
    func everyEventType() async throws {
        try await TestAPI.run(.live) { api in
            let channel = try await api.channelWithBob()
            try await api.createUsers("carol")
            let bob = try await api.connect("bob")
            let sent = try await api.send("hello", to: channel, as: "alice")
            let messageID = sent["id"] as! String
            let base = "/v1/channels/\(channel)"
            try await api.call(.put, "\(base)/messages/\(messageID)", as: "alice", json: ["body": "hello!"])
            try await api.call(.post, "\(base)/messages/\(messageID)/reactions", as: "alice", json: ["emote_asset_id": "wave"])
            try await api.call(.delete, "\(base)/messages/\(messageID)/reactions/wave", as: "alice")
            try await api.call(.post, "\(base)/typing", as: "alice")
            try await api.call(.post, "\(base)/read", as: "alice", json: ["last_read_message_id": messageID])
            try await api.call(.put, base, as: "alice", json: ["name": "Renamed"])
            try await api.addMember("carol", to: channel, by: "alice")
            try await api.call(.delete, "\(base)/members/carol", as: "alice")
            try await api.call(.delete, "\(base)/messages/\(messageID)", as: "alice")
            api.clock.advance(by: .seconds(5))  // alice's typing TTL runs out

            var frames: [TestSocket.Frame] = []
            for _ in 0..<11 { frames.append(try await bob.next()) }
            #expect(
                frames.map(\.type) == [
                    "message", "message_update", "reaction_add", "reaction_remove", "typing", "read", "channel_update", "member_add",
                    "member_remove", "message_delete", "typing_stop",
                ])
            for frame in frames {
                #expect(frame.channelID == channel)
                #expect(frame.object["created_at"] is Int)
            }
            let logged = frames.filter { $0.type != "typing" && $0.type != "typing_stop" }
            let seqs = logged.compactMap(\.seq)
            #expect(seqs.count == logged.count && seqs == seqs.sorted() && Set(seqs).count == seqs.count)
            #expect(frames[0].seq == sent["seq"] as? Int)
            #expect(frames[0].data["body"] as? String == "hello" && frames[0].data["id"] as? String == messageID)
            #expect(frames[1].data["body"] as? String == "hello!" && frames[1].data["edited_at"] is Int)
            #expect(frames[2].data as NSDictionary == ["message_id": messageID, "emote_asset_id": "wave", "user_id": "alice"])
            #expect(frames[4].object["seq"] == nil && frames[4].data as NSDictionary == ["user_id": "alice"])
            #expect(frames[5].data["user_id"] as? String == "alice" && frames[5].data["last_read_message_id"] as? String == messageID)
            #expect(frames[6].data["name"] as? String == "Renamed" && frames[6].data["type"] as? String == "group")
            #expect(frames[7].data["user_id"] as? String == "carol" && frames[7].data["role"] as? String == "member")
            #expect(frames[8].data as NSDictionary == ["user_id": "carol"])
            #expect(frames[9].data as NSDictionary == ["id": messageID])
            #expect(frames[10].object["seq"] == nil && frames[10].data as NSDictionary == ["user_id": "alice"])
        }
    }
}
