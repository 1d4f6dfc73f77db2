import ChorusActorSystem
import ChorusChat
import ChorusCluster
import ChorusGateway
import ChorusModel
import ChorusStorage
import ChorusTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

/// Several Chorus nodes in one process, built like any node (``ChorusNode``), connected by an
/// ``InProcessNetwork`` (no ports; links can be cut) and sharing one manual clock. The TCP transport is covered by its own tests and by the multi-process tests.
struct TestCluster {
    let apis: [TestAPI]
    let members: [ClusterMember]
    let systems: [ClusterActorSystem]
    let network: InProcessNetwork

    /// Runs `body` against `count` nodes; with `storage`, each node has a WAL and a store in a
    /// temporary directory (needed to hand keys over).
    /// `configure` changes every node's configuration after the cluster's settings.
    static func run(
        nodes count: Int = 3, storage: Bool = false, replicationFactor: Int = 1, configure: (inout ChorusConfiguration) -> Void = { _ in },
        _ body: @Sendable (TestCluster) async throws -> Void
    ) async throws {
        let clock = ManualTimeSource()
        let names = (1...count).map { "chorus-\($0)" }
        let network = InProcessNetwork()
        var nodes: [ChorusNode] = []
        var directories: [String] = []
        defer {
            for node in nodes { node.storage?.close() }
            for directory in directories { try? FileManager.default.removeItem(atPath: directory) }
        }
        for (index, name) in names.enumerated() {
            let directory = NSTemporaryDirectory() + "chorus-cluster-\(UUID().uuidString)"
            let configuration = ChorusConfiguration.testing {
                $0.limits.userRequestBurst = 100_000  // tests create many channels to land one on a given node
                $0.cluster.nodes = names.map { ClusterConfiguration.Node(name: $0, clusterAddress: "", clientAddress: "", dataDir: "") }
                $0.cluster.callTimeoutMs = 10_000
                $0.cluster.replicationFactor = replicationFactor
                $0.node.dataDir = directory
                $0.storage.fsync = "none"
                $0.storage.recentMessagesInMemory = 5
                configure(&$0)
            }
            if storage { directories.append(directory) }
            let node = try ChorusNode(
                configuration: configuration, cluster: .init(name: name, index: index, transport: .inProcess(network)),
                storage: storage ? .dataDirectory : .memory, clock: clock, jwtSecret: Array(TestAPI.secret.utf8), cdnKey: Array("cdn-key".utf8),
                logger: Logger(label: "test"))
            try await node.startCluster()
            nodes.append(node)
        }
        let started = nodes

        @Sendable func serve(_ index: Int, _ apis: [TestAPI]) async throws {
            guard index < started.count else {
                try await body(TestCluster(apis: apis, members: started.map { $0.member! }, systems: started.map(\.actorSystem), network: network))
                return
            }
            let node = started[index]
            try await node.application().test(.live) { client in
                try await serve(index + 1, apis + [TestAPI(clock: clock, node: node.chat, hub: node.realtime, client: client)])
            }
        }
        // Every transport is shut down before returning, also when the body throws.
        do {
            try await serve(0, [])
        } catch {
            for node in started { await node.stopCluster() }
            throw error
        }
        for node in started { await node.stopCluster() }
    }

    var placements: [ClusterPlacement] { members.map(\.placement) }

    /// A channel that `owner` creates through `api` and that the ring places on `node` (channels
    /// are placed by their id: create until one lands there).
    func createChannel(on node: String, through api: TestAPI, _ type: String = "group", name: String = "Team", owner: String) async throws -> String {
        var created = try await api.createChannel(type, name: name, owner: owner)
        while self.owner(ofChannel: created) != node {
            created = try await api.createChannel(type, name: name, owner: owner)
        }
        return created
    }

    /// A room of alice's that the ring places on chorus-2, made through node 1, with bob (made on
    /// `bobsNode`) as a member.
    func lobbyOnNode2(bobOn bobsNode: TestAPI) async throws -> String {
        try await bobsNode.createUsers("bob")
        let channel = try await createChannel(on: "chorus-2", through: apis[0], "room", name: "Lobby", owner: "alice")
        try await apis[0].addMember("bob", to: channel, by: "alice")
        return channel
    }

    /// The node that owns channel `id`.
    func owner(ofChannel id: String) -> String {
        placements[0].owner(of: ChannelActor.identity(of: ChannelID(id)!))
    }
}

