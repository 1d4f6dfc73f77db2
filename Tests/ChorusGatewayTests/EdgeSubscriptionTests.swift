@testable import ChorusChat
import ChorusCluster
@testable import ChorusGateway
import ChorusModel
import ChorusTestSupport
import Foundation
import NIOWebSocket
import Testing

/// An edge's subscriptions at channel actors, which outlive the edge's process.
@Suite("Edge subscriptions", .serialized)
struct EdgeSubscriptionTests {
    func session(_ user: String, on hub: RealtimeHub, clock: ManualTimeSource) -> RealtimeSession {
        RealtimeSession(
            id: UUID().uuidString, user: UserID(user)!, bufferLimit: 1 << 20, grace: .seconds(10), clock: clock, counters: hub.counters)
    }

    /// The bodies of the `message` events queued on `session`.
    func messages(queuedOn session: RealtimeSession) throws -> [String] {
        var bodies: [String] = []
        while let frame = session.takeFrame() {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(String(buffer: frame).utf8)) as? [String: Any])
            if object["type"] as? String == "message", let data = object["data"] as? [String: Any], let body = data["body"] as? String {
                bodies.append(body)
            }
        }
        return bodies
    }

    @Test("an edge that restarts subscribes ahead of its earlier run: a channel's actor that saw the earlier run's calls does not ignore the new ones")
    func restartedEdge() async throws {
        try await TestAPI.run(.live) { api in
            let raw = try await api.channelWithBob()
            let channel = ChannelID(raw)!
            let edge = api.hub.edgeName
            // The edge's earlier run, started at this moment, made a few subscription changes at the
            // channel's actor; its last one unsubscribed (its last socket there left).
            let earlier = RealtimeHub.firstGeneration(startingAt: api.clock.now()) + 10
            try await api.node.withChannel(channel) { actor in
                try await actor.subscribe(edge: edge, generation: earlier - 1)
                try await actor.unsubscribe(edge: edge, generation: earlier)
            }
            // The edge's process restarts (a second later) and a socket of bob's follows the channel.
            api.clock.advance(by: .seconds(1))
            let restarted = RealtimeHub(edgeName: edge, node: api.node, configuration: api.hub.configuration, logger: api.hub.logger)
            let bob = session("bob", on: restarted, clock: api.clock)
            try restarted.register(bob)
            try await restarted.follow(bob, channel, .live)
            _ = try await api.send("after the restart", to: raw, as: "alice")
            #expect(try messages(queuedOn: bob) == ["after the restart"])
        }
    }

    @Test("generations start at the start time in milliseconds, 2^20 apart, so a later start is ahead of an earlier run's first million changes a millisecond")
    func firstGeneration() {
        let start = Timestamp(milliseconds: 1_764_000_000_000)
        #expect(RealtimeHub.firstGeneration(startingAt: start) == 1_764_000_000_000 << 20)
        #expect(RealtimeHub.firstGeneration(startingAt: start.advanced(by: .milliseconds(1))) == RealtimeHub.firstGeneration(startingAt: start) + (1 << 20))
        #expect(RealtimeHub.firstGeneration(startingAt: Timestamp(milliseconds: -5)) == 0)
    }

    /// A user whose actor lives on `node`, or on none of `avoiding`.
    func user(in cluster: TestCluster, on node: String? = nil, avoiding: Set<String> = []) -> String {
        (1...).lazy.map { "user\($0)" }.first { name in
            let owner = cluster.placements[0].owner(of: UserActor.identity(of: UserID(name)!))
            return node.map { owner == $0 } ?? !avoiding.contains(owner)
        }!
    }

    /// A user of chorus-3 (her actor on chorus-1 or chorus-3) in alice's room on chorus-2 (and in
    /// `other`), with the link between chorus-2 and chorus-3 cut.
    func memberOfARoomCutOff(in cluster: TestCluster, alsoIn other: String? = nil) async throws -> (user: String, room: String) {
        let (one, three) = (cluster.apis[0], cluster.apis[2])
        let carol = user(in: cluster, avoiding: ["chorus-2"])
        try await three.createUsers(carol)
        let room = try await cluster.createChannel(on: "chorus-2", through: one, "room", name: "Far", owner: "alice")
        for joined in [room] + (other.map { [$0] } ?? []) { try await one.addMember(carol, to: joined, by: "alice") }
        cluster.network.cut("chorus-2", "chorus-3")
        return (carol, room)
    }

    /// The next `message` event's body (other frames skipped).
    func nextMessage(_ socket: TestSocket) async throws -> String? {
        var frame = try await socket.next()
        while frame.type != "message" { frame = try await socket.next() }
        return frame.data["body"] as? String
    }

    @Test("a socket that connects while its channel's owner is out of reach from its node waits for it (as through a failover), then gets the channel's events")
    func followRetries() async throws {
        try await TestCluster.run { cluster in
            let (one, three) = (cluster.apis[0], cluster.apis[2])
            let (carol, room) = try await memberOfARoomCutOff(in: cluster)
            let socket = TestSocket(url: three.webSocketURL + "?token=" + three.token(carol))
            try await eventually("the follow tried the owner") { cluster.network.refusedCalls(from: "chorus-3", to: "chorus-2") > 0 }
            cluster.network.heal("chorus-2", "chorus-3")
            #expect(try await socket.next().type == "hello")
            try await one.send("after", to: room, as: "alice")
            #expect(try await nextMessage(socket) == "after")
            socket.close()
        }
    }

    @Test("a channel whose owner stays out of reach through the follow's retries: resume_failed (CLUSTER_UNAVAILABLE) right after hello, the user's other channels live")
    func followGivesUp() async throws {
        try await TestCluster.run { cluster in
            let (one, three) = (cluster.apis[0], cluster.apis[2])
            let near = try await cluster.createChannel(on: "chorus-1", through: one, "room", name: "Near", owner: "alice")
            let (carol, far) = try await memberOfARoomCutOff(in: cluster, alsoIn: near)
            let socket = TestSocket(url: three.webSocketURL + "?token=" + three.token(carol))
            #expect(try await socket.next().type == "hello")
            let failed = try await socket.next()
            #expect(failed.type == "resume_failed" && failed.channelID == far && failed.errorCode == "CLUSTER_UNAVAILABLE", "\(failed)")
            try await one.send("near", to: near, as: "alice")
            #expect(try await nextMessage(socket) == "near")
            cluster.network.heal("chorus-2", "chorus-3")
            socket.close()
        }
    }

    @Test("a socket whose user's channels cannot be listed is refused: an error frame (CLUSTER_UNAVAILABLE) and 1001, and the session is gone")
    func unlistableChannelsRefuse() async throws {
        try await TestCluster.run { cluster in
            let three = cluster.apis[2]
            let carol = user(in: cluster, on: "chorus-2")
            try await three.createUsers(carol)  // chorus-3 now knows her profile: the socket gets as far as listing her channels
            cluster.network.cut("chorus-2", "chorus-3")
            let socket = TestSocket(url: three.webSocketURL + "?token=" + three.token(carol))
            let refused = try await socket.next()
            #expect(refused.type == "error" && refused.errorCode == "CLUSTER_UNAVAILABLE", "\(refused)")
            #expect(try await socket.closed() == .goingAway)
            try await eventually("the session is forgotten") { three.hub.sessionCount == 0 }
            cluster.network.heal("chorus-2", "chorus-3")
        }
    }

    @Test("a peer the ring dropped (suspected under load, still serving its sockets) still gets events forwarded to its edge; a name never on the ring does not")
    func edgeOffTheOwnersRing() async throws {
        try await TestCluster.run { cluster in
            let two = cluster.apis[1]
            // chorus-1 and chorus-2 take chorus-3 off their ring (the same points: only chorus-3's keys
            // move) before anything of chorus-3's edge reached chorus-2.
            let survivors = HashRing(nodes: ["chorus-1", "chorus-2"], virtualNodes: cluster.placements[0].ring.virtualNodes, epoch: 2)
            cluster.placements[0].update(survivors)
            cluster.placements[1].update(survivors)
            #expect(cluster.placements[1].peers == ["chorus-1"])
            #expect(cluster.placements[1].knownPeers == ["chorus-1", "chorus-3"])
            #expect(two.node.eventSink(edge: "chorus-3") != nil, "a subscription of chorus-3's edge would be dropped")
            #expect(two.node.eventSink(edge: "chorus-9") == nil)
            // chorus-3 back on every ring, so the nodes stop on one ring.
            let whole = HashRing(nodes: ["chorus-1", "chorus-2", "chorus-3"], virtualNodes: survivors.virtualNodes, epoch: 3)
            for placement in cluster.placements { placement.update(whole) }
        }
    }
}
