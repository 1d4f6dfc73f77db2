import ChorusActorSystem
@testable import ChorusChat
import ChorusModel
import ChorusStorage
import Foundation
import Testing

/// Truncating, deleting and clearing a channel's history, and muting it: what the Stream API
/// needs of the engine, checked through the actors (and the store, for hard erasure).
/// A node on the data directory `directory` with a memory window of two messages (so most
/// history is read from the store), recovered from what the directory holds.
func openNode(in directory: String) throws -> (NodeStorage, ChatNode) {
    let (storage, recovery) = try NodeStorage.open(.init(dataDirectory: directory), messageWindow: 2)
    let node = ChatNode(
        actorSystem: ClusterActorSystem(), configuration: .init(messageWindow: 2), journal: storage.wal, store: storage.store,
        clock: ManualTimeSource())
    node.restore(recovery.state)
    return (storage, node)
}

@Suite("Channel lifecycle", .serialized)
struct ChannelLifecycleTests {
    func makeChannel(_ node: ChatNode) async throws -> ChannelActor {
        for user in [alice, bob, carol] { _ = try await node.ensureUser(user, displayName: user.rawValue) }
        let info = try await node.createChannel(kind: .group, name: "Team", owner: alice)
        let channel = try node.channel(info.id)
        _ = try await channel.addMember(bob, role: .member, by: alice)
        _ = try await channel.addMember(carol, role: .member, by: alice)
        return channel
    }

    func bodies(_ channel: ChannelActor, for user: UserID) async throws -> [String] {
        try await channel.messages(.latest(limit: 50), for: user).messages.map(\.body)
    }

    @Test("a truncation hides every earlier message from everyone, in pages and unread counts; later ones show")
    func truncate() async throws {
        let node = ChatNode(actorSystem: ClusterActorSystem(), clock: ManualTimeSource())
        let channel = try await makeChannel(node)
        for i in 0..<3 { _ = try await channel.send(MessageDraft(body: "old \(i)"), from: alice, senderName: "A") }
        #expect(try await channel.summary(for: bob)?.unreadCount == 3)
        await #expect(throws: ChatError.self) { try await channel.truncate(hard: false, by: bob, asServer: false) }
        _ = try await channel.truncate(hard: false, by: bob, asServer: true)
        #expect(try await bodies(channel, for: bob) == [])
        #expect(try await channel.summary(for: bob)?.unreadCount == 0)
        let page = try await channel.messages(.latest(limit: 2), for: carol)
        #expect(page == MessagePage(messages: [], hasMore: false))
        _ = try await channel.send(MessageDraft(body: "new"), from: alice, senderName: "A")
        #expect(try await bodies(channel, for: bob) == ["new"])
        #expect(try await channel.summary(for: bob)?.unreadCount == 1)
        #expect(try await channel.messages(.after(MessageID(rawValue: 0), limit: 10), for: bob).messages.map(\.body) == ["new"])
    }

    @Test("clearing history hides earlier messages from that member only")
    func clearHistory() async throws {
        let node = ChatNode(actorSystem: ClusterActorSystem(), clock: ManualTimeSource())
        let channel = try await makeChannel(node)
        _ = try await channel.send(MessageDraft(body: "before"), from: alice, senderName: "A")
        try await channel.clearHistory(for: bob)
        _ = try await channel.send(MessageDraft(body: "after"), from: alice, senderName: "A")
        #expect(try await bodies(channel, for: bob) == ["after"])
        #expect(try await bodies(channel, for: carol) == ["before", "after"])
        #expect(try await channel.summary(for: bob)?.unreadCount == 1)
        #expect(try await channel.summary(for: carol)?.unreadCount == 2)
    }

