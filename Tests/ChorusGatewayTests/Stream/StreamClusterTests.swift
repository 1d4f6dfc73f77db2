import ChorusChat
import ChorusModel
import Foundation
import HTTPTypes
import Testing

/// The Stream API on three in-process nodes (``TestCluster``, each node with its own HTTP client
/// on 127.0.0.1): whichever node is asked, query channels and query members give the same
/// answer, and a channel created through one node is read and written through the others
/// (docs/stream-api.md, "One engine", "Query cost").
@Suite("Stream API on a cluster (3 nodes in one process)", .serialized)
struct StreamClusterTests {
    /// The node the ring places channel `cid` on.
    func owner(of cid: String, in cluster: TestCluster) throws -> String {
        let id = try #require(ChannelAddress(cid: cid)?.channelID, "\(cid)")
        return cluster.placements[0].owner(of: ChannelActor.identity(of: id))
    }

    /// `body` sent to every node: the replies, in node order.
    func everyNode(_ cluster: TestCluster, _ method: HTTPRequest.Method, _ path: String, token: (TestAPI) -> String, json: Any? = nil) async throws -> [Reply] {
        var replies: [Reply] = []
        for api in cluster.apis { replies.append(try await api.stream(method, path, token: token(api), json: json)) }
        return replies
    }

    /// Checks that every node answered `status` with the same `key` array as the first.
    func expectSame(_ replies: [Reply], _ key: String, status: HTTPResponse.Status, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for (index, reply) in replies.enumerated() {
            #expect(reply.status == status, "\(what) on node \(index + 1): \(reply.rawBody.prefix(300))", sourceLocation: sourceLocation)
            let same = NSArray(array: reply.list(key)).isEqual(to: replies[0].list(key))
            #expect(same, "\(what): node \(index + 1) differs from node 1", sourceLocation: sourceLocation)
        }
    }

    /// `GET /members?payload=…` path.
    func membersPath(_ payload: [String: Any]) throws -> String {
        let text = String(decoding: try JSONSerialization.data(withJSONObject: payload), as: UTF8.self)
        return "/members?payload=" + (text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text)
    }

    /// Six channels a minute apart from T0, each created through node i % 3: c0 (alice owner, bob;
    /// red), c1 (bob, carol; blue), c2 (carol, alice, dave; red), team:c3 (dave, alice; green),
    /// c4 (alice, carol, dave; blue), c5 (bob, dave; red); then bob posts in c0 (T0+6 min) and
    /// dave in c3 (T0+7 min), each through another node than the one that created the channel.
    func fixture(_ cluster: TestCluster) async throws {
        let apis = cluster.apis
        try await apis[0].upsertUsers("alice", "bob", "carol", "dave")
        let specs: [(String, String, String, [String], String)] = [
            ("c0", "messaging", "alice", ["bob"], "red"), ("c1", "messaging", "bob", ["carol"], "blue"),
            ("c2", "messaging", "carol", ["alice", "dave"], "red"), ("c3", "team", "dave", ["alice"], "green"),
            ("c4", "messaging", "alice", ["carol", "dave"], "blue"), ("c5", "messaging", "bob", ["dave"], "red"),
        ]
        for (index, (id, type, creator, members, color)) in specs.enumerated() {
            try await apis[index % 3].createStreamChannel(id, type: type, by: creator, members: members, data: ["color": color, "name": "Channel \(index)"])
            apis[0].clock.advance(by: .seconds(60))
        }
        try await apis[1].streamSend("in c0", to: "messaging:c0", as: "bob")
        apis[0].clock.advance(by: .seconds(60))
        try await apis[2].streamSend("in c3", to: "team:c3", as: "dave")
        apis[0].clock.advance(by: .seconds(60))
    }

