import ChorusAuth
@testable import ChorusGateway
import ChorusTestSupport
import ChorusModel
import Foundation
import HTTPTypes
import NIOWebSocket
import Testing

extension TestAPI {
    /// The WebSocket URL of a `.live` test server.
    var webSocketURL: String { "ws://127.0.0.1:\(client.port!)/v1/ws" }

    /// Connects `user` and reads `hello`; events are live from then on. With `resuming`, the
    /// client announces a resume (`?resume=1`): events wait for its first frame (a `resume`).
    func connect(_ user: String, resuming: Bool = false) async throws -> TestSocket {
        let socket = TestSocket(url: webSocketURL + (resuming ? "?resume=1&token=" : "?token=") + token(user))
        let hello = try await socket.next()
        guard hello.type == "hello" else { throw TestFailure("expected hello, got \(hello)") }
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
            // A raw client: it reads every byte sent right after the upgrade response (the error
            // frame follows it at once, and the client library can miss frames that early).
            for (query, code) in cases {
                let bad = try RawWebSocket(port: api.client.port!, path: "/v1/ws" + query)
                let text = try #require(try await bad.nextText())
                let frame = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
                #expect(frame?["type"] as? String == "error", "\(query)")
                #expect((frame?["error"] as? [String: Any])?["code"] as? String == code, "\(query)")
                var rest: [String] = []
                #expect(try await bad.readUntilClose(texts: &rest) == 1000 && rest.isEmpty)
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

    @Test("concurrent senders: every socket sees every message once, in the same strictly increasing seq order")
    func orderingUnderConcurrentSenders() async throws {
        try await TestAPI.run(.live) { api in
            let channel = try await api.channelWithBob()
            try await api.createUsers("carol", "dave")
            for user in ["carol", "dave"] { try await api.addMember(user, to: channel, by: "alice") }
            let sockets = [try await api.connect("bob"), try await api.connect("carol"), try await api.connect("bob")]
            let senders = ["alice", "bob", "carol", "dave"]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for sender in senders {
                    group.addTask {
                        for i in 0..<25 { try await api.send("\(sender) \(i)", to: channel, as: sender) }
                    }
                }
                try await group.waitForAll()
            }
            var streams: [[String]] = []
            for socket in sockets {
                var stream: [(seq: Int, body: String)] = []
                while stream.count < 100 {
                    let frame = try await socket.next()
                    if frame.type == "message" { stream.append((frame.seq!, frame.data["body"] as! String)) }
                }
                #expect(zip(stream, stream.dropFirst()).allSatisfy { $0.seq < $1.seq })
                // Each sender's own messages keep the order they were sent in.
                for sender in senders {
                    #expect(stream.filter { $0.body.hasPrefix(sender + " ") }.map(\.body) == (0..<25).map { "\(sender) \($0)" })
                }
                streams.append(stream.map { "\($0.seq):\($0.body)" })
            }
            #expect(streams[0] == streams[1] && streams[1] == streams[2])
            // Two-level fan-out: each event was encoded once for this edge and queued for each of the 3 sockets.
            let counts = api.hub.deliveryCounts
            #expect(counts.queued == 3 * counts.encoded)
            #expect(counts.encoded == 100)
        }
    }

    @Test("resume replays exactly the events after last_seq, then continues live with no gap and no duplicate")
    func resume() async throws {
        try await TestAPI.run(.live) { api in
            let channel = try await api.channelWithBob()
            let first = try await api.connect("bob")
            try await api.send("one", to: channel, as: "alice")
            let seen = try await first.next()
            first.close()
            _ = try await first.closed()
            // While bob is away: three messages and an edit.
            var missed: [Int] = []
            for body in ["two", "three", "four"] { missed.append(try await api.send(body, to: channel, as: "alice")["seq"] as! Int) }
            let edited = try await api.call(.put, "/v1/channels/\(channel)/messages/\(seen.data["id"]!)", as: "alice", json: ["body": "ONE"])
            #expect(edited.status == .ok)

            let again = try await api.connect("bob", resuming: true)
            // Live traffic keeps flowing while the resume is served.
            let background = Task {
                for i in 0..<20 { try await api.send("live \(i)", to: channel, as: "alice") }
            }
            again.send(#"{"type":"resume","channels":{"\#(channel)":\#(seen.seq!)}}"#)
            var logged: [TestSocket.Frame] = []
            var resumed: TestSocket.Frame?
            while logged.filter({ $0.type == "message" }).count < 23 {
                let frame = try await again.next()
                if frame.type == "resumed" { resumed = frame } else { logged.append(frame) }
            }
            try await background.value
            let seqs = logged.compactMap(\.seq)
            #expect(seqs.count == logged.count)
            #expect(seqs == Array(seqs.sorted()) && Set(seqs).count == seqs.count)  // ordered, no duplicate
            #expect(seqs.first == seen.seq! + 1)
            #expect(Array(seqs.prefix(4)) == missed + [missed.last! + 1])  // the replay: three messages, then the edit
            #expect(logged[3].type == "message_update")
            #expect(seqs.last! - seqs.first! + 1 == seqs.count)  // no gap: every record of the channel is an event here
            #expect(resumed?.channelID == channel)
            #expect((resumed?.object["replayed"] as? Int ?? 0) >= 4)
        }
    }

    @Test("a client that does not resume gets live events at once; its late resume of a channel whose newer events went out gets resume_failed")
    func liveAtOnce() async throws {
        try await TestAPI.run(.live) { api in
            let channel = try await api.channelWithBob()
            let before = try await api.send("before", to: channel, as: "alice")["seq"] as! Int
            let bob = try await api.connect("bob")
            try await api.send("now", to: channel, as: "alice")
            let live = try await bob.next()  // no frame sent, no clock moved: nothing waits for the resume window
            #expect(live.type == "message" && live.data["body"] as? String == "now")
            bob.send(#"{"type":"resume","channels":{"\#(channel)":\#(before - 1)}}"#)
            let failed = try await bob.next()
            #expect(failed.type == "resume_failed" && failed.errorCode == "HISTORY_UNAVAILABLE" && failed.channelID == channel, "\(failed.object)")
            try await api.send("after", to: channel, as: "alice")
            #expect(try await bob.next().data["body"] as? String == "after", "still live")
            bob.close()

            // Announced, the same resume replays what was missed, then the live events.
            let again = try await api.connect("bob", resuming: true)
            try await api.send("meanwhile", to: channel, as: "alice")
            again.send(#"{"type":"resume","channels":{"\#(channel)":\#(before - 1)}}"#)
            var bodies: [String] = []
            while bodies.count < 4 {
                let frame = try await again.next()
                if frame.type == "message", let body = frame.data["body"] as? String { bodies.append(body) }
            }
            #expect(bodies == ["before", "now", "after", "meanwhile"])
        }
    }

    @Test("a resume from further back than the channel keeps gets resume_failed (reload), then live events")
    func resumeUnavailable() async throws {
        try await TestAPI.run(.live, configuration: .testing { $0.realtime.replayEvents = 3 }) { api in
            let channel = try await api.channelWithBob()
            for i in 0..<5 { try await api.send("m\(i)", to: channel, as: "alice") }
            let bob = try await api.connect("bob", resuming: true)
            bob.send(#"{"type":"resume","channels":{"\#(channel)":2,"999":0}}"#)
            // The channels are replayed side by side: their answers come in either order.
            let answers = [try await bob.next(), try await bob.next()]
            let notMine = try #require(answers.first { $0.channelID == "999" })
            #expect(notMine.type == "resume_failed" && notMine.errorCode == "CHAT_NOT_MEMBER")
            let failed = try #require(answers.first { $0.channelID == channel })
            #expect(failed.type == "resume_failed" && failed.errorCode == "HISTORY_UNAVAILABLE")
            #expect(failed.seq == 7)
            try await api.send("live", to: channel, as: "alice")
            let live = try await bob.next()
            #expect(live.type == "message" && live.seq == 8)
        }
    }

    @Test("a resync from the channel's actor makes the edge replay what its sessions missed (a replica that installed a whole log published none of it)")
    func resyncReplays() async throws {
        try await TestAPI.run(.live) { api in
            let channel = try await api.channelWithBob()
            let bob = try await api.connect("bob")
            try await api.send("seen", to: channel, as: "alice")
            var frame = try await bob.next()
            while frame.type != "message" { frame = try await bob.next() }
            #expect(frame.data["body"] as? String == "seen")
            // The actor stops handing events to this edge (as a replica's install skips them), and a
            // message goes by unseen.
            let id = ChannelID(channel)!
            let generation = api.hub.takeGeneration()
            try await api.node.withChannel(id) { try await $0.unsubscribe(edge: api.hub.edgeName, generation: generation) }
            try await api.send("missed", to: channel, as: "alice")
            api.hub.deliver(ChannelEvent(channelID: id, seq: nil, createdAt: api.clock.now(), payload: .resync))
            frame = try await bob.next()
            while frame.type != "message" { frame = try await bob.next() }
            #expect(frame.data["body"] as? String == "missed")
            // The edge subscribed again: live events reach it.
            try await api.send("live", to: channel, as: "alice")
            frame = try await bob.next()
            while frame.type != "message" { frame = try await bob.next() }
            #expect(frame.data["body"] as? String == "live")
        }
    }

    @Test("typing over the socket: start is announced, refreshes are throttled, the TTL and sending stop it")
    func typingFrames() async throws {
        try await TestAPI.run(.live) { api in
            let channel = try await api.channelWithBob()
            let alice = try await api.connect("alice")
            let bob = try await api.connect("bob")
            let typing = #"{"type":"typing","channel_id":"\#(channel)"}"#
            bob.send(typing)
            let started = try await alice.next()
            #expect(started.type == "typing" && started.data["user_id"] as? String == "bob" && started.seq == nil)
            #expect(started.object.keys.contains("seq") == false)
            // Refreshing every second for 2 s: nothing new reaches alice before the sentinel.
            for _ in 0..<2 {
                api.clock.advance(by: .seconds(1))
                bob.send(typing)
            }
            try await api.call(.post, "/v1/channels/\(channel)/typing", as: "alice")  // the sentinel
            try await api.send("sentinel", to: channel, as: "bob")  // ends bob's typing
            // Typists get their own typing events too (clients skip their own user_id).
            func stream(_ socket: TestSocket) async throws -> [String] {
                var seen: [String] = []
                while seen.last != "message" {
                    let frame = try await socket.next()
                    seen.append(frame.type == "message" ? "message" : "\(frame.type!) \(frame.data["user_id"] as? String ?? "")")
                }
                return seen
            }
            #expect(try await stream(alice) == ["typing alice", "typing_stop bob", "message"])
            #expect(try await stream(bob) == ["typing bob", "typing alice", "typing_stop bob", "message"])
            // Alice's TTL runs out on the injected clock: the stop comes without any request.
            api.clock.advance(by: .seconds(5))
            let expired = try await bob.next()
            #expect(expired.type == "typing_stop" && expired.data["user_id"] as? String == "alice")
            // A typing frame for a channel bob is not in is an error frame; the socket stays open.
            bob.send(#"{"type":"typing","channel_id":"12345"}"#)
            let error = try await bob.next()
            #expect(error.type == "error" && error.errorCode == "CHAT_CHANNEL_NOT_FOUND" && error.channelID == "12345")
        }
    }

    @Test("health frames come every heartbeat interval of the injected clock")
    func healthFrames() async throws {
        try await TestAPI.run(.live) { api in
            let alice = try await api.connect("alice")
            try await eventually("the heartbeat is armed") { api.clock.sleeperCount >= 1 }
            api.clock.advance(by: .seconds(25))
            #expect(try await alice.next(skipping: []).type == "health")
            api.clock.advance(by: .seconds(25))
            #expect(try await alice.next(skipping: []).type == "health")
        }
    }

    @Test("bad client frames get error frames and the socket stays open; an oversized frame closes it with 1009")
    func badFrames() async throws {
        try await TestAPI.run(.live, configuration: .testing { $0.realtime.maxInboundFrameBytes = 1024 }) { api in
            let alice = try await api.connect("alice")
            for bad in ["not json", "[1]", #"{"type":"dance"}"#, #"{"channels":{}}"#, #"{"type":"resume","channels":{"1":-1}}"#,
                #"{"type":"typing","channel_id":"x"}"#]
            {
                alice.send(bad)
                let frame = try await alice.next()
                #expect(frame.type == "error" && frame.errorCode == "INVALID_REQUEST", "\(bad)")
            }
            alice.send(String(repeating: "x", count: 2000))
            #expect(try await alice.closed() == .messageTooLarge)
        }
    }

    @Test("a session is freed once its socket closes (its writer and it do not keep each other alive)")
    func closedSessionsAreFreed() async throws {
        try await TestAPI.run(.live) { api in
            let alice = try await api.connect("alice")
            let bob = try await api.connect("bob")
            #expect(api.hub.sessionObjectsAlive == 2)
            alice.close()
            _ = try await alice.closed()
            try await eventually("alice's session is freed") { api.hub.sessionObjectsAlive == 1 }
            bob.close()
            _ = try await bob.closed()
            try await eventually("every session is freed") { api.hub.sessionObjectsAlive == 0 && api.hub.sessionCount == 0 }
        }
    }

    @Test("more sockets than a user may open are refused with an error frame and 1008")
    func socketLimit() async throws {
        try await TestAPI.run(.live, configuration: .testing { $0.realtime.maxSocketsPerUser = 2 }) { api in
            let first = try await api.connect("alice")
            let second = try await api.connect("alice")
            // The refusal comes right after the upgrade: read it with the raw client (see connectAndAuth).
            let third = try RawWebSocket(port: api.client.port!, path: "/v1/ws?token=" + api.token("alice"))
            let refused = try JSONSerialization.jsonObject(with: Data(try #require(try await third.nextText()).utf8)) as? [String: Any]
            #expect(refused?["type"] as? String == "error" && (refused?["error"] as? [String: Any])?["code"] as? String == "RATE_LIMITED")
            var rest: [String] = []
            #expect(try await third.readUntilClose(texts: &rest) == 1008 && rest.isEmpty)
            first.close()
            _ = try await first.closed()
            try await eventually("the closed socket is gone") { api.hub.sessionCount == 1 }
            let fourth = try await api.connect("alice")  // a slot is free again
            #expect(api.hub.sessionCount == 2 && second.closeCode == nil && fourth.closeCode == nil)
        }
    }

    @Test("a consumer that stops reading is closed with 1008 after the grace period of the injected clock")
    func slowConsumer() async throws {
        let configuration = ChorusConfiguration.testing {
            $0.realtime.outboundBufferBytes = 64 << 10
            $0.realtime.slowConsumerGraceSeconds = 10
            $0.limits.userRequestsPerSecond = 1_000_000
            $0.limits.userRequestBurst = 1_000_000
        }
        try await TestAPI.run(.live, configuration: configuration) { api in
            let channel = try await api.channelWithBob()
            let bob = try await api.connect("bob")
            let reader = try await api.connect("alice")  // keeps reading: must be unaffected
            bob.pause()
            let body = String(repeating: "x", count: 3900)
            var sent = 0
            while api.hub.maxBufferedBytes <= 64 << 10 {
                try await api.send(body, to: channel, as: "alice")
                sent += 1
                #expect(sent < 20_000, "the socket never backed up")
                if sent >= 20_000 { return }
            }
            #expect(api.hub.slowConsumerCloses == 0)
            api.clock.advance(by: .seconds(9))
            try await api.send("still within grace", to: channel, as: "alice")
            #expect(api.hub.slowConsumerCloses == 0 || api.hub.maxBufferedBytes > 128 << 10)
            api.clock.advance(by: .seconds(1))
            try await eventually("the slow socket is closed") { api.hub.slowConsumerCloses == 1 }
            bob.unpause()
            #expect(try await bob.closed() == .policyViolation)
            // The reading socket got everything.
            var messages = 0
            while messages < sent + 1 {
                if try await reader.next().type == "message" { messages += 1 }
            }
            try await eventually("the slow socket's session is gone") { api.hub.sessionCount == 1 }
        }
    }

    @Test("stopping the node closes every socket with 1001 after writing what was queued")
    func shutdownCloses() async throws {
        try await TestAPI.run(.live) { api in
            let channel = try await api.channelWithBob()
            let bob = try await api.connect("bob")
            let alice = try await api.connect("alice")
            try await api.send("last words", to: channel, as: "alice")
            await api.hub.shutdown()
            #expect(try await bob.next().data["body"] as? String == "last words")
            #expect(try await bob.closed() == .goingAway)
            #expect(try await alice.closed() == .goingAway)
            #expect(api.hub.sessionCount == 0)
            // New sockets are refused while stopping. The refusal comes right after the upgrade:
            // read it with the raw client (HummingbirdWSClient can miss a frame sent that early).
            let late = try RawWebSocket(port: api.client.port!, path: "/v1/ws?token=" + api.token("bob"))
            let refused = try JSONSerialization.jsonObject(with: Data(try #require(try await late.nextText()).utf8)) as? [String: Any]
            #expect((refused?["error"] as? [String: Any])?["code"] as? String == "CLUSTER_UNAVAILABLE")
            var rest: [String] = []
            #expect(try await late.readUntilClose(texts: &rest) == 1001 && rest.isEmpty)
        }
    }

    @Test("the server pings a silent peer after half the idle timeout; one that answers stays, one that answers none is closed with 1001 (injected clock)")
    func idleTimeout() async throws {
        try await TestAPI.run(.live) { api in  // idle timeout 60 s
            let channel = try await api.createChannel(owner: "alice")
            let alice = try await api.connect("alice")
            let bob = try await api.connect("bob")
            let bobID = try #require(bob.received.first?.object["connection_id"] as? String)
            let bobSession = try #require(api.hub.session(bobID))
            alice.pause()  // pings are answered while reading; paused after the next frame, it answers none
            try await api.send("stop here", to: channel, as: "alice")
            try await eventually("alice stopped reading") { alice.received.contains { $0.text.contains("stop here") } }
            let start = api.clock.now()
            api.clock.advance(by: .seconds(30))
            try await eventually("bob answered the ping") { bobSession.lastHeard > start }
            #expect(api.hub.sessionCount == 2)
            api.clock.advance(by: .seconds(30))
            try await eventually("alice is closed") { api.hub.sessionCount == 1 }
            alice.unpause()
            #expect(try await alice.closed() == .goingAway)
            #expect(api.hub.session(bobID) != nil && bob.closeCode == nil)
        }
    }
}
