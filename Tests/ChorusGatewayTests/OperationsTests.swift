import ChorusGateway
import Foundation
import HTTPTypes
import Testing

/// `GET /metrics` and `GET /readyz` (docs/operations.md, "Metrics", "Health").
@Suite("Metrics and readiness")
struct OperationsTests {
    /// The value of the sample whose name is `name` and whose labels include every one of `labels`.
    static func sample(_ text: String, _ name: String, _ labels: [String: String] = [:]) -> Double? {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            let series = line[..<space]
            let seriesName = series.split(separator: "{", maxSplits: 1).first.map(String.init) ?? ""
            guard seriesName == name, labels.allSatisfy({ series.contains("\($0.key)=\"\($0.value)\"") }) else { continue }
            return Double(line[line.index(after: space)...])
        }
        return nil
    }

    @Test("HTTP requests are counted by route pattern, method and status, with latency histograms; unknown routes as unmatched")
    func httpMetrics() async throws {
        try await TestAPI.run { api in
            let channel = try await api.createChannel(owner: "alice")
            for _ in 0..<3 { try await api.send("hi", to: channel, as: "alice") }
            _ = try await api.call(.get, "/v1/nope", as: "alice")
            _ = try await api.call(.get, "/v1/channels/\(channel)/messages", as: "bob")  // not a member: 403
            let reply = try await api.call(.get, "/metrics", as: nil)
            #expect(reply.status == .ok && reply.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = reply.rawBody
            let route = "/v1/channels/{channelID}/messages"
            #expect(Self.sample(text, "chorus_http_requests_total", ["route": route, "method": "POST", "status": "201"]) == 3, "\(text.prefix(3000))")
            #expect(Self.sample(text, "chorus_http_requests_total", ["route": route, "method": "GET", "status": "403"]) == 1)
            #expect(Self.sample(text, "chorus_http_requests_total", ["route": "unmatched", "status": "404"]) == 1)
            #expect(Self.sample(text, "chorus_http_request_duration_seconds_count", ["route": route, "method": "POST"]) == 3)
            #expect(Self.sample(text, "chorus_http_request_duration_seconds_bucket", ["route": route, "method": "POST", "le": "+Inf"]) == 3)
            #expect(Self.sample(text, "chorus_active_actors", ["kind": "channel"]) == 1)
            #expect(Self.sample(text, "chorus_messages_total") == 3)
            #expect(Self.sample(text, "chorus_wal_next_lsn").map { $0 > 3 } == true)
            #expect(Self.sample(text, "chorus_ready") == 1)
            #expect(text.contains("# HELP chorus_http_requests_total"))
        }
    }

    @Test("WebSocket sessions and deliveries are counted; counters only grow between scrapes")
    func realtimeMetrics() async throws {
        try await TestAPI.run(.live) { api in
            let channel = try await api.channelWithBob()
            let bob = try await api.connect("bob")
            try await api.send("one", to: channel, as: "alice")
            _ = try await bob.next()
            let first = try await api.call(.get, "/metrics", as: nil).rawBody
            #expect(Self.sample(first, "chorus_websocket_sessions") == 1)
            let delivered = try #require(Self.sample(first, "chorus_deliveries_total"))
            #expect(delivered >= 1)
            try await api.send("two", to: channel, as: "alice")
            _ = try await bob.next()
            let second = try await api.call(.get, "/metrics", as: nil).rawBody
            #expect(try #require(Self.sample(second, "chorus_deliveries_total")) == delivered + 1)
            // The socket's frames (hello, the events) went out in at least one write, and "two" in another.
            let writes = try #require(Self.sample(first, "chorus_websocket_writes_total"))
            #expect(writes >= 1)
            #expect(try #require(Self.sample(second, "chorus_websocket_writes_total")) >= writes + 1)
            bob.close()
        }
    }

    @Test("admin/cluster: each node's counters and ring share; the stream sends that view as server-sent events; server tokens only; interval_ms bounds")
    func clusterViewAndStream() async throws {
        try await TestAPI.run(.live) { api in
            let channel = try await api.channelWithBob()
            let bob = try await api.connect("bob")
            for text in ["one", "two", "three"] {
                try await api.send(text, to: channel, as: "alice")
                _ = try await bob.next()
            }
            let view = try await api.call(.get, "/v1/admin/cluster", token: api.serverToken)
            let node = try #require((view.object["nodes"] as? [[String: Any]])?.first, "\(view.rawBody)")
            let counters = try #require(node["counters"] as? [String: Int], "\(view.rawBody)")
            #expect(counters["messages"] == 3 && counters["sessions"] == 1, "\(counters)")
            #expect((counters["deliveries"] ?? 0) >= 3 && (counters["wal_records"] ?? 0) > 3, "\(counters)")
            #expect(node["ring_share"] as? Double == 1 && (view.object["time_ms"] as? Int ?? 0) > 1_700_000_000_000)

            #expect(try await api.call(.get, "/v1/admin/cluster/stream", as: "alice").status == .forbidden)
            for bad in ["99", "60001", "soon"] {
                let reply = try await api.call(.get, "/v1/admin/cluster/stream?interval_ms=\(bad)", token: api.serverToken)
                #expect(reply.status == .badRequest && reply.rawBody.contains("interval_ms"), "\(bad): \(reply.rawBody)")
            }
            // A stopping node ends the stream after the event it owes; one event, then the end.
            try #require(api.health).startDraining()
            let stream = try await api.call(.get, "/v1/admin/cluster/stream?interval_ms=100", token: api.serverToken)
            #expect(stream.status == .ok && stream.headers[.contentType] == "text/event-stream")
            let events = stream.rawBody.components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.count == 1 && events[0].hasPrefix("event: cluster\ndata: {"), "\(stream.rawBody)")
            let data = try #require(events.first?.components(separatedBy: "data: ").last)
            let streamed = try JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]
            let streamedNode = try #require((streamed?["nodes"] as? [[String: Any]])?.first)
            #expect(streamedNode["counters"] as? [String: Int] == counters)
            bob.close()
        }
    }

    @Test("the OpenAPI documents and the dashboard are served without a token, as YAML and as a self-contained page")
    func documentsAndDashboard() async throws {
        try await TestAPI.run { api in
            for (name, title) in [("v1", "title: Chorus v1 API"), ("stream", "openapi: 3.1.0")] {
                let reply = try await api.call(.get, "/openapi/\(name).yaml")
                #expect(reply.status == .ok && reply.headers[.contentType] == "application/yaml; charset=utf-8")
                #expect(reply.rawBody.hasPrefix("openapi: 3.1.0\n") && reply.rawBody.contains(title), "\(reply.rawBody.prefix(200))")
            }
            let page = try await api.call(.get, "/dashboard")
            #expect(page.status == .ok && page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("connect-src 'self'") == true)
            #expect(page.rawBody.contains("/v1/admin/cluster/stream") && page.rawBody.contains("data-field"))
            // No external assets: the only absolute URL is SVG's namespace name, which is never fetched.
            let urls = page.rawBody.replacingOccurrences(of: "\"http://www.w3.org/2000/svg\"", with: "")
            #expect(!urls.contains("http://") && !urls.contains("https://"))
            #expect(try await api.call(.get, "/openapi/nope.yaml").status == .notFound)
        }
    }

    @Test("readyz: 200 while serving; 503 with the reason once the node stops (before its sockets close), or while it is off the ring")
    func readiness() async throws {
        try await TestAPI.run { api in
            let ready = try await api.call(.get, "/readyz", as: nil)
            #expect(ready.status == .ok && ready.string("status") == "ready")
            try #require(api.health).startDraining()
            let draining = try await api.call(.get, "/readyz", as: nil)
            #expect(draining.status == .serviceUnavailable && draining.string("status") == "not_ready", "\(draining.rawBody)")
            #expect((draining.object["reasons"] as? [String]) == ["the node is stopping"])
            #expect(Self.sample(try await api.call(.get, "/metrics", as: nil).rawBody, "chorus_ready") == 0)
            #expect(try await api.call(.get, "/healthz", as: nil).status == .ok, "alive all the same")
        }
        let offRing = NodeHealth { false }
        #expect(offRing.reasons() == ["the node is not on the ring (it serves no keys)"])
    }

    @Test("limits.max_members_per_channel: the member past it is refused with a clear error, through both APIs")
    func membersPerChannel() async throws {
        try await TestAPI.run(configuration: .testing { $0.limits.maxMembersPerChannel = 3 }) { api in
            try await api.createUsers("bob", "carol", "dave")
            let group = try await api.createChannel(owner: "alice")
            for user in ["bob", "carol"] { try await api.addMember(user, to: group, by: "alice") }
            let full = try await api.call(.post, "/v1/channels/\(group)/members", as: "alice", json: ["user_id": "dave", "role": "member"])
            #expect(full.status == .badRequest && full.errorCode == "INVALID_REQUEST" && full.rawBody.contains("max_members_per_channel"), "\(full.rawBody)")

            try await api.upsertUsers("erin")
            let tooMany = try await api.stream(
                .post, "/channels/messaging/big/query", token: api.serverToken, json: ["data": ["created_by": ["id": "alice"], "members": ["bob", "carol", "dave"]]])
            expectStreamError(tooMany, .badRequest, code: 4, mentioning: "max_members_per_channel")
            try await api.createStreamChannel("small", by: "alice", members: ["bob", "carol"])
            let added = try await api.stream(.post, "/channels/messaging/small", token: api.serverToken, json: ["add_members": ["dave"]])
            expectStreamError(added, .badRequest, code: 4, mentioning: "max_members_per_channel")
        }
    }

    @Test("limits.max_channels_per_user: joining past it is refused with a clear error (groups, added members, DMs, Stream channels); leaving makes room")
    func channelsPerUser() async throws {
        try await TestAPI.run(configuration: .testing { $0.limits.maxChannelsPerUser = 2 }) { api in
            try await api.createUsers("alice", "bob", "carol")
            _ = try await api.createChannel(owner: "alice")
            let bobs = try await api.createChannel(owner: "bob")
            try await api.addMember("alice", to: bobs, by: "bob")
            // alice is in 2 channels: a third of her own, an added membership, a DM and a Stream channel are refused.
            let third = try await api.call(.post, "/v1/channels", as: "alice", json: ["type": "group", "name": "Third"])
            #expect(third.status == .badRequest && third.errorCode == "INVALID_REQUEST" && third.rawBody.contains("max_channels_per_user"), "\(third.rawBody)")
            let carols = try await api.createChannel(owner: "carol")
            let added = try await api.call(.post, "/v1/channels/\(carols)/members", as: "carol", json: ["user_id": "alice", "role": "member"])
            #expect(added.status == .badRequest && added.rawBody.contains("max_channels_per_user"), "\(added.rawBody)")
            let dm = try await api.call(.post, "/v1/channels", as: "carol", json: ["type": "dm", "user_id": "alice"])
            #expect(dm.status == .badRequest && dm.rawBody.contains("max_channels_per_user"), "\(dm.rawBody)")
            let stream = try await api.stream(
                .post, "/channels/messaging/more/query", token: api.serverToken, json: ["data": ["created_by": ["id": "bob"], "members": ["alice"]]])
            expectStreamError(stream, .badRequest, code: 4, mentioning: "max_channels_per_user")
            // Leaving one makes room for the next.
            #expect(try await api.call(.delete, "/v1/channels/\(bobs)/members/alice", as: "alice").status == .noContent)
            #expect(try await api.call(.post, "/v1/channels/\(carols)/members", as: "carol", json: ["user_id": "alice", "role": "member"]).status == .created)
            // A DM that exists already is returned, whatever the count: bob and carol (one channel
            // each) open theirs, which fills both, and opening it again still answers with it.
            let opened = try await api.call(.post, "/v1/channels", as: "bob", json: ["type": "dm", "user_id": "carol"])
            #expect(opened.status == .created, "\(opened.rawBody)")
            let again = try await api.call(.post, "/v1/channels", as: "carol", json: ["type": "dm", "user_id": "bob"])
            #expect(again.status == .ok && again.string("id") == opened.string("id"), "\(again.rawBody)")
        }
    }
}