    @Test("query channels (server scan, user_id, user token; filters, sorts, pages) and query members: the same answer from every node")
    func sameAnswerEverywhere() async throws {
        try await TestCluster.run { cluster in
            try await fixture(cluster)
            let all = ["messaging:c0", "messaging:c1", "messaging:c2", "team:c3", "messaging:c4", "messaging:c5"]
            let owners = try Set(all.map { try owner(of: $0, in: cluster) })
            #expect(owners.count >= 2, "the channels should live on several nodes: \(owners)")
            for api in cluster.apis {
                let here = Set(api.node.activeActorIDs.channels)
                #expect(all.filter { here.contains(ChannelAddress(cid: $0)!.channelID!) }.count < all.count, "no node holds every channel")
            }
            func sort(_ fields: (String, Int)...) -> [[String: Any]] { fields.map { ["field": $0.0, "direction": $0.1] } }
            let (c0, c1, c2, c3, c4, c5) = ("messaging:c0", "messaging:c1", "messaging:c2", "team:c3", "messaging:c4", "messaging:c5")
            let cases: [(String, [String: Any], [String])] = [
                ("server scan, default sort (updated_at desc)", [:], [c3, c0, c5, c4, c2, c1]),
                ("server scan, filter and sort", ["filter_conditions": ["color": "red"], "sort": sort(("created_at", -1))], [c5, c2, c0]),
                ("server scan, $or and sort", ["filter_conditions": ["$or": [["type": "team"], ["color": "blue"]]], "sort": sort(("created_at", 1))], [c1, c3, c4]),
                ("server scan, page", ["sort": sort(("created_at", 1)), "limit": 2, "offset": 2], [c2, c3]),
                ("server, members filter", ["filter_conditions": ["members": ["$in": ["dave"]]], "sort": sort(("created_at", 1))], [c2, c3, c4, c5]),
                ("server for alice", ["user_id": "alice"], [c3, c0, c4, c2]),
                ("server for carol, filter and sort", ["user_id": "carol", "filter_conditions": ["type": "messaging"],
                                                      "sort": sort(("member_count", -1), ("created_at", 1))], [c2, c4, c1]),
                ("server for bob, last_message_at", ["user_id": "bob", "filter_conditions": ["last_message_at": ["$exists": true]]], [c0]),
            ]
            for (name, body, expected) in cases {
                let replies = try await everyNode(cluster, .post, "/channels", token: { $0.serverToken }, json: body)
                #expect(replies[0].cids == expected, "\(name)")
                expectSame(replies, "channels", status: .created, name)
            }
            // A user token, on every node.
            let dave = try await everyNode(cluster, .post, "/channels", token: { $0.token("dave") },
                                           json: ["filter_conditions": ["color": ["$in": ["red", "green"]]]])
            #expect(dave[0].cids == [c3, c5, c2])
            expectSame(dave, "channels", status: .created, "dave's token")
            #expect(dave[0].list("channels").first?.texts == ["in c3"])
            #expect(dave[0].list("channels").first?.dict("membership")["user_id"] as? String == "dave")

            let memberCases: [([String: Any], [String])] = [
                (["type": "messaging", "id": "c4"], ["alice", "carol", "dave"]),
                (["type": "messaging", "id": "c4", "sort": sort(("name", -1)), "limit": 2], ["dave", "carol"]),
                (["type": "messaging", "id": "c2", "filter_conditions": ["name": ["$autocomplete": "da"]]], ["dave"]),
                (["type": "team", "id": "c3", "filter_conditions": ["channel_role": "owner"]], ["dave"]),
            ]
            for (payload, expected) in memberCases {
                let replies = try await everyNode(cluster, .get, try membersPath(payload), token: { $0.serverToken })
                #expect(replies[0].list("members").map { $0["user_id"] as? String ?? "?" } == expected, "\(payload)")
                expectSame(replies, "members", status: .ok, "members \(payload)")
                let asAlice = try await everyNode(cluster, .get, try membersPath(payload), token: { $0.token("alice") })
                expectSame(asAlice, "members", status: .ok, "members as alice \(payload)")
            }
        }
    }

