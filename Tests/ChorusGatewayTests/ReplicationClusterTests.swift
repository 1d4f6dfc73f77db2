@testable import ChorusChat
import ChorusCluster
import ChorusModel
import ChorusTestSupport
import Foundation
import Synchronization
import Testing

/// Channels replicated on three in-process nodes (`cluster.replication_factor: 3`).
@Suite("Replicated channels (3 nodes in one process)", .serialized)
struct ReplicationClusterTests {
    /// A user whose actor lives on none of `avoiding` (users are not replicated yet).
    func user(in cluster: TestCluster, avoiding: Set<String>) -> String {
        (1...).lazy.map { "user\($0)" }.first { !avoiding.contains(cluster.placements[0].owner(of: UserActor.identity(of: UserID($0)!))) }!
    }

    /// How far each node's copy of `channel` goes (its last seq), for the nodes that have one.
    func copies(of channel: ChannelID, in cluster: TestCluster) async throws -> [String: UInt64] {
        var seqs: [String: UInt64] = [:]
        for (api, placement) in zip(cluster.apis, cluster.placements) {
            guard let actor = try? api.node.channel(channel) else { continue }
            seqs[placement.nodeName] = try await actor.snapshot().state.lastSeq
        }
        return seqs
    }

    /// Cuts chorus-2 off (its transport shut down, as if killed) and has the survivors adopt the
    /// ring without it, as the metadata log's leader would; returns that ring.
    @discardableResult
    func killChorus2(in cluster: TestCluster) async -> RingDescription {
        await cluster.systems[1].shutdownTransport()
        let ring = RingDescription(cluster.placements[0].ring.removing("chorus-2"))
        cluster.placements[0].adopt(ring)
        cluster.placements[2].adopt(ring)
        return ring
    }

    @Test("every acknowledged message is on a majority of the replicas; the owner killed and taken off the ring, the next replica recovers and serves them all")
    func failover() async throws {
        try await TestCluster.run(replicationFactor: 3) { cluster in
            let one = cluster.apis[0]
            let alice = user(in: cluster, avoiding: ["chorus-2"])
            let channel = try await cluster.createChannel(on: "chorus-2", through: one, owner: alice)
            let id = ChannelID(channel)!
            for index in 1...20 { try await one.send("m\(index)", to: channel, as: alice) }
            // created (seq 1) and 20 messages, acknowledged: at least two of the three copies have all of them.
            let before = try await copies(of: id, in: cluster)
            #expect(before.values.filter { $0 >= 21 }.count >= 2, "\(before)")

            await killChorus2(in: cluster)
            let newOwner = cluster.owner(ofChannel: channel)
            #expect(newOwner != "chorus-2")

            let page = try await one.call(.get, "/v1/channels/\(channel)/messages?limit=100", as: alice)
            #expect(page.status == .ok, "\(page.rawBody)")
            let bodies = (page["messages"] as? [[String: Any]])?.compactMap { $0["body"] as? String }
            #expect(bodies == (1...20).map { "m\($0)" })
            let after = try await one.call(.post, "/v1/channels/\(channel)/messages", as: alice, json: ["body": "after"])
            #expect(after.status == .created, "\(after.rawBody)")
            let survivors = try await copies(of: id, in: cluster).filter { $0.key != "chorus-2" }
            #expect(survivors.count == 2 && survivors.values.allSatisfy { $0 >= 22 }, "\(survivors)")
        }
    }

