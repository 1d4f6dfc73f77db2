import ChorusActorSystem
@testable import ChorusChat
import ChorusModel
@testable import ChorusStorage
import ChorusTestSupport
import Foundation
import GRDB
import Synchronization
import Testing

@Suite("Durability", .serialized)
struct DurabilityTests {
    let dave = UserID("dave")!

    func withDataDirectory(_ body: (String) async throws -> Void) async throws {
        let path = NSTemporaryDirectory() + "chorus-durability-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await body(path)
    }

    func open(_ directory: String, segmentBytes: Int = 64 << 20, window: Int = 200) throws -> (NodeStorage, ChatNode, NodeStorage.Recovery) {
        let (storage, recovery) = try NodeStorage.open(.init(dataDirectory: directory, segmentBytes: segmentBytes), messageWindow: window)
        let node = ChatNode(
            actorSystem: ClusterActorSystem(), configuration: .init(messageWindow: window), journal: storage.wal, store: storage.store,
            clock: ManualTimeSource())
        node.restore(recovery.state)
        return (storage, node, recovery)
    }

    /// Everything a node knows, read through its actors: channel metadata and full histories
    /// (paged through memory and store), and user states.
    struct Contents: Equatable {
        var channels: [ChannelID: ChannelState] = [:]
        var histories: [ChannelID: [Message]] = [:]
        var users: [UserID: UserState] = [:]
    }

    /// `channels` defaults to the active ones; after a restart pass the ids from before it
    /// (passivated channels are activated from the store).
    func contents(_ node: ChatNode, channels: [ChannelID]? = nil) async throws -> Contents {
        var contents = Contents()
        let (active, users) = node.activeActorIDs
        for id in channels ?? active {
            try await node.withChannel(id) { actor in
                let metadata = try await actor.snapshot().state.metadata
                contents.channels[id] = metadata
                guard let reader = metadata.memberOrder.first else { return }
                var history: [Message] = []
                var cursor = MessageID(rawValue: 0)
                while true {
                    let page = try await actor.messages(.after(cursor, limit: 7), for: reader)
                    history += page.messages
                    guard page.hasMore, let last = page.messages.last else { break }
                    cursor = last.id
                }
                contents.histories[id] = history
            }
        }
        for id in users { contents.users[id] = try await node.user(id).snapshot().state }
        return contents
    }

    /// A bit of everything: users, a group with members and roles, messages, edits, deletes,
    /// reactions, read cursors, hiding, blocks and a DM. Returns the group's id.
    @discardableResult
    func exercise(_ node: ChatNode, messages: Int = 20) async throws -> ChannelID {
        for user in [alice, bob, carol, dave] { _ = try await node.ensureUser(user, displayName: user.rawValue.capitalized) }
        _ = try await node.upsertUser(carol, displayName: "Caroline")
        let group = try await node.createChannel(kind: .group, name: "Team", owner: alice)
        let channel = try node.channel(group.id)
        _ = try await channel.addMember(bob, role: .admin, by: alice)
        _ = try await channel.addMember(carol, role: .member, by: bob)
        _ = try await channel.update(name: "Team 2", by: bob)
        var ids: [MessageID] = []
        for i in 0..<messages {
            ids.append(try await channel.send(MessageDraft(body: "message \(i)"), from: [alice, bob, carol][i % 3], senderName: "x").id)
        }
        _ = try await channel.edit(ids[0], body: "edited", inlineEmotes: [], by: alice)
        try await channel.delete(ids[1], by: alice)
        try await channel.addReaction(AssetID("42")!, to: ids[2], by: bob)
        try await channel.addReaction(AssetID("42")!, to: ids[2], by: carol)
        try await channel.removeReaction(AssetID("42")!, from: ids[2], by: bob)
        _ = try await channel.markRead(ids[3], by: carol)
        try await channel.setHidden(true, by: bob)
        try await channel.removeMember(carol, by: carol)
        try await node.block(dave, by: alice)
        _ = try await node.openDirectChannel(from: bob, to: dave)
        // A channel made through the Stream-compatible API: an address, a profile, custom data.
        let address = ChannelAddress(type: "messaging", id: "general")!
        let creation = ChannelCreation(createdBy: alice, name: "General", custom: ["color": "red", "n": 3], members: [bob])
        let typed = try await node.openChannel(address, creating: creation)
        #expect(typed.created)
        #expect(try await node.openChannel(address, creating: creation) == (typed.id, false))
        let view = try await node.withChannel(typed.id) {
            try await $0.changeProfile(name: "General 2", ProfileChange(set: ["topic": ["a", nil]], unset: ["n"]), by: alice, asServer: false)
        }
        #expect(view.profile?.custom == ["color": "red", "topic": ["a", nil]])
        #expect(view.info.name == "General 2")
        _ = try await node.withChannel(typed.id) { try await $0.send(MessageDraft(body: "hi"), from: bob, senderName: "Bob", clientMessageID: "m1") }
        return group.id
    }