    @Test("a channel created through one node, owned by another, is read, written, changed, muted, truncated and deleted through any node")
    func crossNodeChannel() async throws {
        try await TestCluster.run { cluster in
            let (one, two, three) = (cluster.apis[0], cluster.apis[1], cluster.apis[2])
            try await two.upsertUsers("alice", "bob", "carol")
            // An id the ring places on chorus-3, created through chorus-1 with a user token.
            let id = try #require((0..<500).lazy.map { "cross\($0)" }.first { (try? owner(of: "messaging:\($0)", in: cluster)) == "chorus-3" })
            let cid = "messaging:\(id)"
            let path = "/channels/messaging/\(id)"
            let created = try await one.stream(.post, path + "/query", token: one.token("alice"),
                                               json: ["data": ["name": "Cross", "members": ["bob"], "color": "red"]])
            #expect(created.status == .created, "\(created.rawBody)")
            #expect(!one.node.activeActorIDs.channels.contains(ChannelAddress(cid: cid)!.channelID!), "node 1 only forwarded")

            let state = try await two.stream(.post, path + "/query", token: two.token("bob"), json: ["state": true])
            #expect(state.status == .created, "\(state.rawBody)")
            expectStrings(state.channel, ["cid": cid, "name": "Cross", "color": "red", "created_by.id": "alice"])
            #expect(state.roles == ["alice": "owner", "bob": "channel_member"])

            try await two.streamSend("from node 2", to: cid, as: "bob")
            try await three.streamSend("from node 3", to: cid, as: "alice", id: "m3")
            let byServer = try await one.stream(.post, path + "/message", token: one.serverToken, json: ["message": ["text": "from node 1", "user_id": "bob"]])
            #expect(byServer.status == .created, "\(byServer.rawBody)")
            for (api, user) in [(one, "alice"), (two, "bob"), (three, "bob")] {
                let reply = try await api.stream(.post, path + "/query", token: api.token(user), json: ["state": true])
                #expect(reply.texts == ["from node 2", "from node 3", "from node 1"], "\(user): \(reply.rawBody.prefix(300))")
                #expect(reply.list("messages").map { $0.dict("user")["id"] as? String } == ["bob", "alice", "bob"])
            }

            // Changes through one node show through the others.
            #expect(try await two.stream(.patch, path, token: two.token("alice"), json: ["set": ["color": "green"]]).status == .ok)
            #expect(try await three.stream(.post, path, token: three.serverToken, json: ["add_members": ["carol"]]).status == .created)
            let changed = try await one.stream(.post, path + "/query", token: one.token("carol"), json: ["state": true])
            #expect(changed.channel["color"] as? String == "green", "\(changed.rawBody.prefix(300))")
            #expect(changed.roles == ["alice": "owner", "bob": "channel_member", "carol": "channel_member"])
            let carolsList = try await two.stream(.post, "/channels", token: two.token("carol"), json: TestAPI.empty)
            #expect(carolsList.cids == [cid])

            // Read state and unread counts.
            #expect(try await two.stream(.post, path + "/read", token: two.token("carol"), json: TestAPI.empty).status == .created)
            try await three.streamSend("after read", to: cid, as: "bob")
            let unread = try await one.stream(.get, "/unread", token: one.token("carol"))
            #expect(unread.object["total_unread_count"] as? Int == 1, "\(unread.rawBody)")
            #expect(unread.list("channels").first?["channel_id"] as? String == cid)

            // A mute through node 1 is seen by query channels on node 3.
            #expect(try await one.stream(.post, "/moderation/mute/channel", token: one.token("carol"), json: ["channel_cid": cid]).status == .created)
            let muted = try await three.stream(.post, "/channels", token: three.serverToken, json: ["user_id": "carol", "filter_conditions": ["muted": true]])
            #expect(muted.cids == [cid], "\(muted.rawBody.prefix(300))")

            // Truncate through node 2: gone from the history on node 1; delete through node 1: 404 on node 2 and 3.
            #expect(try await two.stream(.post, path + "/truncate", token: two.token("alice"), json: TestAPI.empty).status == .created)
            #expect(try await one.stream(.post, path + "/query", token: one.token("bob"), json: ["state": true]).texts == [])
            try await three.streamSend("after truncate", to: cid, as: "carol")
            #expect(try await two.stream(.post, path + "/query", token: two.token("alice"), json: ["state": true]).texts == ["after truncate"])
            let deleted = try await one.stream(.delete, path + "?hard_delete=true", token: one.serverToken)
            #expect(deleted.status == .ok, "\(deleted.rawBody)")
            for api in [two, three] {
                expectStreamError(try await api.stream(.post, path + "/query", token: api.token("alice"), json: ["state": true]),
                                  .notFound, code: 16, mentioning: "Can't find channel")
                expectStreamError(try await api.stream(.post, path + "/message", token: api.token("bob"), json: ["message": ["text": "x"]]),
                                  .notFound, code: 16, mentioning: "Can't find channel")
                #expect(try await api.stream(.post, "/channels", token: api.serverToken, json: TestAPI.empty).cids == [])
                #expect(try await api.stream(.post, "/channels", token: api.token("carol"), json: TestAPI.empty).cids == [])
            }
        }
    }

    @Test("watching across nodes: the socket on one node, the watch and the presence asked through another, the channel on a third")
    func watchAcrossNodes() async throws {
        try await TestCluster.run { cluster in
            let apis = cluster.apis
            try await apis[0].upsertUsers("alice", "bob")
            // A channel that lives on node 3, so the socket (node 1) and the REST calls (node 2) are elsewhere.
            let id = try #require((0..<200).map { "w\($0)" }.first { try! owner(of: "messaging:\($0)", in: cluster) == cluster.systems[2].nodeName })
            let cid = "messaging:\(id)"
            try await apis[1].createStreamChannel(id, by: "alice", members: ["bob"])
            let (bob, hello) = try await apis[0].streamConnect("bob")
            let connection = hello.object["connection_id"]

            try await apis[1].streamSend("before", to: cid, as: "alice")
            #expect(try await bob.next(skipping: ["health.check"]).type == "notification.message_new")
            let state = try await apis[1].streamWatch(cid, as: "bob", connection: connection, presence: true)
            #expect(state.object["watcher_count"] as? Int == 1)
            try await apis[2].streamSend("after", to: cid, as: "alice")
            let new = try await bob.next(skipping: ["health.check"])
            #expect(new.type == "message.new" && new.object.dict("message")["text"] as? String == "after")
            // Alice comes online on node 2: bob, watching with presence on node 1, hears of it.
            let (alice, _) = try await apis[1].streamConnect("alice")
            let up = try await bob.next(skipping: ["health.check"])
            #expect(up.type == "user.presence.changed" && up.object.dict("user")["id"] as? String == "alice")
            withExtendedLifetime(alice) {}
            // Stopping through node 3.
            let stop = try await apis[2].stream(.post, "/channels/messaging/\(id)/stop-watching", as: "bob", json: ["connection_id": connection as Any])
            #expect(stop.status == .ok)
            try await apis[1].streamSend("later", to: cid, as: "alice")
            #expect(try await bob.next(skipping: ["health.check"]).type == "notification.message_new")
        }
    }
}
