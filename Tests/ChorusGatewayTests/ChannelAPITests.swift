import Foundation
import HTTPTypes
import Testing

@Suite("Channels API")
struct ChannelAPITests {
    @Test("create group and room: 201, creator is owner; name is validated")
    func createGroupAndRoom() async throws {
        try await TestAPI.run { api in
            for type in ["group", "room"] {
                let reply = try await api.call(.post, "/v1/channels", as: "alice", json: ["type": type, "name": "My \(type)"])
                #expect(reply.status == .created)
                #expect(reply.string("type") == type)
                #expect(reply.string("name") == "My \(type)")
                #expect(reply.string("owner_id") == "alice")
                #expect(reply["created_at"] as? Int == Int(api.clock.now().seconds))
                let id = try #require(reply.string("id"))
                #expect(UInt64(id) != nil)
                let members = try await api.call(.get, "/v1/channels/\(id)/members", as: "alice")
                #expect(members.array.map { $0["role"] as? String } == ["owner"])
            }
            for body: [String: Any] in [
                ["type": "group"], ["type": "group", "name": ""], ["type": "group", "name": "   "],
                ["type": "group", "name": String(repeating: "x", count: 101)], ["type": "channel", "name": "x"],
                ["type": "group", "name": 5], ["name": "x"],
            ] {
                let reply = try await api.call(.post, "/v1/channels", as: "alice", json: body)
                #expect(reply.status == .badRequest, "\(body)")
                #expect(reply.errorCode == "INVALID_REQUEST", "\(body)")
            }
            let longest = try await api.call(.post, "/v1/channels", as: "alice", json: ["type": "group", "name": String(repeating: "é", count: 100)])
            #expect(longest.status == .created)
        }
    }