    @Test("each node reports its primaries, backups, newest term and lag; after a failover the new primary serves in the new ring's term")
    func replicationSummaries() async throws {
        try await TestCluster.run(replicationFactor: 3) { cluster in
            let one = cluster.apis[0]
            let alice = user(in: cluster, avoiding: ["chorus-2"])
            let channel = try await cluster.createChannel(on: "chorus-2", through: one, owner: alice)
            for index in 1...5 { try await one.send("m\(index)", to: channel, as: alice) }
            func summaries() -> [String: ReplicationSummary] {
                Dictionary(uniqueKeysWithValues: zip(cluster.placements, cluster.apis).compactMap { placement, api in
                    api.node.report().replication.map { (placement.nodeName, $0) }
                })
            }
            // Each channel (the helper may have made more than one to land on chorus-2) has one
            // primary, its owner, and two backups; every backup catches up.
            func settled() -> Bool {
                let now = summaries()
                let primaries = now.values.map { $0.primaries[ChannelActor.kind] ?? 0 }.reduce(0, +)
                let backups = now.values.map { $0.backups[ChannelActor.kind] ?? 0 }.reduce(0, +)
                return now.count == 3 && (now["chorus-2"]?.primaries[ChannelActor.kind] ?? 0) >= 1 && backups == 2 * primaries
                    && now.values.allSatisfy { $0.lagRecords == 0 && $0.lagging == 0 && $0.recovering == 0 }
            }
            try? await eventually("every node reports the channels with no lag", timeout: .seconds(10)) { settled() }
            #expect(settled(), "\(summaries())")
            #expect(summaries()["chorus-2"].map { $0.newestTerm >> 32 } == 1)

            let ring = await killChorus2(in: cluster)
            let newOwner = cluster.owner(ofChannel: channel)
            let after = try await one.call(.post, "/v1/channels/\(channel)/messages", as: alice, json: ["body": "after"])
            #expect(after.status == .created, "\(after.rawBody)")
            let survivor = try #require(summaries()[newOwner])
            #expect((survivor.primaries[ChannelActor.kind] ?? 0) >= 1 && survivor.newestTerm >> 32 == ring.epoch, "\(survivor)")

            // The admin view shows the same, node by node; the killed node cannot be asked.
            let view = try await one.call(.get, "/v1/admin/cluster", token: one.serverToken)
            let nodes = view["nodes"] as? [[String: Any]] ?? []
            let byName = Dictionary(uniqueKeysWithValues: nodes.compactMap { node in (node["name"] as? String).map { ($0, node) } })
            let shown = try #require(byName[newOwner]?["replication"] as? [String: Any], "\(view.rawBody)")
            #expect((shown["primaries"] as? [String: Any])?["channels"] as? Int == survivor.primaries[ChannelActor.kind], "\(view.rawBody)")
            #expect(shown["newest_term_epoch"] as? Int == Int(ring.epoch), "\(view.rawBody)")
            #expect(shown["lag_records"] is Int && shown["lagging"] is Int, "\(view.rawBody)")
            #expect(byName["chorus-2"]?["replication"] == nil || byName["chorus-2"]?["replication"] is NSNull, "\(view.rawBody)")
        }
    }

    @Test("a user whose node is killed and taken off the ring keeps their profile, blocks and channel list on the next replica")
    func userFailover() async throws {
        try await TestCluster.run(replicationFactor: 3) { cluster in
            let one = cluster.apis[0]
            let dave = user(in: cluster, avoiding: ["chorus-1", "chorus-3"])  // owned by chorus-2
            let erin = user(in: cluster, avoiding: ["chorus-2"])
            try await one.createUsers(erin)
            let renamed = try await one.call(.put, "/v1/users/\(dave)", token: one.serverToken, json: ["display_name": "Dave"])
            #expect(renamed.status == .ok || renamed.status == .created, "\(renamed.rawBody)")
            let blocked = try await one.call(.post, "/v1/blocks", as: dave, json: ["user_id": erin])
            #expect(blocked.status == .created || blocked.status == .noContent || blocked.status == .ok, "\(blocked.rawBody)")
            let channel = try await cluster.createChannel(on: "chorus-3", through: one, owner: dave)

            await killChorus2(in: cluster)

            let profile = try await one.call(.get, "/v1/users/\(dave)", as: erin)
            #expect(profile.status == .ok && profile.string("display_name") == "Dave", "\(profile.rawBody)")
            let blocks = try await one.call(.get, "/v1/blocks", as: dave)
            #expect(blocks.rawBody.contains(erin), "\(blocks.rawBody)")
            let list = try await one.call(.get, "/v1/channels", as: dave)
            #expect(list.status == .ok && list.rawBody.contains(channel), "\(list.rawBody)")
        }
    }

    /// What an edge subscribed at a channel's backup got once that backup served.
    struct BackupSubscription {
        /// The seq the subscription returned, and the last message the backup learned committed.
        var subscribedAt: UInt64, learnedCommitted: UInt64
        /// What the edge was handed, and what the new primary's event log holds after `subscribedAt`.
        var handed: [UInt64], resyncs: Int, logged: [UInt64]?
    }