    @Test("every change survives a restart: recovery rebuilds exactly the state before it")
    func restart() async throws {
        try await withDataDirectory { directory in
            let (storage, node, _) = try open(directory)
            try await exercise(node)
            let before = try await contents(node)
            storage.close()
            let (reopened, node2, recovery) = try open(directory)
            #expect(try await contents(node2, channels: Array(before.channels.keys)) == before)
            #expect(recovery.checkpointLSN == 0)
            #expect(recovery.replayedRecords > 30)
            // The hashed id of the Stream channel does not drag new snowflake ids along.
            let next = try await node2.createChannel(kind: .room, name: "After", owner: alice)
            #expect(!ChannelAddress.isHashed(next.id))
            reopened.close()
        }
    }

    @Test("a checkpoint covers old segments; recovery = checkpoint + the WAL after it")
    func checkpointThenMore() async throws {
        try await withDataDirectory { directory in
            let (storage, node, _) = try open(directory, segmentBytes: 4096)
            let group = try await exercise(node, messages: 150)
            let segmentsBefore = storage.wal.segmentFirstLSNs.count
            #expect(segmentsBefore > 2, "the records should fill several 4 KiB segments")
            try await storage.checkpoint(node)
            #expect(storage.wal.segmentFirstLSNs.count < segmentsBefore)
            for i in 0..<30 { _ = try await node.channel(group).send(MessageDraft(body: "after \(i)"), from: alice, senderName: "A") }
            let before = try await contents(node)
            storage.close()
            let (reopened, node2, recovery) = try open(directory, segmentBytes: 4096)
            #expect(recovery.checkpointLSN > 1)
            #expect(recovery.replayedRecords >= 30)
            #expect(try await contents(node2, channels: Array(before.channels.keys)) == before)
            // New messages continue the sequence after recovery.
            let last = try await node2.channel(group).messages(.latest(limit: 1), for: alice).messages[0]
            let next = try await node2.channel(group).send(MessageDraft(body: "next"), from: alice, senderName: "A")
            #expect(next.id > last.id)
            #expect(next.seq > last.seq)
            reopened.close()
        }
    }

    @Test("the store's commits are synced when the WAL's are, since a checkpoint deletes the segments it covers", arguments: [
        (FsyncPolicy.always, 2), (.interval(milliseconds: 50), 2), (.none, 1),
    ])
    func storeSyncsLikeTheWAL(_ fsync: FsyncPolicy, _ synchronous: Int) async throws {
        try await withDataDirectory { directory in
            let (storage, _) = try NodeStorage.open(.init(dataDirectory: directory, fsync: fsync))
            defer { storage.close() }
            // 2 is FULL (each commit synced), 1 NORMAL (GRDB's default in WAL mode: left to SQLite's own checkpoints).
            #expect(try storage.store.pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == synchronous)
        }
    }

    /// The node's WAL, with a hook that runs inside the next append (before it returns).
    final class HookedJournal: Journal {
        let wal: WriteAheadLog
        let hook = Mutex<(@Sendable () -> Void)?>(nil)

        init(_ wal: WriteAheadLog) { self.wal = wal }