    @Test("DMs: 201 then 200 from either side, null owner, self and unknown users refused")
    func directMessages() async throws {
        try await TestAPI.run { api in
            try await api.createUsers("alice", "bob")
            let first = try await api.call(.post, "/v1/channels", as: "alice", json: ["type": "dm", "user_id": "bob"])
            #expect(first.status == .created)
            #expect(first.string("type") == "dm")
            #expect(first.string("name") == "")
            #expect(first.object["owner_id"] is NSNull)
            let again = try await api.call(.post, "/v1/channels", as: "alice", json: ["type": "dm", "user_id": "bob"])
            let reverse = try await api.call(.post, "/v1/channels", as: "bob", json: ["type": "dm", "user_id": "alice"])
            #expect(again.status == .ok)
            #expect(reverse.status == .ok)
            #expect(again.string("id") == first.string("id"))
            #expect(reverse.string("id") == first.string("id"))
            let members = try await api.call(.get, "/v1/channels/\(first.string("id")!)/members", as: "bob")
            #expect(Set(members.array.compactMap { $0["user_id"] as? String }) == ["alice", "bob"])
            #expect(members.array.allSatisfy { $0["role"] as? String == "member" })

            let selfDM = try await api.call(.post, "/v1/channels", as: "alice", json: ["type": "dm", "user_id": "alice"])
            #expect(selfDM.status == .badRequest)
            #expect(selfDM.errorCode == "CHAT_CANNOT_DM_SELF")
            let unknown = try await api.call(.post, "/v1/channels", as: "alice", json: ["type": "dm", "user_id": "nobody"])
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "CHAT_USER_NOT_FOUND")
            let missing = try await api.call(.post, "/v1/channels", as: "alice", json: ["type": "dm"])
            #expect(missing.errorCode == "INVALID_REQUEST")
        }
    }

    @Test("concurrent DM creation from both sides yields one channel")
    func concurrentDirectMessages() async throws {
        try await TestAPI.run { api in
            try await api.createUsers("alice", "bob")
            let ids = try await withThrowingTaskGroup(of: String?.self) { group in
                for i in 0..<20 {
                    group.addTask {
                        let (from, to) = i.isMultiple(of: 2) ? ("alice", "bob") : ("bob", "alice")
                        return try await api.call(.post, "/v1/channels", as: from, json: ["type": "dm", "user_id": to]).string("id")
                    }
                }
                return try await group.reduce(into: Set<String?>()) { $0.insert($1) }
            }
            #expect(ids.count == 1)
            #expect(ids.first! != nil)
        }
    }

    @Test("blocks in either direction prevent a DM")
    func blockedDirectMessages() async throws {
        try await TestAPI.run { api in
            try await api.createUsers("alice", "bob", "carol")
            #expect(try await api.call(.post, "/v1/blocks", as: "bob", json: ["user_id": "alice"]).status == .created)
            for (from, to) in [("alice", "bob"), ("bob", "alice")] {
                let reply = try await api.call(.post, "/v1/channels", as: from, json: ["type": "dm", "user_id": to])
                #expect(reply.status == .forbidden)
                #expect(reply.errorCode == "CHAT_DM_BLOCKED_USER")
            }
            #expect(try await api.call(.post, "/v1/channels", as: "alice", json: ["type": "dm", "user_id": "carol"]).status == .created)
            #expect(try await api.call(.delete, "/v1/blocks/alice", as: "bob").status == .noContent)
            #expect(try await api.call(.post, "/v1/channels", as: "alice", json: ["type": "dm", "user_id": "bob"]).status == .created)
        }
    }

    @Test("get channel: members only; unknown and malformed ids")
    func getChannel() async throws {
        try await TestAPI.run { api in
            let id = try await api.createChannel(owner: "alice")
            let reply = try await api.call(.get, "/v1/channels/\(id)", as: "alice")
            #expect(reply.status == .ok)
            #expect(reply.string("id") == id)
            #expect(try await api.call(.get, "/v1/channels/\(id)", as: "mallory").errorCode == "CHAT_NOT_MEMBER")
            let unknown = try await api.call(.get, "/v1/channels/123", as: "alice")
            #expect(unknown.status == .notFound)
            #expect(unknown.errorCode == "CHAT_CHANNEL_NOT_FOUND")
            for bad in ["abc", "-1", "1.5", "99999999999999999999999"] {
                let reply = try await api.call(.get, "/v1/channels/\(bad)", as: "alice")
                #expect(reply.status == .badRequest, "\(bad)")
                #expect(reply.errorCode == "INVALID_REQUEST", "\(bad)")
            }
        }
    }

    @Test("update: owner and admin may rename; member, non-member and DM refused in contract order")
    func updateChannel() async throws {
        try await TestAPI.run { api in
            try await api.createUsers("bob", "carol")
            let id = try await api.createChannel(owner: "alice")
            try await api.addMember("bob", to: id, by: "alice", role: "admin")
            try await api.addMember("carol", to: id, by: "alice")
            let renamed = try await api.call(.put, "/v1/channels/\(id)", as: "bob", json: ["name": "Renamed"])
            #expect(renamed.status == .ok)
            #expect(renamed.string("name") == "Renamed")
            #expect(try await api.call(.get, "/v1/channels/\(id)", as: "carol").string("name") == "Renamed")
            #expect(try await api.call(.put, "/v1/channels/\(id)", as: "carol", json: ["name": "x"]).errorCode == "CHAT_NOT_ADMIN")
            #expect(try await api.call(.put, "/v1/channels/\(id)", as: "dave", json: ["name": "x"]).errorCode == "CHAT_NOT_MEMBER")
            #expect(try await api.call(.put, "/v1/channels/\(id)", as: "alice", json: ["name": ""]).errorCode == "INVALID_REQUEST")
            #expect(try await api.call(.put, "/v1/channels/1", as: "alice", json: ["name": "x"]).errorCode == "CHAT_CHANNEL_NOT_FOUND")

            let dm = try await api.call(.post, "/v1/channels", as: "bob", json: ["type": "dm", "user_id": "carol"]).string("id")!
            let dmUpdate = try await api.call(.put, "/v1/channels/\(dm)", as: "bob", json: ["name": "x"])
            #expect(dmUpdate.status == .forbidden)
            #expect(dmUpdate.errorCode == "CHAT_CANNOT_MODIFY_DM")
            #expect(try await api.call(.put, "/v1/channels/\(dm)", as: "alice", json: ["name": "x"]).errorCode == "CHAT_NOT_MEMBER")
        }
    }

    @Test("add members: permission matrix")
    func addMembers() async throws {
        try await TestAPI.run { api in
            try await api.createUsers("bob", "carol", "dave", "erin")
            let group = try await api.createChannel(owner: "alice")
            let added = try await api.call(.post, "/v1/channels/\(group)/members", as: "alice", json: ["user_id": "bob", "role": "admin"])
            #expect(added.status == .created)
            #expect(added.string("user_id") == "bob")
            #expect(added.string("role") == "admin")
            #expect(added.string("display_name") == "bob")
            #expect(added["joined_at"] as? Int == Int(api.clock.now().seconds))
            // An admin may add; default role is member.
            let byAdmin = try await api.call(.post, "/v1/channels/\(group)/members", as: "bob", json: ["user_id": "carol"])
            #expect(byAdmin.status == .created)
            #expect(byAdmin.string("role") == "member")
            // A member may not add.
            #expect(try await api.call(.post, "/v1/channels/\(group)/members", as: "carol", json: ["user_id": "dave"]).errorCode == "CHAT_NOT_ADMIN")
            // A non-member may not add, or join a group.
            #expect(try await api.call(.post, "/v1/channels/\(group)/members", as: "dave", json: ["user_id": "erin"]).errorCode == "CHAT_NOT_MEMBER")
            #expect(try await api.call(.post, "/v1/channels/\(group)/members", as: "dave", json: ["user_id": "dave"]).errorCode == "CHAT_NOT_MEMBER")
            // Nobody adds an owner; unknown roles and users are refused.
            #expect(try await api.call(.post, "/v1/channels/\(group)/members", as: "alice", json: ["user_id": "dave", "role": "owner"]).errorCode == "INVALID_REQUEST")
            #expect(try await api.call(.post, "/v1/channels/\(group)/members", as: "alice", json: ["user_id": "dave", "role": "king"]).errorCode == "INVALID_REQUEST")
            let ghost = try await api.call(.post, "/v1/channels/\(group)/members", as: "alice", json: ["user_id": "ghost"])
            #expect(ghost.status == .notFound)
            #expect(ghost.errorCode == "CHAT_USER_NOT_FOUND")
            let again = try await api.call(.post, "/v1/channels/\(group)/members", as: "alice", json: ["user_id": "carol"])
            #expect(again.status == .conflict)
            #expect(again.errorCode == "CHAT_ALREADY_MEMBER")
            #expect(try await api.call(.post, "/v1/channels/999/members", as: "alice", json: ["user_id": "carol"]).errorCode == "CHAT_CHANNEL_NOT_FOUND")

            // Rooms: anyone joins themself as member, not as admin; joining twice conflicts.
            let room = try await api.createChannel("room", name: "Lobby", owner: "alice")
            #expect(try await api.call(.post, "/v1/channels/\(room)/members", as: "dave", json: ["user_id": "dave"]).status == .created)
            #expect(try await api.call(.post, "/v1/channels/\(room)/members", as: "dave", json: ["user_id": "dave"]).errorCode == "CHAT_ALREADY_MEMBER")
            #expect(try await api.call(.post, "/v1/channels/\(room)/members", as: "erin", json: ["user_id": "erin", "role": "admin"]).errorCode == "CHAT_NOT_ADMIN")
            #expect(try await api.call(.post, "/v1/channels/\(room)/members", as: "erin", json: ["user_id": "carol"]).errorCode == "CHAT_NOT_MEMBER")

            // DMs cannot be modified (members only learn that).
            let dm = try await api.call(.post, "/v1/channels", as: "carol", json: ["type": "dm", "user_id": "dave"]).string("id")!
            #expect(try await api.call(.post, "/v1/channels/\(dm)/members", as: "carol", json: ["user_id": "erin"]).errorCode == "CHAT_CANNOT_MODIFY_DM")
            #expect(try await api.call(.post, "/v1/channels/\(dm)/members", as: "erin", json: ["user_id": "erin"]).errorCode == "CHAT_NOT_MEMBER")

            let members = try await api.call(.get, "/v1/channels/\(group)/members", as: "carol")
            #expect(members.array.compactMap { $0["user_id"] as? String } == ["alice", "bob", "carol"])
            #expect(try await api.call(.get, "/v1/channels/\(group)/members", as: "dave").errorCode == "CHAT_NOT_MEMBER")
        }
    }

    @Test("remove members: leave, admin removal, owner protected")
    func removeMembers() async throws {
        try await TestAPI.run { api in
            try await api.createUsers("bob", "carol", "dave")
            let id = try await api.createChannel(owner: "alice")
            try await api.addMember("bob", to: id, by: "alice", role: "admin")
            try await api.addMember("carol", to: id, by: "alice")
            try await api.addMember("dave", to: id, by: "alice")
            #expect(try await api.call(.delete, "/v1/channels/\(id)/members/bob", as: "carol").errorCode == "CHAT_NOT_ADMIN")
            #expect(try await api.call(.delete, "/v1/channels/\(id)/members/dave", as: "bob").status == .noContent)
            #expect(try await api.call(.delete, "/v1/channels/\(id)/members/carol", as: "carol").status == .noContent)
            #expect(try await api.call(.get, "/v1/channels/\(id)", as: "carol").errorCode == "CHAT_NOT_MEMBER")
            #expect(try await api.call(.get, "/v1/channels", as: "carol").array.isEmpty)
            for actor in ["alice", "bob"] {
                let reply = try await api.call(.delete, "/v1/channels/\(id)/members/alice", as: actor)
                #expect(reply.status == .forbidden)
                #expect(reply.errorCode == "CHAT_CANNOT_REMOVE_OWNER")
            }
            #expect(try await api.call(.delete, "/v1/channels/\(id)/members/carol", as: "alice").errorCode == "CHAT_USER_NOT_FOUND")
            #expect(try await api.call(.delete, "/v1/channels/\(id)/members/bob", as: "carol").errorCode == "CHAT_NOT_MEMBER")
            #expect(try await api.call(.delete, "/v1/channels/\(id)/members/bad!id", as: "alice").errorCode == "INVALID_REQUEST")
            let dm = try await api.call(.post, "/v1/channels", as: "carol", json: ["type": "dm", "user_id": "dave"]).string("id")!
            #expect(try await api.call(.delete, "/v1/channels/\(dm)/members/carol", as: "carol").errorCode == "CHAT_CANNOT_MODIFY_DM")
            // A removed member can be added back.
            try await api.addMember("carol", to: id, by: "alice")
            let carols = try await api.call(.get, "/v1/channels", as: "carol").array.compactMap { $0["id"] as? String }
            #expect(Set(carols) == [id, dm])
        }
    }

    @Test("list channels: most recently active first, ties to the larger id; unread counts; DM fields")
    func listChannels() async throws {
        try await TestAPI.run { api in
            try await api.createUsers("bob")
            let a = try await api.createChannel(name: "A", owner: "alice")
            let b = try await api.createChannel(name: "B", owner: "alice")  // same second as A: tie
            try await api.addMember("bob", to: a, by: "alice")
            var order = try await api.call(.get, "/v1/channels", as: "alice").array.compactMap { $0["id"] as? String }
            #expect(order == [b, a])
            api.clock.advance(by: .seconds(10))
            try await api.send("hi", to: a, as: "bob")
            try await api.send("again", to: a, as: "bob")
            let m3 = try await api.send("mine", to: a, as: "alice")
            order = try await api.call(.get, "/v1/channels", as: "alice").array.compactMap { $0["id"] as? String }
            #expect(order == [a, b])
            var list = try await api.call(.get, "/v1/channels", as: "alice").array
            #expect(list.first?["unread_count"] as? Int == 2)  // own message not counted
            #expect(try await api.call(.get, "/v1/channels", as: "bob").array.first?["unread_count"] as? Int == 1)
            // Reading moves the cursor; deleted messages do not count.
            let first = try await api.call(.get, "/v1/channels/\(a)/messages", as: "alice").object["messages"] as! [[String: Any]]
            _ = try await api.call(.post, "/v1/channels/\(a)/read", as: "alice", json: ["last_read_message_id": first[0]["id"]!])
            list = try await api.call(.get, "/v1/channels", as: "alice").array
            #expect(list.first?["unread_count"] as? Int == 1)
            _ = try await api.call(.delete, "/v1/channels/\(a)/messages/\(first[1]["id"] as! String)", as: "bob")
            #expect(try await api.call(.get, "/v1/channels", as: "alice").array.first?["unread_count"] as? Int == 0)
            _ = try await api.call(.post, "/v1/channels/\(a)/read", as: "bob", json: ["last_read_message_id": m3["id"]!])
            #expect(try await api.call(.get, "/v1/channels", as: "bob").array.first?["unread_count"] as? Int == 0)

            // DM entries name the other user.
            _ = try await api.call(.put, "/v1/users/bob", token: api.serverToken, json: ["display_name": "Bobby"])
            let dm = try await api.call(.post, "/v1/channels", as: "alice", json: ["type": "dm", "user_id": "bob"]).string("id")!
            let entry = try #require(try await api.call(.get, "/v1/channels", as: "alice").array.first { $0["id"] as? String == dm })
            #expect(entry["other_user_id"] as? String == "bob")
            #expect(entry["other_user_name"] as? String == "Bobby")
            #expect(entry["owner_id"] is NSNull)
            let group = try #require(try await api.call(.get, "/v1/channels", as: "alice").array.first { $0["id"] as? String == a })
            #expect(group["other_user_id"] == nil)
        }
    }

    @Test("hidden channels leave the list until shown or a new message arrives")
    func hideAndShow() async throws {
        try await TestAPI.run { api in
            let id = try await api.channelWithBob()
            #expect(try await api.call(.post, "/v1/channels/\(id)/hide", as: "alice").status == .noContent)
            #expect(try await api.call(.post, "/v1/channels/\(id)/hide", as: "alice").status == .noContent)
            #expect(try await api.call(.get, "/v1/channels", as: "alice").array.isEmpty)
            #expect(try await api.call(.get, "/v1/channels", as: "bob").array.count == 1)  // hiding is per user
            let withHidden = try await api.call(.get, "/v1/channels?include_hidden=true", as: "alice").array
            #expect(withHidden.count == 1)
            #expect(withHidden.first?["hidden"] as? Bool == true)
            #expect(try await api.call(.get, "/v1/channels?include_hidden=maybe", as: "alice").errorCode == "INVALID_REQUEST")
            try await api.send("ping", to: id, as: "bob")
            #expect(try await api.call(.get, "/v1/channels", as: "alice").array.count == 1)
            _ = try await api.call(.post, "/v1/channels/\(id)/hide", as: "alice")
            #expect(try await api.call(.post, "/v1/channels/\(id)/show", as: "alice").status == .noContent)
            #expect(try await api.call(.get, "/v1/channels", as: "alice").array.count == 1)
            #expect(try await api.call(.post, "/v1/channels/\(id)/hide", as: "carol").errorCode == "CHAT_NOT_MEMBER")
        }
    }

    @Test("typing: TTL with the injected clock, refreshed by each call, ended by sending")
    func typing() async throws {
        try await TestAPI.run { api in
            let id = try await api.channelWithBob()
            #expect(try await api.call(.post, "/v1/channels/\(id)/typing", as: "alice").status == .noContent)
            api.clock.advance(by: .seconds(1))
            _ = try await api.call(.post, "/v1/channels/\(id)/typing", as: "bob")
            #expect(try await api.call(.get, "/v1/channels/\(id)/typing", as: "bob")["typing_users"] as? [String] == ["alice", "bob"])
            api.clock.advance(by: .milliseconds(4000))  // alice at 5.0 s: expired; bob at 4.0 s
            #expect(try await api.call(.get, "/v1/channels/\(id)/typing", as: "bob")["typing_users"] as? [String] == ["bob"])
            api.clock.advance(by: .milliseconds(900))
            _ = try await api.call(.post, "/v1/channels/\(id)/typing", as: "bob")  // refresh
            api.clock.advance(by: .milliseconds(4500))
            #expect(try await api.call(.get, "/v1/channels/\(id)/typing", as: "bob")["typing_users"] as? [String] == ["bob"])
            try await api.send("done", to: id, as: "bob")
            #expect(try await api.call(.get, "/v1/channels/\(id)/typing", as: "bob")["typing_users"] as? [String] == [])
            #expect(try await api.call(.post, "/v1/channels/\(id)/typing", as: "carol").errorCode == "CHAT_NOT_MEMBER")
            #expect(try await api.call(.get, "/v1/channels/\(id)/typing", as: "carol").errorCode == "CHAT_NOT_MEMBER")
        }
    }
}
