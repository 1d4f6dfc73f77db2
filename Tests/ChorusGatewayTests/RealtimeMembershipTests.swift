import ChorusModel
import Foundation
import Testing

/// Sessions follow their user's channel membership live, and in order.
@Suite("WebSocket sessions: membership", .serialized)
struct RealtimeMembershipTests {
    /// Carol, connected, a member of `other` but not (yet) of the room `room`, both alice's.
    func connectedCarol(_ api: TestAPI) async throws -> (carol: TestSocket, room: String, other: String) {
        try await api.createUsers("carol")
        let room = try await api.createChannel("room", name: "Lobby", owner: "alice")
        let other = try await api.createChannel(owner: "alice")
        try await api.addMember("carol", to: other, by: "alice")
        return (try await api.connect("carol"), room, other)
    }

    @Test("membership is followed live: joining starts the stream with the user's own member_add, leaving ends it")
    func followsMembership() async throws {
        try await TestAPI.run(.live) { api in
            let (carol, room, other) = try await connectedCarol(api)
            try await api.send("before carol", to: room, as: "alice")
            try await api.addMember("carol", to: room, by: "alice")
            try await api.send("welcome", to: room, as: "alice")
            let joined = try await carol.next()
            #expect(joined.type == "member_add" && joined.channelID == room && joined.data["user_id"] as? String == "carol")
            let welcome = try await carol.next()
            #expect(welcome.type == "message" && welcome.data["body"] as? String == "welcome" && welcome.seq! > joined.seq!)
            // Leaving: carol gets her own removal, then nothing more from the room.
            try await api.call(.delete, "/v1/channels/\(room)/members/carol", as: "carol")
            try await api.send("after carol", to: room, as: "alice")
            try await api.send("sentinel", to: other, as: "alice")
            let left = try await carol.next()
            #expect(left.type == "member_remove" && left.channelID == room)
            let sentinel = try await carol.next()
            #expect(sentinel.channelID == other && sentinel.data["body"] as? String == "sentinel")
            // Self-join of a room works the same way.
            try await api.call(.post, "/v1/channels/\(room)/members", as: "carol", json: ["user_id": "carol"])
            let rejoined = try await carol.next()
            #expect(rejoined.type == "member_add" && rejoined.channelID == room)
            // A new DM is followed by both sides at once.
            let dm = try await api.call(.post, "/v1/channels", as: "alice", json: ["type": "dm", "user_id": "carol"])
            let dmID = try #require(dm.string("id"))
            try await api.send("psst", to: dmID, as: "alice")
            let psst = try await carol.next()
            #expect(psst.channelID == dmID && psst.data["body"] as? String == "psst")
        }
    }

    @Test("membership changes that arrive late or reversed never override newer ones")
    func reorderedMembership() async throws {
        try await TestAPI.run(.live) { api in
            let (carol, room, other) = try await connectedCarol(api)
            try await api.addMember("carol", to: room, by: "alice")
            let joined = try await carol.next()
            #expect(joined.type == "member_add" && joined.channelID == room)
            try await api.call(.delete, "/v1/channels/\(room)/members/carol", as: "carol")
            let left = try await carol.next()
            #expect(left.type == "member_remove" && left.channelID == room)
            let carolID = UserID("carol")!
            let roomID = try #require(ChannelID(room))
            // The join, delivered again after the leave (as a slow peer connection would): ignored.
            api.hub.membershipChanged(of: carolID, in: roomID, isMember: true, seq: UInt64(try #require(joined.seq)))
            // A join and a leave back to back, as if at the next two positions of the log: the leave
            // wins although the join's follow is still running. (Followed, carol would get the
            // message sent next: the join replays everything after its own seq - 1.)
            let head = UInt64(try #require(left.seq))
            api.hub.membershipChanged(of: carolID, in: roomID, isMember: true, seq: head + 1)
            api.hub.membershipChanged(of: carolID, in: roomID, isMember: false, seq: head + 2)
            try await api.send("not for carol", to: room, as: "alice")
            try await api.send("sentinel", to: other, as: "alice")
            let next = try await carol.next()
            #expect(next.channelID == other && next.data["body"] as? String == "sentinel", "\(next)")
        }
    }
}