    @Test("a deleted channel is not found by anyone and leaves its members' channel lists")
    func delete() async throws {
        let node = ChatNode(actorSystem: ClusterActorSystem(), clock: ManualTimeSource())
        let channel = try await makeChannel(node)
        let id = try await channel.view(for: nil, messages: .latest(limit: 0)).info.id
        await #expect(throws: ChatError.self) { try await channel.deleteChannel(hard: false, by: carol, asServer: false) }
        let before = try await channel.deleteChannel(hard: false, by: alice, asServer: false)
        #expect(before.members.count == 3)
        for user in [alice, bob, carol] {
            #expect(try await node.listChannels(for: user, includeHidden: true).isEmpty)
            #expect(try await node.channelIDs(of: user).isEmpty)
        }
        await #expect(throws: ChatError(.channelNotFound, "channel \(id) was deleted")) {
            try await channel.send(MessageDraft(body: "x"), from: alice, senderName: "A")
        }
        await #expect(throws: ChatError.self) { try await channel.view(for: nil, messages: .latest(limit: 1)) }
        await #expect(throws: ChatError.self) { try await channel.addMember(bob, role: .member, by: alice) }
    }

    @Test("a hard truncation removes the messages from the store at the next checkpoint, and stays after a restart")
    func hardTruncateErasesStoredMessages() async throws {
        let directory = NSTemporaryDirectory() + "chorus-lifecycle-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func open() throws -> (NodeStorage, ChatNode) { try openNode(in: directory) }
        let (storage, node) = try open()
        let channel = try await makeChannel(node)
        let id = try await channel.view(for: nil, messages: .latest(limit: 0)).info.id
        var sent: [MessageID] = []
        for i in 0..<6 { sent.append(try await channel.send(MessageDraft(body: "m\(i)"), from: alice, senderName: "A").id) }
        try await storage.checkpoint(node)
        #expect(try storage.store.message(sent[0], in: id) != nil)
        _ = try await channel.truncate(hard: true, by: alice, asServer: false)
        _ = try await channel.send(MessageDraft(body: "kept"), from: alice, senderName: "A")
        try await storage.checkpoint(node)
        for old in sent { #expect(try storage.store.message(old, in: id) == nil) }
        // Erased messages cannot be changed, so nothing writes them back.
        await #expect(throws: ChatError.messageNotFound(sent[0])) {
            try await channel.edit(sent[0], body: "back?", inlineEmotes: [], by: alice)
        }
        await #expect(throws: ChatError.messageNotFound(sent[5])) { try await channel.addReaction(AssetID("1")!, to: sent[5], by: bob) }
        await #expect(throws: ChatError.messageNotFound(sent[5])) { try await channel.delete(sent[5], by: alice) }
        await #expect(throws: ChatError.messageNotFound(sent[5])) { try await channel.markRead(sent[5], by: bob) }
        // A soft truncation after a hard one keeps its messages on disk.
        let kept = try await channel.send(MessageDraft(body: "soft"), from: alice, senderName: "A").id
        try await storage.checkpoint(node)
        _ = try await channel.truncate(hard: false, by: alice, asServer: false)
        _ = try await channel.send(MessageDraft(body: "after soft"), from: alice, senderName: "A")
        try await storage.checkpoint(node)
        for old in sent { #expect(try storage.store.message(old, in: id) == nil) }
        #expect(try storage.store.message(kept, in: id) != nil)
        storage.close()
        let (reopened, node2) = try open()
        #expect(try await node2.withChannel(id) { try await $0.messages(.latest(limit: 50), for: bob) }.messages.map(\.body) == ["after soft"])
        reopened.close()
    }

    @Test("a mute lasts until it expires by the node's clock, or until unmuted")
    func mutes() async throws {
        let clock = ManualTimeSource()
        let node = ChatNode(actorSystem: ClusterActorSystem(), clock: clock)
        let channel = try await makeChannel(node)
        let id = try await channel.view(for: nil, messages: .latest(limit: 0)).info.id
        let other = ChannelID(rawValue: 42)
        let expires = clock.now().advanced(by: .seconds(30))
        let mutes = try await node.withUser(bob) { try await $0.mute([id], expires: expires) }
        #expect(mutes == [ChannelMute(channelID: id, createdAt: clock.now(), expires: expires)])
        _ = try await node.withUser(bob) { try await $0.mute([other], expires: nil) }
        #expect(try await node.withUser(bob) { try await $0.activeMutes() }.map(\.channelID) == [other, id].sorted())
        clock.advance(by: .seconds(29))
        #expect(try await node.withUser(bob) { try await $0.activeMutes() }.count == 2)
        clock.advance(by: .seconds(1))
        #expect(try await node.withUser(bob) { try await $0.activeMutes() }.map(\.channelID) == [other])
        try await node.withUser(bob) { try await $0.unmute([other, id]) }
        #expect(try await node.withUser(bob) { try await $0.activeMutes() }.isEmpty)
        #expect(try await node.withUser(carol) { try await $0.activeMutes() }.isEmpty)
    }
}

