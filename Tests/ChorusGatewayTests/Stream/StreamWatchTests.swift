import ChorusTestSupport
import Foundation
import Testing

/// Watching (seed "Websocket Events" and "Websocket Notification Events"): a socket gets every
/// event of the channels it watches, and only notification events of its user's other channels.
@Suite("Stream API watching, notifications and presence", .serialized)
struct StreamWatchTests {
    @Test("a socket hears notifications of channels it does not watch, everything of those it watches, until it stops watching")
    func watchAndNotifications() async throws {
        try await TestAPI.run(.live) { api in
            try await api.upsertUsers("alice", "bob")
            try await api.createStreamChannel("general", by: "alice", members: ["bob"])
            let (bob, hello) = try await api.streamConnect("bob")
            let connection = hello.object["connection_id"]

            // Not watching: typing and reactions are not heard; a message is notification.message_new.
            _ = try await api.stream(.post, "/channels/messaging/general/event", as: "alice", json: ["event": ["type": "typing.start"]])
            try await api.streamSend("one", to: "messaging:general", as: "alice", id: "m1")
            let notified = try await bob.next(skipping: ["health.check"])
            #expect(notified.type == "notification.message_new")
            #expect(notified.object.dict("channel")["cid"] as? String == "messaging:general")
            #expect(notified.object.dict("message")["text"] as? String == "one")
            // Bob's own read is notification.mark_read; alice's read is not heard.
            _ = try await api.stream(.post, "/channels/messaging/general/read", as: "alice", json: [:])
            _ = try await api.stream(.post, "/channels/messaging/general/read", as: "bob", json: [:])
            let markRead = try await bob.next(skipping: ["health.check"])
            #expect(markRead.type == "notification.mark_read")
            #expect(markRead.object.dict("user")["id"] as? String == "bob")

            // Watching: the state counts bob as a watcher, and every event is heard.
            let state = try await api.streamWatch("messaging:general", as: "bob", connection: connection)
            #expect(state.object["watcher_count"] as? Int == 1)
            #expect(state.list("watchers").compactMap { $0["id"] as? String } == ["bob"])
            _ = try await api.stream(.post, "/channels/messaging/general/event", as: "alice", json: ["event": ["type": "typing.start"]])
            #expect(try await bob.next(skipping: ["health.check"]).type == "typing.start")
            try await api.streamSend("two", to: "messaging:general", as: "alice")
            #expect(try await bob.next(skipping: ["health.check"]).type == "typing.stop")  // a message ends its sender's typing
            #expect(try await bob.next(skipping: ["health.check"]).type == "message.new")

            // Stopping: notifications again.
            let stop = try await api.stream(.post, "/channels/messaging/general/stop-watching", as: "bob", json: ["connection_id": connection as Any])
            #expect(stop.status == .ok)
            _ = try await api.stream(.post, "/channels/messaging/general/event", as: "alice", json: ["event": ["type": "typing.stop"]])
            try await api.streamSend("three", to: "messaging:general", as: "alice")
            #expect(try await bob.next(skipping: ["health.check"]).type == "notification.message_new")
            let after = try await api.stream(.post, "/channels/messaging/general/query", as: "alice", json: ["state": true])
            #expect(after.object["watcher_count"] as? Int == 0)

            // Added to a channel: notification.added_to_channel; removed: notification.removed_from_channel.
            try await api.createStreamChannel("later", by: "alice", members: ["alice"])
            let add = try await api.stream(.post, "/channels/messaging/later", as: "alice", json: ["add_members": ["bob"]])
            #expect(add.status == .created)
            let added = try await bob.next(skipping: ["health.check"])
            #expect(added.type == "notification.added_to_channel" && added.object["cid"] as? String == "messaging:later")
            let remove = try await api.stream(.post, "/channels/messaging/later", as: "alice", json: ["remove_members": ["bob"]])
            #expect(remove.status == .created)
            let removed = try await bob.next(skipping: ["health.check"])
            #expect(removed.type == "notification.removed_from_channel" && removed.object["cid"] as? String == "messaging:later")
        }
    }