        func append(_ entry: JournalEntry) throws -> UInt64 {
            let lsn = try wal.append(entry)
            if let hook = hook.withLock({ value in defer { value = nil }; return value }) { hook() }
            return lsn
        }

        func waitDurable(_ lsn: UInt64) async throws { try await wal.waitDurable(lsn) }
        var nextLSN: UInt64 { wal.nextLSN }
    }

    @Test("a checkpoint that starts while a send of a clean channel is being logged stores that send, or leaves it to the WAL it replays")
    func checkpointRacingASend() async throws {
        try await withDataDirectory { directory in
            let (storage, recovery) = try NodeStorage.open(.init(dataDirectory: directory), messageWindow: 200)
            let journal = HookedJournal(storage.wal)
            let node = ChatNode(
                actorSystem: ClusterActorSystem(), configuration: .init(), journal: journal, store: storage.store, clock: ManualTimeSource())
            node.restore(recovery.state)
            _ = try await node.ensureUser(alice, displayName: "Alice")
            let group = try await node.createChannel(kind: .group, name: "Team", owner: alice).id
            _ = try await node.channel(group).send(MessageDraft(body: "stored"), from: alice, senderName: "A")
            try await storage.checkpoint(node)  // the channel is clean now
            // The next append starts a checkpoint and gives it a moment to run to its end before the
            // append returns: the checkpoint must not cover the record without storing it.
            let racing = Mutex<Task<Void, any Error>?>(nil)
            journal.hook.withLock {
                $0 = {
                    let done = DispatchSemaphore(value: 0)
                    racing.withLock {
                        $0 = Task.detached {
                            defer { done.signal() }
                            try await storage.checkpoint(node)
                        }
                    }
                    _ = done.wait(timeout: .now() + .milliseconds(300))
                }
            }
            _ = try await node.channel(group).send(MessageDraft(body: "racing"), from: alice, senderName: "A")
            try await #require(racing.withLock { $0 }).value
            storage.close()  // a kill: no final checkpoint

            let (reopened, node2, _) = try open(directory)
            let bodies = try await node2.withChannel(group) { try await $0.messages(.latest(limit: 10), for: alice).messages.map(\.body) }
            #expect(bodies == ["stored", "racing"])
            reopened.close()
        }
    }

    @Test("a repeated client message id returns the original message after a restart and after a checkpoint")
    func idempotentSendsSurviveRestarts() async throws {
        try await withDataDirectory { directory in
            let (storage, node, _) = try open(directory, window: 2)
            let group = try await exercise(node, messages: 5)
            let first = try await node.channel(group).send(MessageDraft(body: "once"), from: alice, senderName: "A", clientMessageID: "c-1")
            #expect(!first.replayed)
            let again = try await node.channel(group).send(MessageDraft(body: "twice?"), from: alice, senderName: "A", clientMessageID: "c-1")
            #expect(again == SentMessage(message: first.message, replayed: true))
            storage.close()

            // Recovered from the WAL alone.
            let (reopened, node2, _) = try open(directory, window: 2)
            var replay = try await node2.withChannel(group) {
                try await $0.send(MessageDraft(body: "after restart"), from: alice, senderName: "A", clientMessageID: "c-1")
            }
            #expect(replay == SentMessage(message: first.message, replayed: true))
            // Checkpointed, pushed out of the memory window, and recovered from the store.
            for i in 0..<4 { _ = try await node2.channel(group).send(MessageDraft(body: "more \(i)"), from: bob, senderName: "B") }
            try await reopened.checkpoint(node2)
            reopened.close()
            let (third, node3, _) = try open(directory, window: 2)
            replay = try await node3.withChannel(group) {
                try await $0.send(MessageDraft(body: "after checkpoint"), from: alice, senderName: "A", clientMessageID: "c-1")
            }
            #expect(replay == SentMessage(message: first.message, replayed: true))
            let page = try await node3.withChannel(group) { try await $0.messages(.latest(limit: 50), for: alice) }
            #expect(page.messages.filter { $0.body == "once" }.count == 1)
            #expect(!page.messages.contains { $0.body.hasPrefix("after") || $0.body == "twice?" })
            third.close()
        }
    }