    /// An edge subscribes at the replica that owns the channel once chorus-2 is gone, while it is
    /// still a backup (as edges do when they see the ring change first); `messages` are sent and
    /// the backup learns them committed; chorus-2 is killed and a message sent through the new
    /// primary. With `replayEvents`, each channel keeps that many events for replays.
    func subscribeAtBackup(messages: Int, replayEvents: Int = 1_000) async throws -> BackupSubscription {
        let result = Mutex<BackupSubscription?>(nil)
        try await TestCluster.run(replicationFactor: 3, configure: { $0.realtime.replayEvents = replayEvents }) { cluster in
            let one = cluster.apis[0]
            let alice = user(in: cluster, avoiding: ["chorus-2"])
            let channel = try await cluster.createChannel(on: "chorus-2", through: one, owner: alice)
            let id = ChannelID(channel)!
            try await one.send("m0", to: channel, as: alice)
            let next = cluster.placements[0].ring.removing("chorus-2").owner(of: ChannelActor.identity(of: id).description)!
            let node = cluster.apis[cluster.placements.firstIndex { $0.nodeName == next }!].node
            let edge = ProbeEdge(name: "probe")
            node.registerEdge(edge)
            let backup = try node.channel(id)
            let subscribedAt = await backup.whenLocal { $0.subscribe(edge: "probe", generation: 1) }!

            for index in 1...messages { try await one.send("m\(index)", to: channel, as: alice) }
            // The backup learns the last one committed from the primary's next message (on its tick).
            let last = try #require(try await copies(of: id, in: cluster)["chorus-2"])
            var learned = false
            for _ in 0..<200 where !learned {
                one.clock.advance(by: .milliseconds(100))
                try await Task.sleep(for: .milliseconds(5))
                learned = await backup.whenLocal { $0.replica?.commitSeq ?? 0 }! >= last
            }
            #expect(learned)
            #expect(edge.seqs.isEmpty && edge.resyncs == 0, "a backup hands nothing on")

            await killChorus2(in: cluster)
            let after = try await one.call(.post, "/v1/channels/\(channel)/messages", as: alice, json: ["body": "after"])
            #expect(after.status == .created, "\(after.rawBody)")
            try? await eventually("the edge gets the message sent after the failover") { edge.seqs.last ?? 0 > last }
            let logged = try await node.channel(id).whenLocal { actor -> [UInt64]? in
                guard case .events(let events) = actor.eventLog.events(after: subscribedAt, channelSeq: actor.state.lastSeq) else { return nil }
                return events.compactMap(\.seq)
            }
            result.withLock {
                $0 = BackupSubscription(subscribedAt: subscribedAt, learnedCommitted: last, handed: edge.seqs, resyncs: edge.resyncs, logged: logged ?? nil)
            }
        }
        return try #require(result.withLock { $0 })
    }

    @Test("an edge that subscribed at a backup gets what that backup learned committed, once it serves: no gap when the channel's next owner is subscribed before it serves")
    func backupPublishesWhenItServes() async throws {
        let outcome = try await subscribeAtBackup(messages: 2)
        // Every event after the seq the subscription returned, in order, none missing: m1 and m2
        // (committed while it was a backup), then what it committed as primary.
        #expect(outcome.handed.contains(outcome.learnedCommitted) && outcome.handed.last ?? 0 > outcome.learnedCommitted, "\(outcome)")
        #expect(outcome.handed == outcome.logged, "\(outcome)")
        #expect(outcome.resyncs == 0)
    }

    @Test("when the backup's event log no longer holds what it learned committed, the edges get a resync instead of the rest")
    func backupResyncsWhenItsLogMovedOn() async throws {
        let outcome = try await subscribeAtBackup(messages: 4, replayEvents: 2)
        #expect(outcome.logged == nil, "the log of 2 events no longer reaches back to the subscription: \(outcome)")
        #expect(outcome.resyncs == 1, "\(outcome)")
        // Nothing of what the log still held went out on its own (the edges replay all of it).
        #expect(outcome.handed.allSatisfy { $0 > outcome.learnedCommitted }, "\(outcome)")
    }

