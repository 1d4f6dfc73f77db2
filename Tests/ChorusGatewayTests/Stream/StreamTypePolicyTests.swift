import ChorusModel
import Foundation
import HTTPTypes
import Testing

/// A channel type's `permissions` (policies), `commands` and `custom_events`, enforced.
@Suite("Stream API channel types: policies, commands, custom events")
struct StreamTypePolicyTests {
    @Test("policies decide before grants: the highest priority that names the resource and the role wins, Deny first at a tie; owner policies apply to one's own")
    func policies() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob")
            let policies: [[String: Any]] = [
                ["name": "members may not react", "action": "Deny", "priority": 50, "owner": false, "resources": ["CreateReaction"], "roles": ["channel_member"]],
                ["name": "but may edit their own", "action": "Allow", "priority": 60, "owner": true, "resources": ["UpdateMessage"], "roles": ["*"]],
                ["name": "nobody deletes", "action": "Deny", "priority": 10, "owner": false, "resources": ["DeleteMessage"], "roles": ["user"]],
                ["name": "tie allow", "action": "Allow", "priority": 70, "owner": false, "resources": ["ReadChannel"], "roles": ["channel_member"]],
                ["name": "tie deny", "action": "Deny", "priority": 70, "owner": false, "resources": ["ReadChannel"], "roles": ["channel_member"]],
            ]
            // The grants alone would refuse bob's edits; the Allow policy decides first.
            let created = try await api.stream(
                .post, "/channeltypes", token: api.serverToken,
                json: ["name": "policed", "permissions": policies, "grants": ["channel_member": ["create-message", "create-reaction"]]])
            #expect(created.status == .created, "\(created.rawBody)")
            try await api.createStreamChannel("p", type: "policed", by: "alice", members: ["bob"])
            try await api.streamSend("from bob", to: "policed:p", as: "bob", id: "pb-1")
            expectStreamError(
                try await api.stream(.post, "/messages/pb-1/reaction", as: "bob", json: ["reaction": ["type": "love"]]), .forbidden, code: 17,
                mentioning: "members may not react")
            #expect(try await api.stream(.post, "/messages/pb-1/reaction", as: "alice", json: ["reaction": ["type": "love"]]).status == .created, "the owner is not a channel_member")
            #expect(try await api.stream(.post, "/messages/pb-1", as: "bob", json: ["message": ["text": "edited"]]).status == .ok)
            expectStreamError(try await api.stream(.delete, "/messages/pb-1", as: "bob"), .forbidden, code: 17, mentioning: "nobody deletes")
            expectStreamError(try await api.stream(.delete, "/messages/pb-1", as: "alice"), .forbidden, code: 17, mentioning: "nobody deletes")
            expectStreamError(try await api.stream(.post, "/channels/policed/p/read", as: "bob", json: TestAPI.empty), .forbidden, code: 17, mentioning: "tie deny")
            #expect(try await api.stream(.delete, "/messages/pb-1", token: api.serverToken).status == .ok, "a server is not checked")