    @Test("other watchers hear user.watching.start and .stop; a closed socket stops watching")
    func watchingEvents() async throws {
        try await TestAPI.run(.live) { api in
            try await api.upsertUsers("alice", "bob")
            try await api.createStreamChannel("general", by: "alice", members: ["bob"])
            let (alice, aliceHello) = try await api.streamConnect("alice")
            try await api.streamWatch("messaging:general", as: "alice", connection: aliceHello.object["connection_id"])
            let (bob, bobHello) = try await api.streamConnect("bob")
            let state = try await api.streamWatch("messaging:general", as: "bob", connection: bobHello.object["connection_id"])
            #expect(state.object["watcher_count"] as? Int == 2)
            #expect(state.list("watchers").compactMap { $0["id"] as? String } == ["alice", "bob"])
            // watchers: {limit, offset} pages the list; the count stays.
            let paged = try await api.stream(
                .post, "/channels/messaging/general/query", as: "alice", json: ["state": true, "watchers": ["limit": 1, "offset": 1]])
            #expect(paged.list("watchers").compactMap { $0["id"] as? String } == ["bob"])
            #expect(paged.object["watcher_count"] as? Int == 2)

            let start = try await alice.next(skipping: ["health.check"])
            #expect(start.type == "user.watching.start")
            #expect(start.object.dict("user")["id"] as? String == "bob")
            #expect(start.object["watcher_count"] as? Int == 2)
            bob.close()
            let stop = try await alice.next(skipping: ["health.check", "user.presence.changed"])
            #expect(stop.type == "user.watching.stop")
            #expect(stop.object["watcher_count"] as? Int == 1)
            let after = try await api.stream(.post, "/channels/messaging/general/query", as: "alice", json: ["state": true])
            #expect(after.object["watcher_count"] as? Int == 1)
        }
    }

    @Test("watching a public channel (livestream) as a non-member: its events until stop-watching")
    func watchPublicChannel() async throws {
        try await TestAPI.run(.live) { api in
            try await api.upsertUsers("alice", "bob")
            try await api.createStreamChannel("show", type: "livestream", by: "alice", members: ["alice"])
            let (bob, hello) = try await api.streamConnect("bob")
            let connection = hello.object["connection_id"]
            let state = try await api.streamWatch("livestream:show", as: "bob", connection: connection)
            #expect(state.object["watcher_count"] as? Int == 1)
            try await api.streamSend("live", to: "livestream:show", as: "alice")
            let new = try await bob.next(skipping: ["health.check"])
            #expect(new.type == "message.new" && new.object.dict("message")["text"] as? String == "live")
            _ = try await api.stream(.post, "/channels/livestream/show/stop-watching", as: "bob", json: ["connection_id": connection as Any])
            try await api.streamSend("unheard", to: "livestream:show", as: "alice")
            // Bob is not a member: after stop-watching nothing of the channel reaches him.
            try await api.createStreamChannel("dm", by: "alice", members: ["bob"])
            try await api.streamSend("heard", to: "messaging:dm", as: "alice")
            let next = try await bob.next(skipping: ["health.check", "notification.added_to_channel"])
            #expect(next.type == "notification.message_new" && next.object.dict("message")["text"] as? String == "heard")
        }
    }

    @Test("a socket watches at most realtime.max_watched_channels channels it is not a member of; stop-watching frees a place")
    func watchLimit() async throws {
        try await TestAPI.run(.live, configuration: .testing { $0.realtime.maxWatchedChannels = 2 }) { api in
            try await api.upsertUsers("alice", "bob")
            for show in ["s1", "s2", "s3"] { try await api.createStreamChannel(show, type: "livestream", by: "alice", members: ["alice"]) }
            let (bob, hello) = try await api.streamConnect("bob")
            let connection = hello.object["connection_id"]
            for show in ["s1", "s2"] { _ = try await api.streamWatch("livestream:\(show)", as: "bob", connection: connection) }
            let third = try await api.stream(
                .post, "/channels/livestream/s3/query", as: "bob", json: ["state": true, "watch": true, "connection_id": connection as Any])
            expectStreamError(third, .badRequest, code: 4, mentioning: "max_watched_channels")
            _ = try await api.streamWatch("livestream:s1", as: "bob", connection: connection)  // watching one again takes no new place
            _ = try await api.stream(.post, "/channels/livestream/s1/stop-watching", as: "bob", json: ["connection_id": connection as Any])
            _ = try await api.streamWatch("livestream:s3", as: "bob", connection: connection)
            bob.close()
        }
    }

    @Test("watch errors: no connection_id, an unknown one, another user's socket, a channel the user cannot read")
    func watchErrors() async throws {
        try await TestAPI.run(.live) { api in
            try await api.upsertUsers("alice", "bob", "carol")
            try await api.createStreamChannel("general", by: "alice", members: ["bob"])
            let (bob, hello) = try await api.streamConnect("bob")
            let connection = try #require(hello.object["connection_id"] as? String)
            let path = "/channels/messaging/general/query"
            let missing = try await api.stream(.post, path, as: "bob", json: ["watch": true])
            expectStreamError(missing, .badRequest, code: 4, mentioning: "connection_id")
            let unknown = try await api.stream(.post, path, as: "bob", json: ["watch": true, "connection_id": "nope"])
            expectStreamError(unknown, .badRequest, code: 4, mentioning: "nope")
            let foreign = try await api.stream(.post, path, as: "alice", json: ["watch": true, "connection_id": connection])
            expectStreamError(foreign, .forbidden, code: 17, mentioning: "another user")
            let (carol, carolHello) = try await api.streamConnect("carol")
            let outsider = try await api.stream(.post, path, as: "carol", json: ["watch": true, "connection_id": carolHello.object["connection_id"] as Any])
            #expect(outsider.status == .forbidden)
            let stopMissing = try await api.stream(.post, "/channels/messaging/general/stop-watching", as: "bob", json: [:])
            expectStreamError(stopMissing, .badRequest, code: 4, mentioning: "connection_id")
            // A server watch names the socket's user, or takes it from the socket.
            let server = try await api.stream(.post, path, as: nil, json: ["watch": true, "connection_id": connection, "state": true])
            #expect(server.status == .created && server.object["watcher_count"] as? Int == 1)
            withExtendedLifetime((bob, carol)) {}
        }
    }