@Suite("Chat cluster (3 nodes in one process)", .serialized)
struct ChatClusterTests {
    @Test("users on node 1 and node 3 chat in a channel owned by node 2 and see identical ordered streams")
    func crossNodeChat() async throws {
        try await TestCluster.run { cluster in
            let (one, three) = (cluster.apis[0], cluster.apis[2])
            let channel = try await cluster.lobbyOnNode2(bobOn: three)
            let alice = try await one.connect("alice")
            let bob = try await three.connect("bob")
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { for i in 0..<20 { try await one.send("alice \(i)", to: channel, as: "alice") } }
                group.addTask { for i in 0..<20 { try await three.send("bob \(i)", to: channel, as: "bob") } }
                try await group.waitForAll()
            }
            func messages(_ socket: TestSocket) async throws -> [String] {
                var seen: [String] = []
                while seen.count < 40 {
                    let frame = try await socket.next()
                    if frame.type == "message" { seen.append("\(frame.seq!) \(frame.data["body"] as! String)") }
                }
                return seen
            }
            let aliceSaw = try await messages(alice)
            let bobSaw = try await messages(bob)
            #expect(aliceSaw == bobSaw)
            let seqs = aliceSaw.map { Int($0.split(separator: " ")[0])! }
            #expect(seqs == seqs.sorted() && Set(seqs).count == 40)
            // Any node serves reads of the channel too.
            let page = try await three.call(.get, "/v1/channels/\(channel)/messages?limit=100", as: "bob")
            #expect((page["messages"] as? [[String: Any]])?.count == 40)
            // The channel actor lives only on its owner.
            #expect(cluster.apis[1].node.activeActorIDs.channels.contains(ChannelID(channel)!))
            #expect(!one.node.activeActorIDs.channels.contains(ChannelID(channel)!))
        }
    }

    @Test("membership, DMs and users across nodes: whoever owns them, every node answers")
    func crossNodeMembership() async throws {
        try await TestCluster.run { cluster in
            let (one, two, three) = (cluster.apis[0], cluster.apis[1], cluster.apis[2])
            try await three.createUsers("carol")
            try await two.createUsers("dave")
            let carol = try await three.connect("carol")
            let channel = try await one.createChannel(owner: "alice")
            try await one.addMember("carol", to: channel, by: "alice")
            try await one.send("welcome", to: channel, as: "alice")
            let joined = try await carol.next()
            #expect(joined.type == "member_add" && joined.data["user_id"] as? String == "carol")
            #expect(try await carol.next().data["body"] as? String == "welcome")
            // Carol's channel list, read on another node.
            let list = try await two.call(.get, "/v1/channels", as: "carol")
            #expect(list.array.map { $0["id"] as? String } == [channel])
            // A DM opened from node 2 between dave and carol is one channel, whatever node asks.
            let dm = try await two.call(.post, "/v1/channels", as: "dave", json: ["type": "dm", "user_id": "carol"])
            let again = try await one.call(.post, "/v1/channels", as: "carol", json: ["type": "dm", "user_id": "dave"])
            #expect(dm.status == .created && again.status == .ok && dm.string("id") == again.string("id"))
            // Unknown users and channels are the usual errors, not cluster errors.
            #expect(try await three.call(.get, "/v1/users/nobody", as: "carol").errorCode == "CHAT_USER_NOT_FOUND")
            #expect(try await three.call(.get, "/v1/channels/12345", as: "carol").errorCode == "CHAT_CHANNEL_NOT_FOUND")
            let notMember = try await three.call(.post, "/v1/channels/\(channel)/messages", as: "dave", json: ["body": "hi"])
            #expect(notMember.errorCode == "CHAT_NOT_MEMBER")
        }
    }

    @Test("a channel whose node is gone fails fast with 503 CLUSTER_UNAVAILABLE")
    func deadOwner() async throws {
        try await TestCluster.run { cluster in
            let one = cluster.apis[0]
            let channel = try await cluster.createChannel(on: "chorus-3", through: one, owner: "alice")
            await cluster.systems[2].shutdownTransport()
            let started = ContinuousClock.now
            let reply = try await one.call(.post, "/v1/channels/\(channel)/messages", as: "alice", json: ["body": "anyone?"])
            #expect(reply.status == .serviceUnavailable && reply.errorCode == "CLUSTER_UNAVAILABLE")
            #expect(ContinuousClock.now - started < .seconds(5), "it should fail fast, not wait for the call timeout")
        }
    }

    @Test("events the owner could not hand to a peer edge while the link was cut reach its socket once the link heals, in order, without a reconnect")
    func eventsSurviveACutLink() async throws {
        try await TestCluster.run { cluster in
            let (one, three) = (cluster.apis[0], cluster.apis[2])
            let channel = try await cluster.lobbyOnNode2(bobOn: three)
            let bob = try await three.connect("bob")
            try await one.send("before", to: channel, as: "alice")
            var frame = try await bob.next()
            while frame.type != "message" { frame = try await bob.next() }
            #expect(frame.data["body"] as? String == "before")
            // The owner (chorus-2) cannot reach bob's edge (chorus-3); the sends go through chorus-1.
            cluster.network.cut("chorus-2", "chorus-3")
            for index in 1...3 { try await one.send("during \(index)", to: channel, as: "alice") }
            try await eventually("the owner tried the cut link") { cluster.network.refusedCalls(from: "chorus-2", to: "chorus-3") > 0 }
            cluster.network.heal("chorus-2", "chorus-3")
            try await one.send("after", to: channel, as: "alice")
            var bodies: [String] = []
            while bodies.count < 4 {
                let next = try await bob.next()
                if next.type == "message", let body = next.data["body"] as? String { bodies.append(body) }
            }
            #expect(bodies == ["during 1", "during 2", "during 3", "after"])
            #expect(bob.closeCode == nil, "the socket stayed open")
        }
    }

    @Test("a cut link: the channel's owner is unavailable (503) from the cut-off node only, until the link heals")
    func partition() async throws {
        try await TestCluster.run { cluster in
            let (one, two) = (cluster.apis[0], cluster.apis[1])
            let channel = try await cluster.createChannel(on: "chorus-3", through: one, owner: "alice")
            cluster.network.cut("chorus-1", "chorus-3")
            let cutOff = try await one.call(.post, "/v1/channels/\(channel)/messages", as: "alice", json: ["body": "anyone?"])
            #expect(cutOff.status == .serviceUnavailable && cutOff.errorCode == "CLUSTER_UNAVAILABLE")
            let around = try await two.call(.get, "/v1/channels/\(channel)/messages", as: "alice")
            #expect(around.status == .ok, "\(around.rawBody)")
            cluster.network.heal("chorus-1", "chorus-3")
            let healed = try await one.call(.post, "/v1/channels/\(channel)/messages", as: "alice", json: ["body": "back"])
            #expect(healed.status == .created, "\(healed.rawBody)")
        }
    }

    /// Nodes 2 and 3 move to a new ring without node 1 (epoch 2; other points, so keys also move
    /// between 2 and 3) while node 1 keeps epoch 1; returns that ring and a room created on node 3
    /// that node 1's old ring places on node 2.
    private func roomMovedFromNode2(_ cluster: TestCluster) async throws -> (newer: HashRing, channel: String) {
        let newer = HashRing(nodes: ["chorus-2", "chorus-3"], virtualNodes: 512, epoch: 2)
        cluster.placements[1].update(newer)
        cluster.placements[2].update(newer)
        let three = cluster.apis[2]
        var created = try await three.createChannel("room", name: "Moved", owner: "carol")
        let oldRing = cluster.placements[0].ring
        for _ in 0..<200 where newer.owner(of: "channel/\(created)") != "chorus-3" || oldRing.owner(of: "channel/\(created)") != "chorus-2" {
            created = try await three.createChannel("room", name: "Moved", owner: "carol")
        }
        try #require(newer.owner(of: "channel/\(created)") == "chorus-3" && oldRing.owner(of: "channel/\(created)") == "chorus-2")
        return (newer, created)
    }

    @Test("a node with a stale ring is told wrongOwner, refreshes its ring from the peer and retries transparently")
    func staleRing() async throws {
        try await TestCluster.run { cluster in
            let (_, channel) = try await roomMovedFromNode2(cluster)
            let reply = try await cluster.apis[0].call(.get, "/v1/channels/\(channel)", as: "carol")
            #expect(reply.status == .ok && reply.string("name") == "Moved", "\(reply.rawBody)")
            #expect(cluster.placements[0].epoch == 2)
            #expect(cluster.placements[0].ring.nodes == ["chorus-2", "chorus-3"])
        }
    }

    @Test("a ring that changes while a call is out: refused with the caller's new epoch, the call is routed again by the new ring")
    func ringChangedDuringCall() async throws {
        try await TestCluster.run { cluster in
            let (newer, channel) = try await roomMovedFromNode2(cluster)
            // Node 1 routes by epoch 1 (to node 2), which refuses with epoch 2; node 1 learns epoch 2
            // (as from the metadata log or a heartbeat) before it reads the refusal.
            let attempts = Mutex(0)
            let info = try await cluster.apis[0].node.withChannel(ChannelID(channel)!) { actor in
                let attempt = attempts.withLock { $0 += 1; return $0 }
                do {
                    return try await actor.info(for: UserID("carol")!)
                } catch {
                    if attempt == 1 { cluster.placements[0].update(newer) }
                    throw error
                }
            }
            #expect(info.name == "Moved")
            #expect(attempts.withLock { $0 } == 2, "routed by epoch 1, then by epoch 2")
        }
    }

    @Test("heartbeats mark peers up and spread a newer ring; a silent peer goes suspect, then down, on the injected clock")
    func heartbeats() async throws {
        try await TestCluster.run { cluster in
            let one = cluster.apis[0]
            let membership = Membership(
                member: cluster.members[0], clock: one.clock, interval: .milliseconds(500), suspectAfter: .seconds(2), downAfter: .seconds(5),
                logger: Logger(label: "test"))
            cluster.placements[2].update(HashRing(nodes: ["chorus-1", "chorus-2", "chorus-3"], virtualNodes: 512, epoch: 7))
            await membership.beat()
            #expect(membership.view.map(\.status) == [.up, .up])
            #expect(cluster.placements[0].epoch == 7)
            #expect(membership.view.last?.report?.node == "chorus-3")
            // A heartbeat carries who the peer is, its epoch and incarnation, not its whole report
            // (a pass over every replica on the peer); the admin view asks for that when read.
            #expect(membership.view.last?.report?.incarnation == cluster.members[2].incarnation)
            #expect(membership.view.last?.report?.counters == nil)
            #expect(cluster.members[2].report().counters != nil)
            // Node 3 goes silent: suspect after 2 s, down after 5 s of the node's clock.
            await cluster.systems[2].shutdownTransport()
            one.clock.advance(by: .seconds(2))
            await membership.beat()
            #expect(membership.view.map(\.status) == [.up, .suspect])
            one.clock.advance(by: .seconds(3))
            await membership.beat()
            #expect(membership.view.map(\.status) == [.up, .down])
            let metrics = try await one.call(.get, "/metrics").rawBody
            for (peer, status) in [("chorus-2", "up"), ("chorus-3", "down")] {
                for candidate in ["up", "suspect", "down"] {
                    #expect(OperationsTests.sample(metrics, "chorus_cluster_peer_status", ["peer": peer, "status": candidate]) == (candidate == status ? 1 : 0))
                }
            }
            let view = try await one.call(.get, "/v1/admin/cluster", token: one.serverToken)
            let nodes = view["nodes"] as? [[String: Any]] ?? []
            #expect(nodes.map { $0["status"] as? String } == ["up", "up", "down"])
            #expect(nodes.map { $0["self"] as? Bool } == [true, false, false])
            #expect(view["ring_epoch"] as? Int == 7)
        }
    }

    @Test("remote calls are counted with a latency histogram: cumulative buckets, +Inf and _count equal the calls, _sum their total time")
    func remoteCallLatency() async throws {
        try await TestCluster.run { cluster in
            let one = cluster.apis[0]
            // Channels land on every node: creating and posting in them calls actors on the peers.
            for _ in 0..<6 {
                let channel = try await one.createChannel(owner: "alice")
                try await one.send("hi", to: channel, as: "alice")
            }
            let metrics = try await one.call(.get, "/metrics").rawBody
            let calls = try #require(OperationsTests.sample(metrics, "chorus_remote_calls_total"))
            #expect(calls > 0)
            let name = "chorus_remote_call_duration_seconds"
            #expect(OperationsTests.sample(metrics, name + "_count") == calls)
            #expect(OperationsTests.sample(metrics, name + "_bucket", ["le": "+Inf"]) == calls)
            let buckets = RemoteCallStats.bucketBounds.map { bound in
                OperationsTests.sample(metrics, name + "_bucket", ["le": "\(Double(bound.components.seconds) + Double(bound.components.attoseconds) / 1e18)"])
            }
            #expect(buckets.allSatisfy { $0 != nil } && zip(buckets, buckets.dropFirst()).allSatisfy { $0! <= $1! }, "\(buckets)")
            #expect(buckets.last!! <= calls)
            let nanoseconds = try #require(OperationsTests.sample(metrics, "chorus_remote_call_nanoseconds_total"))
            let sum = try #require(OperationsTests.sample(metrics, name + "_sum"))
            #expect(abs(sum - nanoseconds / 1e9) < 1e-6)
            #expect(metrics.contains("# TYPE \(name) histogram"))
        }
    }

    @Test("the nodes elect a leader of the metadata log on the injected clock; the admin view and the metrics show the term and the leader")
    func metadataLeader() async throws {
        try await TestCluster.run { cluster in
            let logs = cluster.members.map { $0.metadataLog! }
            let clock = cluster.apis[0].clock
            try await eventually("every node knows one leader") {
                clock.advance(by: .milliseconds(50))
                for log in logs { log.tick() }
                let leaders = Set(logs.map(\.status.leader))
                return leaders.count == 1 && leaders.first! != nil
            }
            let leader = try #require(logs[0].status.leader)
            for api in cluster.apis {
                let view = try await api.call(.get, "/v1/admin/cluster", token: api.serverToken)
                let metadata = try #require(view["metadata"] as? [String: Any])
                #expect(metadata["leader"] as? String == leader)
                #expect((metadata["term"] as? Int ?? 0) >= 1)
                #expect(metadata["role"] as? String == (view["node"] as? String == leader ? "leader" : "follower"))
                let metrics = try await api.call(.get, "/metrics").rawBody
                #expect(OperationsTests.sample(metrics, "chorus_metadata_term") == Double(metadata["term"] as? Int ?? -1))
                #expect(OperationsTests.sample(metrics, "chorus_metadata_leader") == (view["node"] as? String == leader ? 1 : 0))
                // Every node sent the metadata log's messages (votes, appends, answers), one-way.
                #expect((OperationsTests.sample(metrics, "chorus_remote_one_way_calls_total") ?? 0) >= 1)
            }
        }
    }

    @Test("a node that restarts after an unfinished leave serves its keys again once every peer shows the old ring, not before")
    func unfinishedLeave() async throws {
        try await TestCluster.run { cluster in
            let (one, two) = (cluster.apis[0], cluster.apis[1])
            let channel = try await cluster.createChannel(on: "chorus-2", through: one, owner: "alice")
            let member = cluster.members[1]
            // What a restart mid-leave restores: the gate closed towards the ring without chorus-2.
            member.placement.gate.restore(target: member.placement.ring.removing("chorus-2"))
            let refused = try await two.call(.post, "/v1/channels/\(channel)/messages", as: "alice", json: ["body": "refused"])
            #expect(refused.status == .serviceUnavailable, "\(refused.rawBody)")
            // A peer cannot be asked: the leave may have been adopted there, so the keys stay refused.
            cluster.network.cut("chorus-2", "chorus-3")
            #expect(try await !member.joinIfNeeded())
            #expect(member.placement.gate.target != nil)
            cluster.network.heal("chorus-2", "chorus-3")
            // Every peer shows the old ring: nobody adopted the leave, so chorus-2 serves again.
            #expect(try await !member.joinIfNeeded())
            #expect(member.placement.gate.target == nil)
            let served = try await two.call(.post, "/v1/channels/\(channel)/messages", as: "alice", json: ["body": "served"])
            #expect(served.status == .created, "\(served.rawBody)")
        }
    }

    @Test("sends to a channel whose owner is leaving pause while it moves and then succeed on its new owner: no 503, nothing lost or doubled")
    func sendsDuringHandoff() async throws {
        try await TestCluster.run(storage: true) { cluster in
            let (one, three) = (cluster.apis[0], cluster.apis[2])
            try await one.createUsers("bob")
            let room = try await cluster.createChannel(on: "chorus-2", through: one, "room", name: "busy", owner: "alice")
            try await one.addMember("bob", to: room, by: "alice")
            // Two senders on the other nodes post without pause while node 2 leaves.
            let leaving = Task { try await cluster.members[1].leave() }
            let senders = [(one, "alice"), (three, "bob")].map { api, user in
                Task { () -> [Int] in
                    var statuses: [Int] = []
                    for i in 0..<40 {
                        let reply = try await api.call(.post, "/v1/channels/\(room)/messages", as: user, json: ["body": "\(user) \(i)"])
                        statuses.append(Int(reply.status.code))
                    }
                    return statuses
                }
            }
            _ = try await leaving.value
            for sender in senders {
                let statuses = try await sender.value
                #expect(statuses.allSatisfy { $0 == 201 }, "\(statuses.filter { $0 != 201 })")
            }
            #expect(cluster.owner(ofChannel: room) != "chorus-2")
            let page = try await three.call(.get, "/v1/channels/\(room)/messages?limit=100", as: "alice")
            let bodies = (page["messages"] as? [[String: Any]] ?? []).compactMap { $0["body"] as? String }
            #expect(bodies.count == 80 && Set(bodies).count == 80)
            for user in ["alice", "bob"] {
                #expect(bodies.filter { $0.hasPrefix(user + " ") } == (0..<40).map { "\(user) \($0)" }, "each sender's messages in order")
            }
        }
    }

    @Test("a node that leaves hands its channels and users over; when it joins again it takes its share back; nothing acknowledged is lost")
    func leaveAndJoin() async throws {
        try await TestCluster.run(storage: true) { cluster in
            let (one, two, three) = (cluster.apis[0], cluster.apis[1], cluster.apis[2])
            // 12 rooms, each with a member and 5 messages; users spread over the nodes.
            var expected: [String: [String]] = [:]
            var members: [String: String] = [:]
            for i in 0..<12 {
                let member = "member\(i)"
                try await one.createUsers(member)
                let room = try await one.createChannel("room", name: "room \(i)", owner: "alice")
                try await one.addMember(member, to: room, by: "alice")
                members[room] = member
                for m in 0..<5 { try await one.send("\(i)-\(m)", to: room, as: "alice") }
                expected[room] = (0..<5).map { "\(i)-\($0)" }
            }
            let onTwo = expected.keys.filter { cluster.owner(ofChannel: $0) == "chorus-2" }
            try #require(!onTwo.isEmpty)
            // A socket on node 1 follows a room that lives on node 2.
            let watched = onTwo[0]
            let watcher = try await one.connect(members[watched]!)

            func check(_ api: TestAPI) async throws {
                for (room, bodies) in expected {
                    let page = try await api.call(.get, "/v1/channels/\(room)/messages?limit=100", as: "alice")
                    let got = (page["messages"] as? [[String: Any]] ?? []).compactMap { $0["body"] as? String }
                    #expect(got == bodies, "room \(room) via \(api.node.actorSystem.nodeName): \(page.rawBody)")
                }
                for (room, member) in members {
                    let list = try await api.call(.get, "/v1/channels", as: member)
                    #expect(list.array.compactMap { $0["id"] as? String } == [room], "\(member)'s channels: \(list.rawBody)")
                }
            }

            // Node 2 leaves gracefully.
            let left = try await cluster.members[1].leave()
            #expect(left[ChannelActor.kind] == onTwo.count && left[UserActor.kind, default: 0] > 0)
            for placement in [cluster.placements[0], cluster.placements[2]] {
                #expect(placement.epoch == 2 && placement.ring.nodes == ["chorus-1", "chorus-3"])
            }
            try await check(one)
            try await check(three)
            // The moved rooms take new messages, and the socket on node 1 still gets them.
            for room in onTwo {
                try await three.send("after leave", to: room, as: "alice")
                expected[room]!.append("after leave")
            }
            var seen: TestSocket.Frame
            repeat { seen = try await watcher.next() } while seen.type != "message"
            #expect(seen.channelID == watched && seen.data["body"] as? String == "after leave")

            // Node 2 comes back: it takes over what the ring gives it.
            #expect(try await cluster.members[1].joinIfNeeded())
            for placement in cluster.placements {
                #expect(placement.epoch == 3 && placement.ring.nodes == ["chorus-1", "chorus-2", "chorus-3"])
            }
            let backOnTwo = expected.keys.filter { cluster.owner(ofChannel: $0) == "chorus-2" }
            #expect(Set(backOnTwo) == Set(onTwo))
            try await check(one)
            try await check(two)
            for room in backOnTwo {
                try await one.send("after join", to: room, as: "alice")
                expected[room]!.append("after join")
            }
            try await check(three)
        }
    }
}
