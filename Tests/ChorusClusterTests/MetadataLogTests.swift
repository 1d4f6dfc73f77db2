import ChorusActorSystem
import ChorusCluster
import ChorusModel
import ChorusTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// The metadata log's shell over real actor systems on an in-process network: elections, a
/// proposed ring applied on every node in order, a cut-off minority that cannot decide, and a
/// restart from `raft.json`. Time is a manual clock the test moves; messages flow as real calls.
@Suite("Metadata log")
struct MetadataLogTests {
    final class Cluster: Sendable {
        let clock = ManualTimeSource()
        let network = InProcessNetwork()
        let names = ["a", "b", "c"]
        let directory = NSTemporaryDirectory() + "chorus-metadata-\(UUID().uuidString)"
        let systems: [String: ClusterActorSystem]
        let members: [String: ClusterMember]
        let logs: Mutex<[String: MetadataLog]>
        /// Every ring each node's log decided, in order.
        let decided = Mutex<[String: [UInt64]]>([:])
        /// Above 1, the leader takes down nodes off the ring.
        let replicationFactor: Int

        init(replicationFactor: Int = 1) async throws {
            self.replicationFactor = replicationFactor
            var systems: [String: ClusterActorSystem] = [:]
            var members: [String: ClusterMember] = [:]
            for name in names {
                let system = ClusterActorSystem(nodeName: name)
                let placement = ClusterPlacement(nodeName: name, ring: HashRing(nodes: names, virtualNodes: 8), clock: clock)
                let member = ClusterMember(placement: placement, actorSystem: system)
                member.start()
                try await system.startTransport(network.transport(for: name, callTimeout: .seconds(5)), placement: placement)
                systems[name] = system
                members[name] = member
            }
            self.systems = systems
            self.members = members
            self.logs = Mutex([:])
            for name in names { try startLog(name) }
        }

        /// (Re)starts node `name`'s log from its directory.
        func startLog(_ name: String) throws {
            let path = directory + "/" + name
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let log = try MetadataLog(
                member: members[name]!, members: names, virtualNodes: 8, directory: path, clock: clock, electionTimeout: .milliseconds(300),
                heartbeatInterval: .milliseconds(100), seed: UInt64(name.unicodeScalars.first!.value), replicationFactor: replicationFactor
            ) { [weak self] metadata in self?.decided.withLock { $0[name, default: []].append(metadata.epoch) } }
            logs.withLock { $0[name] = log }
        }

        func log(_ name: String) -> MetadataLog { logs.withLock { $0[name]! } }

        /// Moves the clock in 20 ms steps, ticking every log and letting messages flow, until `condition`.
        func drive(_ what: String, ticking: [String]? = nil, until condition: () -> Bool) async throws {
            for _ in 0..<2_000 {
                if condition() { return }
                clock.advance(by: .milliseconds(20))
                for name in ticking ?? names { log(name).tick() }
                try await Task.sleep(for: .milliseconds(1))
            }
            throw EventuallyTimeout(description: "timed out driving the logs until \(what)")
        }

        /// The leader that `among` agree on, if any.
        func leader(among: [String]? = nil) -> String? {
            let nodes = among ?? names
            let leaders = nodes.filter { log($0).status.role == .leader }
            guard leaders.count == 1, let leader = leaders.first else { return nil }
            return nodes.allSatisfy { log($0).status.leader == leader } ? leader : nil
        }

        func ring(_ epoch: UInt64, _ nodes: [String]) -> ClusterCommand {
            .ring(RingDescription(HashRing(nodes: nodes, virtualNodes: 8, epoch: epoch)), reason: "test")
        }

