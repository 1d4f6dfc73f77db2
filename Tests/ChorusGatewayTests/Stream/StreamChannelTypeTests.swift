import ChorusChat
import ChorusGateway
import ChorusModel
import Foundation
import HTTPTypes
import Testing

/// Channel types over the Stream API: the CRUD endpoints and their errors, and the settings
/// enforced on the channels of a type through both APIs (docs/stream-api.md, "Channel types").
@Suite("Stream API channel types")
struct StreamChannelTypeTests {
    @Test("the built-in types exist; create, get, list, partial update and delete; errors name the field")
    func crud() async throws {
        try await TestAPI.run { api in
            let list = try await api.stream(.get, "/channeltypes", token: api.serverToken)
            #expect(list.status == .ok)
            #expect(Set(list.dict("channel_types").keys) == Set(ChannelTypeSettings.builtInNames))
            #expect(list.dict("channel_types").dict("livestream")["read_events"] as? Bool == false)
            #expect(list.dict("channel_types").dict("room")["max_message_length"] as? Int == 4000, "v1 kinds: the node's limit")
            let giphy = list.dict("channel_types").dict("messaging").list("commands").first { $0["name"] as? String == "giphy" }
            #expect(giphy?["set"] as? String == "fun_set", "list shows commands as objects")

            let created = try await api.stream(
                .post, "/channeltypes", token: api.serverToken,
                json: ["name": "support", "reactions": false, "max_message_length": 120, "commands": ["all"], "automod_behavior": "block",
                       "grants": ["channel_member": ["read-channel"]],
                       "permissions": [["name": "members read", "action": "Allow", "priority": 60, "resources": ["ReadChannel"], "roles": ["channel_member"]]]])
            #expect(created.status == .created, "\(created.rawBody)")
            expectStreamHeaders(created)
            #expect(created.object["name"] as? String == "support")
            #expect(created.object["reactions"] as? Bool == false && created.object["typing_events"] as? Bool == true)
            #expect(created.object["max_message_length"] as? Int == 120)
            #expect(created.object["automod"] as? String == "disabled", "automod defaults when a client leaves it out")
            #expect(created.object["automod_behavior"] as? String == "block")
            #expect(created.object["message_retention"] as? String == "infinite")
            #expect((created.object["commands"] as? [String])?.contains("giphy") == true, "create answers command names")
            #expect(created.dict("grants")["channel_member"] as? [String] == ["read-channel"])
            #expect(created.list("permissions").first?["priority"] as? Int == 60)

            let updated = try await api.stream(.put, "/channeltypes/support", token: api.serverToken, json: ["typing_events": false, "max_message_length": 200])
            #expect(updated.status == .created, "\(updated.rawBody)")
            #expect(updated.object["typing_events"] as? Bool == false && updated.object["max_message_length"] as? Int == 200)
            #expect(updated.object["reactions"] as? Bool == false, "fields not given keep their values")
            let read = try await api.stream(.get, "/channeltypes/support", token: api.serverToken)
            #expect(read.status == .ok && read.object["typing_events"] as? Bool == false)
            #expect(read.dict("grants")["channel_member"] as? [String] == ["read-channel"])

            let bad: [(String, [String: Any], String)] = [
                ("missing name", ["reactions": true], "name"), ("bad name", ["name": "a b"], "name"),
                ("built-in name", ["name": "messaging"], "already exists"), ("existing", ["name": "support"], "already exists"),
                ("bad automod", ["name": "t1", "automod": "sometimes"], "automod"),
                ("long messages", ["name": "t1", "max_message_length": 20_001], "max_message_length"),
                ("bad flag", ["name": "t1", "reactions": "yes"], "reactions"),
                ("bad retention", ["name": "t1", "message_retention": "forever"], "message_retention"),
                ("bad behavior", ["name": "t1", "blocklist_behavior": "shout"], "blocklist_behavior"),
                ("bad policy", ["name": "t1", "permissions": [["action": "Allow"]]], "permissions[0]"),
            ]
            for (what, body, mentioning) in bad {
                expectStreamError(try await api.stream(.post, "/channeltypes", token: api.serverToken, json: body), .badRequest, code: 4, mentioning: mentioning, what)
            }
            expectStreamError(
                try await api.stream(.put, "/channeltypes/support", token: api.serverToken, json: ["max_message_length": 0]), .badRequest, code: 4)
            expectStreamError(try await api.stream(.get, "/channeltypes/nope", token: api.serverToken), .notFound, code: 16)
            expectStreamError(try await api.stream(.put, "/channeltypes/nope", token: api.serverToken, json: ["reactions": true]), .notFound, code: 16)
            try await api.upsertUsers("alice")
            expectStreamError(try await api.stream(.get, "/channeltypes", as: "alice"), .forbidden, code: 17)
            expectStreamError(try await api.stream(.post, "/channeltypes", as: "alice", json: ["name": "t2"]), .forbidden, code: 17)

            // A type in use stays; built-ins stay; an unused custom type goes.
            try await api.createStreamChannel("help", type: "support", by: "alice", members: [])
            expectStreamError(try await api.stream(.delete, "/channeltypes/support", token: api.serverToken), .badRequest, code: 4, mentioning: "still has channels")
            expectStreamError(try await api.stream(.delete, "/channeltypes/team", token: api.serverToken), .badRequest, code: 4, mentioning: "built in")
            #expect(try await api.stream(.post, "/channeltypes", token: api.serverToken, json: ["name": "spare"]).status == .created)
            let deleted = try await api.stream(.delete, "/channeltypes/spare", token: api.serverToken)
            #expect(deleted.status == .ok)
            expectStreamError(try await api.stream(.get, "/channeltypes/spare", token: api.serverToken), .notFound, code: 16)
            // Channels are created only in a type that exists.
            let unknown = try await api.stream(.post, "/channels/spare/c1/query", as: "alice", json: ["data": ["members": ["alice"]]])
            expectStreamError(unknown, .badRequest, code: 4, mentioning: "channel type spare does not exist")
        }
    }