    @Test("a torn last record loses only that record")
    func tornTail() async throws {
        try await withDataDirectory { directory in
            let (storage, node, _) = try open(directory)
            let group = try await exercise(node, messages: 5)
            let before = try await contents(node)
            _ = try await node.channel(group).send(MessageDraft(body: "the last one"), from: alice, senderName: "A")
            storage.close()
            let segment = try #require(WALSegments.list(directory + "/wal").last).path
            let size = try #require(WALSegments.scan(directory + "/wal") { _, _ in }.segments.last).validBytes
            let handle = try #require(FileHandle(forWritingAtPath: segment))
            try handle.truncate(atOffset: UInt64(size - 3))
            try handle.close()
            let (reopened, node2, _) = try open(directory)
            #expect(try await contents(node2, channels: Array(before.channels.keys)) == before)
            reopened.close()
        }
    }

    @Test("history beyond the memory window: pages, changes to old messages and unread counts merge store and memory")
    func historyBeyondMemory() async throws {
        try await withDataDirectory { directory in
            let (storage, node, _) = try open(directory, window: 5)
            _ = try await node.ensureUser(alice, displayName: "A")
            _ = try await node.ensureUser(bob, displayName: "B")
            let group = try await node.createChannel(kind: .group, name: "Team", owner: alice).id
            _ = try await node.channel(group).addMember(bob, role: .member, by: alice)
            var ids: [MessageID] = []
            for i in 0..<30 { ids.append(try await node.channel(group).send(MessageDraft(body: "m\(i)"), from: i.isMultiple(of: 2) ? alice : bob, senderName: "x").id) }
            _ = try await node.channel(group).markRead(ids[3], by: alice)
            try await storage.checkpoint(node)
            let trimmed = try await node.channel(group).snapshot().state
            #expect(trimmed.recent.count == 5)
            #expect(trimmed.hasOlderInStore)
            // Change old messages that now live only in the store.
            let channel = try node.channel(group)
            _ = try await channel.edit(ids[4], body: "old, edited", inlineEmotes: [], by: alice)
            try await channel.delete(ids[5], by: bob)
            try await channel.addReaction(AssetID("7")!, to: ids[6], by: alice)
            await #expect(throws: ChatError.self) { try await channel.addReaction(AssetID("7")!, to: ids[6], by: alice) }
            func check(_ node: ChatNode) async throws {
                let all = try await contents(node, channels: [group]).histories[group]!
                try await node.withChannel(group) { channel in
                #expect(all.map(\.id) == ids)
                #expect(all[4].body == "old, edited")
                #expect(all[5].deleted)
                #expect(all[6].reactions.first?.userIDs == [alice])
                let before = try await channel.messages(.before(ids[12], limit: 4), for: bob)
                #expect(before.messages.map(\.id) == Array(ids[8..<12]))
                #expect(before.hasMore)
                let latest = try await channel.messages(.latest(limit: 8), for: bob)
                #expect(latest.messages.map(\.id) == Array(ids[22...]))
                // alice read up to m3; after it: 26 messages, 13 hers, one of bob's (m5) deleted.
                #expect(try await channel.summary(for: alice)?.unreadCount == 12)
                #expect(try await channel.summary(for: bob)?.unreadCount == 15)
                }
            }
            try await check(node)
            try await storage.checkpoint(node)
            try await check(node)
            storage.close()
            let (reopened, node2, _) = try open(directory, window: 5)
            try await check(node2)
            reopened.close()
        }
    }

    @Test("a WAL failure refuses further changes instead of acknowledging them")
    func closedLogRefusesWrites() async throws {
        try await withDataDirectory { directory in
            let (storage, node, _) = try open(directory)
            _ = try await node.ensureUser(alice, displayName: "A")
            let group = try await node.createChannel(kind: .group, name: "x", owner: alice)
            storage.close()
            await #expect(throws: WALError.self) {
                _ = try await node.channel(group.id).send(MessageDraft(body: "lost?"), from: alice, senderName: "A")
            }
            // Nothing was applied either: the record is logged before it is applied.
            #expect(try await node.channel(group.id).messages(.latest(limit: 10), for: alice).messages.isEmpty)
        }
    }
}