            // An owner policy does not apply to another's message: the owner may not edit bob's (built-in rule), and says so.
            try await api.streamSend("again", to: "policed:p", as: "bob", id: "pb-2")
            let othersEdit = try await api.stream(.post, "/messages/pb-2", as: "alice", json: ["message": ["text": "x"]])
            #expect(othersEdit.status == .forbidden, "\(othersEdit.rawBody)")
        }
    }

    @Test("a built-in command the type does not enable is refused; an enabled one, or text that is no command, is posted")
    func commands() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice")
            #expect(try await api.stream(.post, "/channeltypes", token: api.serverToken, json: ["name": "plain", "commands": ["mute"]]).status == .created)
            try await api.createStreamChannel("c", type: "plain", by: "alice", members: [])
            let giphy = try await api.stream(.post, "/channels/plain/c/message", as: "alice", json: ["message": ["text": "/giphy cats"]])
            expectStreamError(giphy, .forbidden, code: 17, mentioning: "command /giphy is not enabled")
            for text in ["/mute @bob", "/shrug", "cats /giphy"] {
                #expect(try await api.stream(.post, "/channels/plain/c/message", as: "alice", json: ["message": ["text": text]]).status == .created, "\(text)")
            }
            try await api.createStreamChannel("m", by: "alice", members: [])
            #expect(try await api.stream(.post, "/channels/messaging/m/message", as: "alice", json: ["message": ["text": "/giphy cats"]]).status == .created, "messaging has all")

            // The v1 kinds are types too.
            #expect(try await api.stream(.put, "/channeltypes/group", token: api.serverToken, json: ["commands": [] as [String]]).status == .created)
            let group = try await api.channelWithBob()
            let v1 = try await api.call(.post, "/v1/channels/\(group)/messages", as: "alice", json: ["body": "/ban bob"])
            #expect(v1.status == .forbidden && v1.errorCode == "CHAT_DISABLED_BY_CHANNEL_TYPE", "\(v1.rawBody)")
        }
    }

    @Test("replies and quotes: refused (403) where the type turns them off, and (400) where it does not, as threads do not exist yet")
    func repliesAndQuotes() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice")
            #expect(try await api.stream(.post, "/channeltypes", token: api.serverToken, json: ["name": "flat", "replies": false, "quotes": false]).status == .created)
            try await api.createStreamChannel("f", type: "flat", by: "alice", members: [])
            try await api.createStreamChannel("t", by: "alice", members: [])
            try await api.streamSend("root", to: "messaging:t", as: "alice", id: "root")
            for key in ["parent_id", "quoted_message_id"] {
                let off = try await api.stream(.post, "/channels/flat/f/message", as: "alice", json: ["message": ["text": "re", key: "root"]])
                expectStreamError(off, .forbidden, code: 17, mentioning: "turned off")
                let on = try await api.stream(.post, "/channels/messaging/t/message", as: "alice", json: ["message": ["text": "re", key: "root"]])
                expectStreamError(on, .badRequest, code: 4, mentioning: "not supported yet")
            }
            #expect(try await api.stream(.post, "/channels/flat/f/message", as: "alice", json: ["message": ["text": "plain", "parent_id": NSNull()]]).status == .created)
        }
    }

    @Test("custom events reach the channel's watchers with their fields; a type without custom_events refuses them; Stream's own types are not custom")
    func customEvents() async throws {
        try await TestAPI.run(.live) { api in
            try await api.upsertUsers("alice", "bob")
            try await api.createStreamChannel("e", by: "alice", members: ["bob"])
            let (bob, hello) = try await api.streamConnect("bob")
            _ = try await api.streamWatch("messaging:e", as: "bob", connection: hello.object["connection_id"])
            let sent = try await api.stream(.post, "/channels/messaging/e/event", as: "alice", json: ["event": ["type": "friendship_request", "text": "hi", "level": 3]])
            #expect(sent.status == .created && sent.dict("event")["type"] as? String == "friendship_request" && sent.dict("event")["text"] as? String == "hi", "\(sent.rawBody)")
            let heard = try await bob.next(skipping: ["health.check"])
            #expect(heard.type == "friendship_request" && heard.object["text"] as? String == "hi" && heard.object["level"] as? Int == 3, "\(heard.object)")
            #expect((heard.object["user"] as? [String: Any])?["id"] as? String == "alice" && heard.object["cid"] as? String == "messaging:e")
            bob.close()

            for type in ["message.new", "channel.deleted", "", String(repeating: "x", count: 65)] {
                expectStreamError(try await api.stream(.post, "/channels/messaging/e/event", as: "alice", json: ["event": ["type": type]]), .badRequest, code: 4, "\(type)")
            }
            let big = try await api.stream(.post, "/channels/messaging/e/event", as: "alice", json: ["event": ["type": "big", "blob": String(repeating: "x", count: 6000)]])
            expectStreamError(big, .badRequest, code: 4, mentioning: "5 KB")
            #expect(try await api.stream(.put, "/channeltypes/messaging", token: api.serverToken, json: ["custom_events": false]).status == .created)
            let off = try await api.stream(.post, "/channels/messaging/e/event", as: "alice", json: ["event": ["type": "friendship_request"]])
            expectStreamError(off, .forbidden, code: 17, mentioning: "custom events")
            #expect(try await api.stream(.post, "/channels/messaging/e/event", as: "alice", json: ["event": ["type": "typing.start"]]).status == .created, "typing is not custom")
        }
    }
}