    @Test("query channels with watch: true watches the page's channels")
    func queryChannelsWatch() async throws {
        try await TestAPI.run(.live) { api in
            try await api.upsertUsers("alice", "bob")
            try await api.createStreamChannel("one", by: "alice", members: ["bob"])
            try await api.createStreamChannel("two", by: "alice", members: ["bob"])
            let (bob, hello) = try await api.streamConnect("bob")
            let query = try await api.stream(
                .post, "/channels", as: "bob",
                json: ["filter_conditions": ["members": ["$in": ["bob"]]], "watch": true, "connection_id": hello.object["connection_id"] as Any])
            #expect(query.status == .created)
            #expect(query.list("channels").map { $0["watcher_count"] as? Int } == [1, 1])
            _ = try await api.stream(.post, "/channels/messaging/two/event", as: "alice", json: ["event": ["type": "typing.start"]])
            let typing = try await bob.next(skipping: ["health.check"])
            #expect(typing.type == "typing.start" && typing.object["cid"] as? String == "messaging:two")
        }
    }

    @Test("hiding, showing and muting reach only the user's own sockets, watching or not")
    func ownNotices() async throws {
        try await TestAPI.run(.live) { api in
            try await api.upsertUsers("alice", "bob")
            try await api.createStreamChannel("general", by: "alice", members: ["bob"])
            try await api.streamSend("one", to: "messaging:general", as: "alice")
            let (alice, aliceHello) = try await api.streamConnect("alice")
            try await api.streamWatch("messaging:general", as: "alice", connection: aliceHello.object["connection_id"])
            let (bob, _) = try await api.streamConnect("bob")

            _ = try await api.stream(.post, "/channels/messaging/general/hide", as: "bob", json: ["clear_history": true])
            let hidden = try await bob.next(skipping: ["health.check"])
            #expect(hidden.type == "channel.hidden" && hidden.object["clear_history"] as? Bool == true)
            #expect(hidden.object["cid"] as? String == "messaging:general")
            _ = try await api.stream(.post, "/channels/messaging/general/show", as: "bob", json: [:])
            #expect(try await bob.next(skipping: ["health.check"]).type == "channel.visible")
            _ = try await api.stream(.post, "/moderation/mute/channel", as: "bob", json: ["channel_cid": "messaging:general"])
            #expect(try await bob.next(skipping: ["health.check"]).type == "channel.muted")
            _ = try await api.stream(.post, "/moderation/unmute/channel", as: "bob", json: ["channel_cid": "messaging:general"])
            #expect(try await bob.next(skipping: ["health.check"]).type == "channel.unmuted")
            // Alice watches the channel but heard none of bob's notices: her next event is the message.
            try await api.streamSend("two", to: "messaging:general", as: "bob")
            #expect(try await alice.next(skipping: ["health.check", "user.presence.changed"]).type == "message.new")
        }
    }

    @Test("presence: online in responses that ask for it; watchers with presence hear user.presence.changed")
    func presence() async throws {
        try await TestAPI.run(.live) { api in
            try await api.upsertUsers("alice", "bob")
            try await api.createStreamChannel("general", by: "alice", members: ["bob"])
            let (alice, hello) = try await api.streamConnect("alice")
            let state = try await api.streamWatch("messaging:general", as: "alice", connection: hello.object["connection_id"], presence: true)
            let online = Dictionary(uniqueKeysWithValues: state.list("members").map { ($0.dict("user")["id"] as? String ?? "", $0.dict("user")["online"] as? Bool) })
            #expect(online == ["alice": true, "bob": false])

            let (bob, _) = try await api.streamConnect("bob")
            let up = try await alice.next(skipping: ["health.check"])
            #expect(up.type == "user.presence.changed")
            #expect(up.object.dict("user")["id"] as? String == "bob" && up.object.dict("user")["online"] as? Bool == true)
            let payload = #"{"filter_conditions": {"id": {"$in": ["bob"]}}}"#
            let users = try await api.stream(.get, "/users?payload=" + (payload.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? payload), as: "alice")
            #expect(users.list("users").first?["online"] as? Bool == true)
            bob.close()
            let down = try await alice.next(skipping: ["health.check"])
            #expect(down.type == "user.presence.changed" && down.object.dict("user")["online"] as? Bool == false)
            #expect(down.object.dict("user")["last_active"] is String)
        }
    }
}
