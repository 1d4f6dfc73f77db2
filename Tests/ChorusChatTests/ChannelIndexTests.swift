import ChorusActorSystem
import ChorusModel
import ChorusStorage
import ChorusTestSupport
import Foundation
import GRDB
import Testing

@testable import ChorusChat

/// The channel index behind server-side query channels (docs/stream-api.md, "Query cost"):
/// stored channels are read from the store's index, channels changed since the last checkpoint
/// from their actors, and the answer is the same as evaluating the filter on every channel.
@Suite("Channel index", .serialized)
struct ChannelIndexTests {
    let alice = UserID("alice")!
    let bob = UserID("bob")!

    /// Creates `messaging:c<i>` for i in 0..<count, a minute apart, alternating colors and the
    /// types `messaging` and `team` (every third), each with alice and bob.
    func populate(_ node: ChatNode, clock: ManualTimeSource, count: Int) async throws {
        for user in [alice, bob] { _ = try await node.ensureUser(user, displayName: user.rawValue) }
        for i in 0..<count {
            let address = ChannelAddress(type: i % 3 == 0 ? "team" : "messaging", id: "c\(i)")!
            let custom: [String: JSONValue] = ["color": .string(i % 2 == 0 ? "red" : "blue"), "rank": .number(Double(i))]
            _ = try await node.openChannel(address, creating: ChannelCreation(createdBy: alice, name: "C\(i)", custom: custom, members: [bob]))
            clock.advance(by: .seconds(60))
        }
    }

    func cids(_ found: [IndexedChannel]) -> [String] { found.compactMap { $0.document["cid"]?.stringValue } }

    func sort(_ field: String, ascending: Bool) -> QuerySort { QuerySort(fields: [.init(name: field, ascending: ascending)]) }

    /// Every query answered the slow way: every channel's view, the filter, the sort.
    func expected(_ node: ChatNode, _ filter: QueryFilter, _ sort: QuerySort, limit: Int) async throws -> [String] {
        var all: [IndexedChannel] = []
        for id in try node.localChannelIDs() {
            guard let view = try? await node.withChannel(id, { try await $0.view(for: nil, messages: .latest(limit: 0)) }) else { continue }
            let document = view.queryDocument(viewer: nil)
            if filter.matches({ document[$0] }) { all.append(IndexedChannel(id: id, document: document)) }
        }
        return cids(ChatNode.first(limit, of: all, sort: sort))
    }

    @Test("stored, passivated, changed and deleted channels: the index answers as a scan of every channel would")
    func sameAsScan() async throws {
        let directory = NSTemporaryDirectory() + "chorus-index-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (storage, node) = try openNode(in: directory)
        let clock = node.clock as! ManualTimeSource
        try await populate(node, clock: clock, count: 12)
        // Five channels made at one instant: v1 groups (small ids) and Stream ones (hashed ids, the
        // top bit set), so sorts by time tie and the index must break ties as the query API does.
        for i in 0..<3 {
            _ = try await node.openChannel(
                ChannelAddress(type: "messaging", id: "tie\(i)")!, creating: ChannelCreation(createdBy: alice, name: "T", custom: [:], members: []))
        }
        for _ in 0..<2 { _ = try await node.createChannel(kind: .group, name: "G", owner: alice) }
        try await storage.checkpoint(node)
        clock.advance(by: .seconds(3600))
        #expect(node.passivateIdleChannels(idleFor: .seconds(60)) == 17)
        #expect(node.activeActorIDs.channels.isEmpty)

        // After the checkpoint: c4 gets a message (dirty: read from its actor), c7 is deleted,
        // c10 changes color, and c12 is new (never stored).
        let c4 = try #require(ChannelAddress(type: "messaging", id: "c4")?.channelID)
        _ = try await node.withChannel(c4) { try await $0.send(MessageDraft(body: "news"), from: bob, senderName: "bob") }
        let c7 = try #require(ChannelAddress(type: "messaging", id: "c7")?.channelID)
        _ = try await node.withChannel(c7) { [alice] in try await $0.deleteChannel(hard: false, by: alice, asServer: true) }
        let c10 = try #require(ChannelAddress(type: "messaging", id: "c10")?.channelID)
        _ = try await node.withChannel(c10) { [alice] in try await $0.changeProfile(name: nil, ProfileChange(set: ["color": "red"]), by: alice, asServer: true) }
        _ = try await node.openChannel(
            ChannelAddress(type: "messaging", id: "c12")!, creating: ChannelCreation(createdBy: alice, name: "C12", custom: ["color": "red"], members: []))

        let red: QueryFilter = .condition(field: "color", .eq("red"))
        let cases: [(QueryFilter, QuerySort, Int)] = [
            (.all, sort("updated_at", ascending: false), 5),
            (.all, sort("updated_at", ascending: false), 100),
            (.all, sort("created_at", ascending: true), 4),
            (red, sort("created_at", ascending: false), 3),
            (.condition(field: "type", .eq("team")), sort("updated_at", ascending: false), 10),
            (.and([.condition(field: "type", .in(["messaging"])), red]), sort("rank", ascending: false), 10),
            (.condition(field: "last_message_at", .exists(true)), sort("updated_at", ascending: true), 10),
            (.all, sort("created_at", ascending: false), 3),  // the ties first, cut inside them
            (.all, sort("created_at", ascending: false), 6),
            (.condition(field: "created_at", .gt(.string(clock.now().rfc3339))), sort("updated_at", ascending: true), 2),
        ]
        for (filter, sort, limit) in cases {
            let found = try await node.queryChannels(filter, sort: sort, limit: limit)
            #expect(cids(found) == (try await expected(node, filter, sort, limit: limit)), "\(filter) \(sort) \(limit)")
        }
        // Spot checks of what the cases cover.
        let newest = cids(try await node.queryChannels(.all, sort: sort("updated_at", ascending: false), limit: 2))
        #expect(newest == ["messaging:c4", "messaging:c12"])  // c4's message is newer than c12's creation
        let all = cids(try await node.queryChannels(.all, sort: sort("created_at", ascending: true), limit: 100))
        #expect(all.count == 17 && !all.contains("messaging:c7"))
        let reds = cids(try await node.queryChannels(red, sort: sort("created_at", ascending: true), limit: 100))
        #expect(reds.contains("messaging:c10") && reds.contains("messaging:c12"))
        storage.close()
    }

    @Test("a store written before the index existed is indexed when the node opens it")
    func indexesOldStores() async throws {
        let directory = NSTemporaryDirectory() + "chorus-index-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let (storage, node) = try openNode(in: directory)
            try await populate(node, clock: node.clock as! ManualTimeSource, count: 5)
            try await storage.checkpoint(node)
            storage.close()
        }
        // Drop the index rows, as a store from before the index has none.
        let path = NodeStorage.Configuration(dataDirectory: directory).storePath
        try await DatabaseQueue(path: path).write { try $0.execute(sql: "DELETE FROM channel_index") }
        #expect(try HistoryStore(path: path).unindexedChannels().count == 5)

        let (storage, node) = try openNode(in: directory)
        #expect(try storage.store.unindexedChannels().isEmpty)
        let found = try await node.queryChannels(.condition(field: "color", .eq("red")), sort: sort("created_at", ascending: true), limit: 10)
        #expect(cids(found) == ["team:c0", "messaging:c2", "messaging:c4"])
        storage.close()
    }
}