        func stop() async {
            for system in systems.values { await system.shutdownTransport() }
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    @Test("a leader is elected; a proposed ring is applied on every node, and a stale one changes nothing")
    func electAndDecide() async throws {
        let cluster = try await Cluster()
        try await cluster.drive("a leader is elected") { cluster.leader() != nil }
        let leader = try #require(cluster.leader())
        let follower = try #require(cluster.names.first { $0 != leader })
        #expect(!cluster.log(follower).propose(cluster.ring(9, ["a", "b"])), "only the leader proposes")
        #expect(cluster.log(leader).propose(cluster.ring(5, ["a", "b"])))
        #expect(cluster.log(leader).propose(cluster.ring(4, ["a"])))  // older than 5: ignored when applied
        #expect(cluster.log(leader).propose(cluster.ring(6, ["a", "b", "c"])))
        try await cluster.drive("every node applied ring 6") { cluster.names.allSatisfy { cluster.decided.withLock { $0 }[$0]?.last == 6 } }
        for name in cluster.names {
            // Entries committed together are reported once, with the newest ring; never the stale one.
            let decided = cluster.decided.withLock { $0[name] ?? [] }
            #expect(decided == [5, 6] || decided == [6], "\(name): \(decided)")
            #expect(cluster.log(name).metadata.ring.nodes == ["a", "b", "c"])
        }
        await cluster.stop()
    }

    @Test("a join is proposed by the leader only (asked through any node's actor), once per epoch in a term, and applied by every node")
    func joinThroughTheLog() async throws {
        let cluster = try await Cluster()
        try await cluster.drive("a leader is elected") { cluster.leader() != nil }
        let leader = try #require(cluster.leader())
        let joiner = try #require(cluster.names.first { $0 != leader })
        let other = try #require(cluster.names.first { $0 != leader && $0 != joiner })
        // The joiner was taken off the ring (as the leader would after it was declared down).
        let without = RingDescription(HashRing(nodes: cluster.names, virtualNodes: 8).removing(joiner))
        for member in cluster.members.values { member.placement.adopt(without) }

        let asFollower = try await ClusterNodeActor.on(other, using: cluster.systems[joiner]!).requestJoin(joiner)
        #expect(!asFollower.proposed && asFollower.leader == leader, "a follower names the leader")
        #expect(!cluster.log(leader).proposeJoin("stranger"), "only configured nodes join")
        #expect(cluster.log(leader).proposeJoin(other), "a node on the ring has nothing to join")
        let asked = try await ClusterNodeActor.on(leader, using: cluster.systems[joiner]!).requestJoin(joiner)
        #expect(asked.proposed)
        #expect(!cluster.log(leader).proposeJoin(joiner), "the same epoch is proposed once in a term")
        try await cluster.drive("every node applied the ring with the joiner") {
            cluster.names.allSatisfy { cluster.log($0).metadata.ring.nodes.contains(joiner) && cluster.log($0).metadata.epoch == without.epoch + 1 }
        }
        await cluster.stop()
    }

    @Test("a graceful leave is proposed by the leader only (asked through any node's actor), once per epoch in a term, and applied by every node")
    func leaveThroughTheLog() async throws {
        let cluster = try await Cluster()
        try await cluster.drive("a leader is elected") { cluster.leader() != nil }
        let leader = try #require(cluster.leader())
        let leaver = try #require(cluster.names.first { $0 != leader })
        let other = try #require(cluster.names.first { $0 != leader && $0 != leaver })
        let epoch = cluster.members[leader]!.placement.epoch

        let asFollower = try await ClusterNodeActor.on(other, using: cluster.systems[leaver]!).requestLeave(leaver)
        #expect(!asFollower.proposed && asFollower.leader == leader, "a follower names the leader")
        #expect(!cluster.log(leader).proposeLeave("stranger"), "only configured nodes leave")
        let asked = try await ClusterNodeActor.on(leader, using: cluster.systems[leaver]!).requestLeave(leaver)
        #expect(asked.proposed)
        #expect(!cluster.log(leader).proposeLeave(other), "the same epoch is proposed once in a term")
        try await cluster.drive("every node applied the ring without the leaver") {
            cluster.names.allSatisfy { !cluster.log($0).metadata.ring.nodes.contains(leaver) && cluster.log($0).metadata.epoch == epoch + 1 }
        }
        // Once the ring without it is this node's, there is nothing left to leave; the last node stays.
        for member in cluster.members.values { member.placement.adopt(cluster.log(leader).metadata.ring) }
        #expect(cluster.log(leader).proposeLeave(leaver), "a node off the ring has nothing to leave")
        let alone = RingDescription(HashRing(nodes: [leader], virtualNodes: 8, epoch: epoch + 9))
        for member in cluster.members.values { member.placement.adopt(alone) }
        #expect(!cluster.log(leader).proposeLeave(leader), "the last node on a ring cannot leave it")
        await cluster.stop()
    }

    @Test("a setting asked through a follower is committed by the leader and applied on every node; removing it too")
    func settingThroughTheLog() async throws {
        let cluster = try await Cluster()
        try await cluster.drive("a leader is elected") { cluster.leader() != nil }
        let leader = try #require(cluster.leader())
        let asker = try #require(cluster.names.first { $0 != leader })
        #expect(!cluster.log(asker).proposeSetting(key: "k", value: "1"), "only the leader proposes")
        let setting = Task { try await cluster.members[asker]!.setThroughLog(key: "k", value: "1") }
        try await cluster.drive("every node applied k = 1") { cluster.names.allSatisfy { cluster.log($0).metadata.settings["k"] == "1" } }
        try await setting.value
        #expect(cluster.log(leader).proposeSetting(key: "k", value: "1"), "the applied value needs no proposal")
        let removing = Task { try await cluster.members[leader]!.setThroughLog(key: "k", value: nil) }
        try await cluster.drive("every node removed k") { cluster.names.allSatisfy { cluster.log($0).metadata.settings["k"] == nil } }
        try await removing.value
        #expect(cluster.log(asker).metadata.epoch == 0, "settings leave the ring alone")
        await cluster.stop()
    }

    @Test("a node cut off from both others decides nothing; the majority does; healed, it catches up")
    func minorityCannotDecide() async throws {
        let cluster = try await Cluster()
        try await cluster.drive("a leader is elected") { cluster.leader() != nil }
        let isolated = try #require(cluster.leader())
        let majority = cluster.names.filter { $0 != isolated }
        for peer in majority { cluster.network.cut(isolated, peer) }
        // The old leader still believes it leads for a while and may propose; nothing commits.
        cluster.log(isolated).propose(cluster.ring(7, [isolated]))
        try await cluster.drive("the majority elects a new leader") { cluster.leader(among: majority) != nil }
        let leader = try #require(cluster.leader(among: majority))
        #expect(cluster.log(leader).propose(cluster.ring(3, majority)))
        try await cluster.drive("the majority applied ring 3") { majority.allSatisfy { cluster.decided.withLock { $0 }[$0] == [3] } }
        #expect(cluster.log(isolated).metadata.epoch == 0, "the minority decided nothing")
        for peer in majority { cluster.network.heal(isolated, peer) }
        // (The ring is reported just after the metadata changes: wait for the report.)
        try await cluster.drive("the healed node caught up") { cluster.decided.withLock { $0[isolated] } != nil }
        // Its own uncommitted proposal was replaced, never applied anywhere.
        for name in cluster.names { #expect(cluster.decided.withLock { $0[name] } == [3]) }
        await cluster.stop()
    }

    @Test("followers hear their leader through the claim in its membership heartbeats while its own heartbeats are rarer than their election timeout; without the claims they hold an election")
    func leaderClaimsInHeartbeats() async throws {
        let cluster = try await Cluster()
        try await cluster.drive("a leader is elected") { cluster.leader() != nil }
        let leader = try #require(cluster.leader())
        let term = cluster.log(leader).status.term
        let followers = cluster.names.filter { $0 != leader }
        let memberships = followers.map { name in
            Membership(
                member: cluster.members[name]!, clock: cluster.clock, interval: .milliseconds(50), suspectAfter: .seconds(60),
                downAfter: .seconds(120), logger: Logger(label: "test"))
        }
        // A leader claims once its followers answered its appends.
        try await cluster.drive("the leader may claim") { cluster.members[leader]!.heartbeatReport().leading == term }
        #expect(cluster.members[followers[0]]!.heartbeatReport().leading == nil)
        // 20 ms steps; the leader ticks (and so sends its own heartbeat) every 440 ms, past the
        // followers' shortest election timeout (300 ms); with `claims`, it also sends each
        // follower a membership heartbeat every step, as a real call.
        func run(steps: Int, claims: Bool, until done: () -> Bool = { false }) async throws {
            for step in 1...steps {
                if done() { return }
                cluster.clock.advance(by: .milliseconds(20))
                if step % 22 == 0 { cluster.log(leader).tick() }
                if claims {
                    for name in followers {
                        _ = try await ClusterNodeActor.on(name, using: cluster.systems[leader]!).heartbeat(cluster.members[leader]!.heartbeatReport())
                    }
                }
                for name in followers { cluster.log(name).tick() }
                try await Task.sleep(for: .milliseconds(1))
            }
        }
        try await run(steps: 150, claims: true)  // 3 s, ten shortest election timeouts
        for name in cluster.names {
            #expect(cluster.log(name).status.term == term, "\(name)")
            #expect(cluster.log(name).status.leader == leader, "\(name)")
        }
        // The same without the claims: the followers time out between the leader's heartbeats.
        try await run(steps: 2_000, claims: false) { followers.allSatisfy { cluster.log($0).status.term > term } }
        #expect(followers.allSatisfy { cluster.log($0).status.term > term })
        withExtendedLifetime(memberships) {}
        await cluster.stop()
    }

    @Test("with replication, the leader proposes taking a peer off the ring as soon as its membership declares it down, without a tick")
    func downPeerProposedAtOnce() async throws {
        let cluster = try await Cluster(replicationFactor: 3)
        try await cluster.drive("a leader is elected") { cluster.leader() != nil }
        let leader = try #require(cluster.leader())
        let lost = try #require(cluster.names.first { $0 != leader })
        let membership = Membership(
            member: cluster.members[leader]!, clock: cluster.clock, interval: .milliseconds(50), suspectAfter: .milliseconds(250),
            downAfter: .milliseconds(500), logger: Logger(label: "test"))
        await membership.beat()
        #expect(membership.view.allSatisfy { $0.status == .up }, "\(membership.view)")
        cluster.network.cut(leader, lost)
        let epoch = cluster.members[leader]!.placement.epoch
        // Heartbeat rounds every 50 ms until `lost` is down; the leader's log is not ticked from here on.
        for _ in 0..<12 {
            cluster.clock.advance(by: .milliseconds(50))
            await membership.beat()
        }
        #expect(membership.view.map(\.status) == cluster.names.filter { $0 != leader }.map { $0 == lost ? .down : .up })
        let others = cluster.names.filter { $0 != leader && $0 != lost }
        try await cluster.drive("the ring without the lost node is decided", ticking: others) {
            cluster.log(leader).metadata.ring.nodes.count == 2 && cluster.log(leader).metadata.epoch > epoch
        }
        #expect(!cluster.log(leader).metadata.ring.nodes.contains(lost))
        await cluster.stop()
    }

    @Test("a restarted node keeps its term, vote and log from raft.json, and applies the log again once it learns the commit index")
    func restart() async throws {
        let cluster = try await Cluster()
        try await cluster.drive("a leader is elected") { cluster.leader() != nil }
        let leader = try #require(cluster.leader())
        #expect(cluster.log(leader).propose(cluster.ring(2, ["a", "b"])))
        try await cluster.drive("every node applied ring 2") { cluster.names.allSatisfy { cluster.decided.withLock { $0 }[$0] == [2] } }
        let restarted = try #require(cluster.names.first { $0 != leader })
        let term = cluster.log(restarted).status.term
        try cluster.startLog(restarted)
        #expect(cluster.log(restarted).status.term == term)
        #expect(cluster.log(restarted).metadata.epoch == 0, "applied state is rebuilt from the log, not stored")
        try await cluster.drive("the restarted node applied ring 2 again") { cluster.decided.withLock { $0[restarted]?.count } == 2 }
        #expect(cluster.decided.withLock { $0[restarted] } == [2, 2])
        await cluster.stop()
    }
}