    @Test("a replica cut off while messages were sent catches up once the link heals")
    func lateReplica() async throws {
        try await TestCluster.run(replicationFactor: 3) { cluster in
            let one = cluster.apis[0]
            let alice = user(in: cluster, avoiding: ["chorus-3"])
            let channel = try await cluster.createChannel(on: "chorus-1", through: one, owner: alice)
            let id = ChannelID(channel)!
            cluster.network.cut("chorus-1", "chorus-3")
            for index in 1...5 { try await one.send("m\(index)", to: channel, as: alice) }
            cluster.network.heal("chorus-1", "chorus-3")
            try await one.send("m6", to: channel, as: alice)
            // The primary resends on its tick (the injected clock): chorus-3 catches up.
            var caughtUp = false
            for _ in 0..<200 where !caughtUp {
                one.clock.advance(by: .milliseconds(100))
                try await Task.sleep(for: .milliseconds(5))
                caughtUp = try await copies(of: id, in: cluster)["chorus-3"] == 7
            }
            let copies = try await copies(of: id, in: cluster)
            #expect(caughtUp, "\(copies)")
        }
    }

    @Test("after a failover, the background pass makes the new owner serve and copies the key to the node that became its third replica, with no client call")
    func restoresCopies() async throws {
        try await TestCluster.run(nodes: 4, replicationFactor: 3) { cluster in
            let one = cluster.apis[0]
            let alice = user(in: cluster, avoiding: ["chorus-2"])
            let channel = try await cluster.createChannel(on: "chorus-2", through: one, owner: alice)
            let id = ChannelID(channel)!
            for index in 1...10 { try await one.send("m\(index)", to: channel, as: alice) }
            let identity = ChannelActor.identity(of: id)
            let replicas = cluster.placements[0].replicas(of: identity, count: 3)
            let outsider = try #require(cluster.placements.map(\.nodeName).first { !replicas.contains($0) })
            #expect(try await copies(of: id, in: cluster)[outsider] == nil, "the fourth node holds nothing of the channel")

            // chorus-2 dies and leaves the ring: the outsider is now one of the key's three replicas.
            await cluster.systems[1].shutdownTransport()
            let ring = RingDescription(cluster.placements[0].ring.removing("chorus-2"))
            for index in [0, 2, 3] { cluster.placements[index].adopt(ring) }
            #expect(cluster.placements[0].replicas(of: identity, count: 3).contains(outsider))
            let survivors = cluster.apis.enumerated().filter { $0.offset != 1 }.map(\.element)

            // Nothing happens by itself: no call, no copy.
            for _ in 0..<5 {
                one.clock.advance(by: .milliseconds(100))
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(try await copies(of: id, in: cluster)[outsider] == nil)

            var reports: [ReplicaRestoreReport] = []
            for api in survivors { reports.append(await api.node.restoreReplicas(keysPerSecond: 100_000)) }
            #expect(reports.allSatisfy { $0.failed == 0 && !$0.interrupted }, "\(reports)")
            #expect(reports.map(\.serving).reduce(0, +) >= 1, "\(reports)")
            // The new primary serves; its ticks (the injected clock) bring the new replica in line.
            var restored = false
            for _ in 0..<200 where !restored {
                one.clock.advance(by: .milliseconds(100))
                try await Task.sleep(for: .milliseconds(5))
                restored = try await copies(of: id, in: cluster)[outsider] == 11
            }
            let after = try await copies(of: id, in: cluster)
            #expect(restored, "\(after)")
            let page = try await cluster.apis[cluster.placements.firstIndex { $0.nodeName == outsider }!]
                .call(.get, "/v1/channels/\(channel)/messages?limit=100", as: alice)
            let bodies = (page["messages"] as? [[String: Any]])?.compactMap { $0["body"] as? String }
            #expect(bodies == (1...10).map { "m\($0)" }, "\(page.rawBody)")
        }
    }
}

/// An edge that records the seqs of the logged events it is handed, and how many resyncs.
private final class ProbeEdge: EdgeEventSink {
    let edgeName: String
    private let recorded = Mutex<(seqs: [UInt64], resyncs: Int)>(([], 0))

    init(name: String) { self.edgeName = name }

    func deliver(_ event: ChannelEvent) {
        recorded.withLock { recorded in
            if let seq = event.seq { recorded.seqs.append(seq) }
            if case .resync = event.payload { recorded.resyncs += 1 }
        }
    }

    func membershipChanged(of user: UserID, in channel: ChannelID, isMember: Bool, seq: UInt64) {}

    var seqs: [UInt64] { recorded.withLock { $0.seqs } }
    var resyncs: Int { recorded.withLock { $0.resyncs } }
}