    @Test("a type's settings govern its channels: message length, reactions, read and typing events, mutes and search")
    func enforcedOverStream() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob")
            let strict: [String: Any] = [
                "name": "strict", "max_message_length": 10, "reactions": false, "read_events": false, "typing_events": false,
                "mutes": false, "search": false,
            ]
            #expect(try await api.stream(.post, "/channeltypes", token: api.serverToken, json: strict).status == .created)
            for type in ["strict", "messaging"] {
                try await api.createStreamChannel("room", type: type, by: "alice", members: ["bob"])
                let path = "/channels/\(type)/room"
                let long = try await api.stream(.post, path + "/message", as: "bob", json: ["message": ["text": "eleven char"]])
                let message = try await api.streamSend("ten chars!", to: "\(type):room", as: "bob", id: "\(type)-m1")
                let reaction = try await api.stream(.post, "/messages/\(type)-m1/reaction", as: "alice", json: ["reaction": ["type": "love"]])
                let read = try await api.stream(.post, path + "/read", as: "alice", json: TestAPI.empty)
                let typing = try await api.stream(.post, path + "/event", as: "alice", json: ["event": ["type": "typing.start"]])
                let mute = try await api.stream(.post, "/moderation/mute/channel", as: "alice", json: ["channel_cid": "\(type):room"])
                let found = try await api.node.withChannel(try #require(ChannelAddress(type: type, id: "room")?.channelID)) {
                    try await $0.search("chars", limit: 10, for: UserID("alice")!)
                }
                #expect(message["text"] as? String == "ten chars!")
                if type == "strict" {
                    expectStreamError(long, .badRequest, code: 20, mentioning: "limit is 10")
                    for (what, reply) in [("reaction", reaction), ("read", read), ("typing", typing), ("mute", mute)] {
                        expectStreamError(reply, .forbidden, code: 17, mentioning: "strict", what)
                    }
                    #expect(found.isEmpty, "search finds nothing in a type without search")
                } else {
                    #expect(long.status == .created)
                    for (what, reply) in [("reaction", reaction), ("read", read), ("typing", typing), ("mute", mute)] {
                        #expect(reply.status == .created, "\(what): \(reply.rawBody)")
                    }
                    #expect(found.count == 1)
                }
            }
            // A change applies at once to existing channels.
            #expect(try await api.stream(.put, "/channeltypes/strict", token: api.serverToken, json: ["reactions": true]).status == .created)
            #expect(try await api.stream(.post, "/messages/strict-m1/reaction", as: "alice", json: ["reaction": ["type": "love"]]).status == .created)
        }
    }

    @Test("the v1 kinds are types too: a room type without reactions refuses v1 reactions with CHAT_DISABLED_BY_CHANNEL_TYPE")
    func enforcedOverV1() async throws {
        try await TestAPI.run { api in
            let room = try await api.createChannel("room", name: "Lobby", owner: "alice")
            let message = try await api.send("hello", to: room, as: "alice")
            let id = try #require(message["id"] as? String)
            #expect(try await api.stream(.put, "/channeltypes/room", token: api.serverToken, json: ["reactions": false, "max_message_length": 5]).status == .created)
            let reaction = try await api.call(.post, "/v1/channels/\(room)/messages/\(id)/reactions", as: "alice", json: ["emote_asset_id": "1"])
            #expect(reaction.status == .forbidden && reaction.errorCode == "CHAT_DISABLED_BY_CHANNEL_TYPE", "\(reaction.rawBody)")
            let long = try await api.call(.post, "/v1/channels/\(room)/messages", as: "alice", json: ["body": "too long"])
            #expect(long.status == .badRequest && long.errorCode == "CHAT_MESSAGE_TOO_LONG", "\(long.rawBody)")
            // Groups keep their defaults.
            let group = try await api.createChannel("group", owner: "alice")
            let groupMessage = try await api.send("hello there", to: group, as: "alice")
            let groupReaction = try await api.call(
                .post, "/v1/channels/\(group)/messages/\(groupMessage["id"] as? String ?? "")/reactions", as: "alice", json: ["emote_asset_id": "1"])
            #expect(groupReaction.status == .created, "\(groupReaction.rawBody)")
        }
    }

    @Test("a type's blocklist blocks or flags messages with its words (from chat.blocklists); uploads off refuses attachments")
    func blocklistAndUploads() async throws {
        let configuration = ChorusConfiguration.testing { $0.chat.blocklists = ["rude": ["Darn", "heck"]] }
        try await TestAPI.run(configuration: configuration) { api in
            try await api.upsertUsers("alice", "bob")
            let unknown = try await api.stream(.post, "/channeltypes", token: api.serverToken, json: ["name": "t", "blocklist": "nope"])
            expectStreamError(unknown, .badRequest, code: 4, mentioning: "blocklist nope is not configured")
            let blocking: [String: Any] = ["name": "polite", "blocklist": "rude", "blocklist_behavior": "block"]
            #expect(try await api.stream(.post, "/channeltypes", token: api.serverToken, json: blocking).status == .created)
            let flagging: [String: Any] = ["name": "lenient", "blocklist": "rude", "blocklist_behavior": "flag"]
            #expect(try await api.stream(.post, "/channeltypes", token: api.serverToken, json: flagging).status == .created)
            try await api.createStreamChannel("p", type: "polite", by: "alice", members: ["bob"])
            try await api.createStreamChannel("l", type: "lenient", by: "alice", members: ["bob"])
            let blocked = try await api.stream(.post, "/channels/polite/p/message", as: "bob", json: ["message": ["text": "oh DARN it"]])
            expectStreamError(blocked, .badRequest, code: 4, mentioning: "blocklist rude")
            #expect(try await api.stream(.post, "/channels/polite/p/message", as: "bob", json: ["message": ["text": "darning socks"]]).status == .created,
                    "whole words only")
            let flagged = try await api.stream(.post, "/channels/lenient/l/message", as: "bob", json: ["message": ["text": "oh darn it"]])
            #expect(flagged.status == .created, "flag keeps the message")
            // Edits are checked too.
            let fine = try await api.streamSend("all good", to: "polite:p", as: "bob", id: "p-1")
            #expect(fine["text"] as? String == "all good")
            let edit = try await api.stream(.post, "/messages/p-1", as: "bob", json: ["message": ["text": "what the heck"]])
            expectStreamError(edit, .badRequest, code: 4, mentioning: "blocklist rude")

            // v1: groups without uploads refuse attachments, and blocked words.
            #expect(try await api.stream(.put, "/channeltypes/group", token: api.serverToken, json: ["uploads": false, "blocklist": "rude", "blocklist_behavior": "block"]).status == .created)
            let group = try await api.createChannel("group", owner: "alice")
            let attachment = try await api.call(.post, "/v1/channels/\(group)/messages", as: "alice", json: ["body": "see", "attachments": [["asset_id": "1"]]])
            #expect(attachment.status == .forbidden && attachment.errorCode == "CHAT_DISABLED_BY_CHANNEL_TYPE", "\(attachment.rawBody)")
            let rude = try await api.call(.post, "/v1/channels/\(group)/messages", as: "alice", json: ["body": "heck"])
            #expect(rude.status == .badRequest && rude.errorCode == "CHAT_MESSAGE_BLOCKED", "\(rude.rawBody)")
            #expect(try await api.call(.post, "/v1/channels/\(group)/messages", as: "alice", json: ["body": "hello"]).status == .created)
        }
    }

    @Test("message_retention: a pass removes messages older than the type's days for everyone, quietly; infinite keeps them")
    func retention() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob")
            #expect(try await api.stream(.post, "/channeltypes", token: api.serverToken, json: ["name": "brief", "message_retention": "1"]).status == .created)
            try await api.createStreamChannel("b", type: "brief", by: "alice", members: ["bob"])
            try await api.createStreamChannel("k", type: "messaging", by: "alice", members: ["bob"])
            for cid in ["brief:b", "messaging:k"] { try await api.streamSend("old", to: cid, as: "bob") }
            api.clock.advance(by: .seconds(36 * 3600))
            for cid in ["brief:b", "messaging:k"] { try await api.streamSend("new", to: cid, as: "bob") }
            #expect(try await api.node.expireMessages() == 1, "only the brief channel had messages over a day old")
            func texts(_ cid: String) async throws -> [String] {
                let reply = try await api.stream(.post, "/channels/\(cid.replacingOccurrences(of: ":", with: "/"))/query", as: "alice", json: ["state": true])
                return reply.list("messages").compactMap { $0["text"] as? String }
            }
            #expect(try await texts("brief:b") == ["new"])
            #expect(try await texts("messaging:k") == ["old", "new"])
            #expect(try await api.node.expireMessages() == 0, "nothing more to remove")
            // A message exactly a day old stays; a second later it goes.
            api.clock.advance(by: .seconds(24 * 3600))
            #expect(try await api.node.expireMessages() == 0)
            api.clock.advance(by: .seconds(1))
            #expect(try await api.node.expireMessages() == 1)
            #expect(try await texts("brief:b").isEmpty)
            // The v1 kinds can have a retention too.
            let room = try await api.createChannel("room", name: "Lobby", owner: "alice")
            try await api.send("hello", to: room, as: "alice")
            #expect(try await api.stream(.put, "/channeltypes/room", token: api.serverToken, json: ["message_retention": 2]).status == .created)
            api.clock.advance(by: .seconds(3 * 86_400))
            #expect(try await api.node.expireMessages() == 1)
            let page = try await api.call(.get, "/v1/channels/\(room)/messages", as: "alice")
            #expect((page.object["messages"] as? [Any])?.isEmpty == true, "\(page.rawBody)")
        }
    }

    @Test("grants narrow what a channel role may do; roles the grants leave out and server tokens keep the built-in rules")
    func grants() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob")
            let members = ["channel_member": ["read-channel", "create-message", "update-message-owner"]]
            #expect(try await api.stream(.post, "/channeltypes", token: api.serverToken, json: ["name": "moderated", "grants": members]).status == .created)
            try await api.createStreamChannel("m", type: "moderated", by: "alice", members: ["bob"])
            try await api.streamSend("from bob", to: "moderated:m", as: "bob", id: "b-1")
            #expect(try await api.stream(.post, "/messages/b-1", as: "bob", json: ["message": ["text": "edited"]]).status == .ok)
            #expect(try await api.stream(.post, "/channels/moderated/m/read", as: "bob", json: TestAPI.empty).status == .created)
            let react = try await api.stream(.post, "/messages/b-1/reaction", as: "bob", json: ["reaction": ["type": "love"]])
            expectStreamError(react, .forbidden, code: 17, mentioning: "channel_member is not granted create-reaction")
            expectStreamError(try await api.stream(.delete, "/messages/b-1", as: "bob"), .forbidden, code: 17, mentioning: "delete-message-owner")
            // The owner's role is not in the grants; a server acting as bob bypasses them.
            #expect(try await api.stream(.post, "/messages/b-1/reaction", as: "alice", json: ["reaction": ["type": "love"]]).status == .created)
            let asServer = try await api.stream(.post, "/messages/b-1/reaction", token: api.serverToken, json: ["reaction": ["type": "like", "user_id": "bob"]])
            #expect(asServer.status == .created, "\(asServer.rawBody)")

            // v1 groups with the same grants refuse a member's reaction.
            #expect(try await api.stream(.put, "/channeltypes/group", token: api.serverToken, json: ["grants": members]).status == .created)
            let group = try await api.channelWithBob()
            let message = try await api.send("hi", to: group, as: "bob")
            let v1 = try await api.call(.post, "/v1/channels/\(group)/messages/\(message["id"] as? String ?? "")/reactions", as: "bob", json: ["emote_asset_id": "1"])
            #expect(v1.status == .forbidden && v1.errorCode == "CHAT_PERMISSION_DENIED", "\(v1.rawBody)")
        }
    }

    @Test("a retention pass capped at N channels goes on where the last one stopped, oldest first")
    func retentionCursor() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice")
            #expect(try await api.stream(.post, "/channeltypes", token: api.serverToken, json: ["name": "brief", "message_retention": 1]).status == .created)
            for id in ["b1", "b2", "b3"] {
                try await api.createStreamChannel(id, type: "brief", by: "alice", members: [])
                try await api.streamSend("old", to: "brief:\(id)", as: "alice", id: "\(id)-m")
                api.clock.advance(by: .seconds(1))
            }
            api.clock.advance(by: .seconds(2 * 86_400))
            var visited: [Int] = []
            for _ in 0..<4 { visited.append(try await api.node.expireMessages(limit: 2)) }
            #expect(visited == [2, 1, 0, 0], "b1 and b2, then b3, then nothing left: \(visited)")
            for id in ["b1", "b2", "b3"] {
                expectStreamError(try await api.stream(.get, "/messages/\(id)-m", as: "alice"), .notFound, code: 16, id)
            }
        }
    }

    @Test("connect_events off: watchers of the type's channels hear no presence changes")
    func connectEvents() async throws {
        try await TestAPI.run(.live) { api in
            try await api.upsertUsers("alice", "bob")
            #expect(try await api.stream(.post, "/channeltypes", token: api.serverToken, json: ["name": "quiet", "connect_events": false]).status == .created)
            // The same flow on a messaging channel (the control) announces bob; on the quiet one it does not.
            try await api.upsertUsers("carol")
            for (type, other) in [("messaging", "bob"), ("quiet", "carol")] {
                try await api.createStreamChannel("q", type: type, by: "alice", members: [other])
                let (alice, hello) = try await api.streamConnect("alice")
                _ = try await api.streamWatch("\(type):q", as: "alice", connection: hello.object["connection_id"], presence: true)
                let (socket, _) = try await api.streamConnect(other)
                try await api.streamSend("hi", to: "\(type):q", as: other)
                let next = try await alice.next(skipping: ["health.check"])
                #expect(next.type == (type == "quiet" ? "message.new" : "user.presence.changed"), "\(type): \(next.type)")
                socket.close()
                alice.close()
            }
        }
    }

    @Test("a single node keeps its channel types in its data directory across restarts")
    func keptInTheDataDirectory() throws {
        let directory = NSTemporaryDirectory() + "chorus-types-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try ChannelTypeRegistry(defaultMaxMessageLength: 4000, directory: directory)
        var support = ChannelTypeSettings(name: "support", at: Timestamp(milliseconds: 5))
        support.reactions = false
        var room = try #require(first.settings("room"))
        room.typingEvents = false
        try first.apply("support", support)
        try first.apply("room", room)
        let again = try ChannelTypeRegistry(defaultMaxMessageLength: 4000, directory: directory)
        #expect(again.settings("support") == support && again.settings("room")?.typingEvents == false)
        #expect(again.all().count == ChannelTypeSettings.builtInNames.count + 1)
        try again.apply("support", nil)
        #expect(try ChannelTypeRegistry(defaultMaxMessageLength: 4000, directory: directory).settings("support") == nil)
        // A file that cannot be read fails the start instead of losing its types.
        try Data("not json".utf8).write(to: URL(fileURLWithPath: directory + "/channel-types.json"))
        #expect(throws: (any Error).self) { try ChannelTypeRegistry(defaultMaxMessageLength: 4000, directory: directory) }
        // The metadata log's observers keep the newest version they were told of.
        let clustered = ChannelTypeRegistry(defaultMaxMessageLength: 4000)
        let encoded = String(decoding: try JSONEncoder().encode(support), as: UTF8.self)
        try clustered.adopt(settings: ["channel_type/support": encoded], version: 3)
        try clustered.adopt(settings: [:], version: 2)
        #expect(clustered.settings("support") == support, "an older version told late changes nothing")
    }
}