@Suite("Passivation", .serialized)
struct PassivationTests {
    func open(_ directory: String, clock: ManualTimeSource) throws -> (NodeStorage, ChatNode) {
        let (storage, recovery) = try NodeStorage.open(.init(dataDirectory: directory), messageWindow: 3)
        let node = ChatNode(
            actorSystem: ClusterActorSystem(), configuration: .init(messageWindow: 3), journal: storage.wal, store: storage.store, clock: clock)
        node.restore(recovery.state, maxStoredChannelID: recovery.maxStoredChannelID)
        return (storage, node)
    }

    @Test("idle, stored channels are evicted and come back from the store on next use; busy or dirty ones stay")
    func evictAndReactivate() async throws {
        let directory = NSTemporaryDirectory() + "chorus-passivation-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = ManualTimeSource()
        let (storage, node) = try open(directory, clock: clock)
        _ = try await node.ensureUser(alice, displayName: "A")
        var channels: [ChannelID] = []
        for i in 0..<50 {
            let id = try await node.createChannel(kind: .room, name: "room \(i)", owner: alice).id
            for m in 0..<5 { _ = try await node.withChannel(id) { try await $0.send(MessageDraft(body: "\(i)-\(m)"), from: alice, senderName: "A") } }
            channels.append(id)
        }
        #expect(node.activeActorCounts.channels == 50)
        clock.advance(by: .seconds(600))
        #expect(node.passivateIdleChannels(idleFor: .seconds(300)) == 0)  // nothing is stored yet: all dirty
        try await storage.checkpoint(node)
        // A channel in use is not evicted, even when idle by the clock.
        let evictedWhileBusy = try await node.withChannel(channels[0]) { _ in node.passivateIdleChannels(idleFor: .seconds(300)) }
        #expect(evictedWhileBusy == 49)
        #expect(node.activeActorCounts.channels == 1)
        clock.advance(by: .seconds(600))
        #expect(node.passivateIdleChannels(idleFor: .seconds(300)) == 1)
        #expect(node.activeActorCounts.channels == 0)
        #expect(node.actorSystem.liveActorCount == 1)  // only alice's user actor
        // Next use activates from the store, with the full history and the same ids.
        let page = try await node.withChannel(channels[7]) { try await $0.messages(.after(MessageID(rawValue: 0), limit: 10), for: alice) }
        #expect(page.messages.map(\.body) == (0..<5).map { "7-\($0)" })
        let next = try await node.withChannel(channels[7]) { try await $0.send(MessageDraft(body: "again"), from: alice, senderName: "A") }
        #expect(next.id > page.messages.last!.id)
        #expect(next.seq > page.messages.last!.seq)
        #expect(node.activeActorCounts.channels == 1)
        // A recently changed channel is dirty and stays active.
        clock.advance(by: .seconds(600))
        #expect(node.passivateIdleChannels(idleFor: .seconds(300)) == 0)
        // The user's channel list activates what it needs.
        #expect(try await node.listChannels(for: alice, includeHidden: false).count == 50)
        // Restart: only channels the WAL tail touches are loaded; others come from the store on use.
        storage.close()
        let (reopened, node2) = try open(directory, clock: clock)
        #expect(node2.activeActorCounts.channels == 1)
        let after = try await node2.withChannel(channels[7]) { try await $0.messages(.latest(limit: 10), for: alice) }
        #expect(after.messages.map(\.body) == (0..<5).map { "7-\($0)" } + ["again"])
        let other = try await node2.withChannel(channels[3]) { try await $0.messages(.latest(limit: 2), for: alice) }
        #expect(other.messages.map(\.body) == ["3-3", "3-4"])
        await #expect(throws: ChatError.channelNotFound(ChannelID(rawValue: 12345))) {
            try await node2.withChannel(ChannelID(rawValue: 12345)) { _ in }
        }
        reopened.close()
    }
}