@Suite("Message search", .serialized)
struct MessageSearchTests {
    @Test("search matches whole words, case-insensitively, in memory and through the store's index, newest version wins")
    func searchMemoryAndStore() async throws {
        let directory = NSTemporaryDirectory() + "chorus-search-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func open() throws -> (NodeStorage, ChatNode) { try openNode(in: directory) }
        let (storage, node) = try open()
        for user in [alice, bob] { _ = try await node.ensureUser(user, displayName: user.rawValue) }
        let info = try await node.createChannel(kind: .group, name: "Team", owner: alice)
        let channel = try node.channel(info.id)
        _ = try await channel.addMember(bob, role: .member, by: alice)
        let bodies = ["Hello world", "hello, WORLD!", "helloworld", "world peace", "Ünïcode hello", "goodbye"]
        var ids: [MessageID] = []
        for body in bodies { ids.append(try await channel.send(MessageDraft(body: body), from: alice, senderName: "A").id) }
        try await storage.checkpoint(node)  // all but the newest two are now only in the store
        func search(_ query: String, limit: Int = 10) async throws -> [String] {
            try await channel.search(query, limit: limit, for: bob).map(\.body)
        }
        #expect(try await search("hello") == ["Ünïcode hello", "hello, WORLD!", "Hello world"])
        #expect(try await search("WORLD hello") == ["hello, WORLD!", "Hello world"])
        #expect(try await search("ünïcode") == ["Ünïcode hello"])
        #expect(try await search("hello", limit: 2) == ["Ünïcode hello", "hello, WORLD!"])
        #expect(try await search("hell") == [])
        // A stored message edited (now in memory) is found by its new text only; a deleted one not at all.
        _ = try await channel.edit(ids[0], body: "edited text", inlineEmotes: [], by: alice)
        try await channel.delete(ids[1], by: alice)
        #expect(try await search("hello") == ["Ünïcode hello"])
        #expect(try await search("edited") == ["edited text"])
        try await storage.checkpoint(node)
        #expect(try await search("hello") == ["Ünïcode hello"])
        #expect(try await search("edited") == ["edited text"])
        // Messages are found by id without their channel: in memory, after a checkpoint (the
        // store), and after a restart (the log's tail, then the store).
        let tagged = try await channel.send(MessageDraft(body: "tagged"), from: bob, senderName: "B", clientMessageID: "client-7")
        #expect(try await node.locateMessage("client-7").map { [$0.channel.rawValue, $0.message.rawValue] } == [info.id.rawValue, tagged.message.id.rawValue])
        #expect(try await node.locateMessage(tagged.message.id.description).map { [$0.channel.rawValue, $0.message.rawValue] } == [info.id.rawValue, tagged.message.id.rawValue])
        #expect(try await node.locateMessage(ids[0].description).map { [$0.channel.rawValue, $0.message.rawValue] } == [info.id.rawValue, ids[0].rawValue])
        #expect(try await node.locateMessage("nope") == nil)
        #expect(node.directory.messages.count > 0)
        try await storage.checkpoint(node)
        #expect(node.directory.messages.count == 0)
        #expect(try await node.locateMessage("client-7").map { [$0.channel.rawValue, $0.message.rawValue] } == [info.id.rawValue, tagged.message.id.rawValue])
        let unstored = try await channel.send(MessageDraft(body: "unstored"), from: bob, senderName: "B", clientMessageID: "client-8")
        storage.close()
        let (reopened, node2) = try open()
        #expect(try await node2.locateMessage("client-8").map { [$0.channel.rawValue, $0.message.rawValue] } == [info.id.rawValue, unstored.message.id.rawValue])
        #expect(try await node2.locateMessage("client-7").map { [$0.channel.rawValue, $0.message.rawValue] } == [info.id.rawValue, tagged.message.id.rawValue])
        reopened.close()
        let (storage2, node3) = try open()
        let channel2 = try await node3.withChannel(info.id) { $0 }
        // A non-member cannot search a group; a truncation hides earlier matches.
        _ = try await node3.ensureUser(carol, displayName: "carol")
        await #expect(throws: ChatError.self) { try await channel2.search("hello", limit: 10, for: carol) }
        _ = try await channel2.truncate(hard: false, by: alice, asServer: false)
        #expect(try await channel2.search("hello", limit: 10, for: bob).isEmpty)
        storage2.close()
    }
}