/// Channel types in a cluster: the metadata log decides them, every node applies them.
@Suite("Stream API channel types on a cluster (3 nodes in one process)", .serialized)
struct StreamChannelTypeClusterTests {
    @Test("a type created through one node is committed by the metadata log, read on every node and enforced by a channel's owner")
    func throughTheMetadataLog() async throws {
        try await TestCluster.run { cluster in
            // The metadata logs run on the injected clock: keep it moving.
            let logs = cluster.members.compactMap(\.metadataLog)
            #expect(logs.count == 3)
            let runs = logs.map { log in Task { try await log.run() } }
            let clock = cluster.apis[0].clock
            let ticking = Task {
                while !Task.isCancelled {
                    clock.advance(by: .milliseconds(20))
                    try await Task.sleep(for: .milliseconds(2))
                }
            }
            defer {
                ticking.cancel()
                for run in runs { run.cancel() }
            }
            let (one, two, three) = (cluster.apis[0], cluster.apis[1], cluster.apis[2])
            // The clock runs ten times faster than real time: on a starved machine the metadata log
            // can be between leaders when a change arrives, and the node answers 503 ("retry"),
            // as documented. A client retries; so does this test, a few times.
            func committing(_ request: () async throws -> Reply) async throws -> Reply {
                var reply = try await request()
                for _ in 0..<5 where reply.status == .serviceUnavailable { reply = try await request() }
                return reply
            }
            let created = try await committing {
                try await two.stream(.post, "/channeltypes", token: two.serverToken, json: ["name": "quiet", "reactions": false])
            }
            #expect(created.status == .created, "\(created.rawBody)")
            #expect(try await two.stream(.get, "/channeltypes/quiet", token: two.serverToken).status == .ok, "the asking node applied it before answering")
            for (index, api) in cluster.apis.enumerated() {
                var reply = try await api.stream(.get, "/channeltypes/quiet", token: api.serverToken)
                for _ in 0..<500 where reply.status != .ok {
                    try await Task.sleep(for: .milliseconds(5))
                    reply = try await api.stream(.get, "/channeltypes/quiet", token: api.serverToken)
                }
                #expect(reply.status == .ok && reply.object["reactions"] as? Bool == false, "node \(index + 1): \(reply.rawBody)")
            }
            try await one.upsertUsers("alice", "bob")
            try await three.createStreamChannel("q1", type: "quiet", by: "alice", members: ["bob"])
            try await three.streamSend("hi", to: "quiet:q1", as: "bob", id: "q-m1")
            let reaction = try await one.stream(.post, "/messages/q-m1/reaction", as: "alice", json: ["reaction": ["type": "love"]])
            expectStreamError(reaction, .forbidden, code: 17, mentioning: "quiet")
            let updated = try await committing { try await one.stream(.put, "/channeltypes/quiet", token: one.serverToken, json: ["reactions": true]) }
            #expect(updated.status == .created, "\(updated.rawBody)")
            var allowed = try await three.stream(.post, "/messages/q-m1/reaction", as: "alice", json: ["reaction": ["type": "love"]])
            for _ in 0..<500 where allowed.status != .created {
                try await Task.sleep(for: .milliseconds(5))
                allowed = try await three.stream(.post, "/messages/q-m1/reaction", as: "alice", json: ["reaction": ["type": "love"]])
            }
            #expect(allowed.status == .created, "\(allowed.rawBody)")
        }
    }
}
