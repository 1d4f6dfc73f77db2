import ChorusTestSupport
import ChorusActorSystem
@testable import ChorusChat
import ChorusModel
import ChorusStorage
import Foundation
import Synchronization
import Testing

/// An edge that records what it is handed.
final class RecordingEdge: EdgeEventSink {
    let edgeName: String
    private let recorded = Mutex<(events: [ChannelEvent], memberships: [String])>(([], []))

    init(name: String = "edge-1") { self.edgeName = name }

    func deliver(_ event: ChannelEvent) {
        recorded.withLock { $0.events.append(event) }
    }

    func membershipChanged(of user: UserID, in channel: ChannelID, isMember: Bool, seq: UInt64) {
        recorded.withLock { $0.memberships.append("\(user)\(isMember ? "+" : "-")@\(seq)") }
    }

    var events: [ChannelEvent] { recorded.withLock { $0.events } }
    var types: [String] { events.map(\.type) }
    var memberships: [String] { recorded.withLock { $0.memberships } }
}

/// A journal whose records become durable only when the test says so (once it starts holding).
final class GatedJournal: Journal {
    private struct State {
        var holding = false
        var last: UInt64 = 0
        var durable: UInt64 = 0
        var waiters: [(lsn: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
    }
    private let state = Mutex(State())

    func append(_ entry: JournalEntry) throws -> UInt64 {
        state.withLock { state in
            state.last += 1
            return state.last
        }
    }

    func waitDurable(_ lsn: UInt64) async throws {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state in
                if !state.holding || lsn <= state.durable { return true }
                state.waiters.append((lsn, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    var nextLSN: UInt64 { state.withLock { $0.last + 1 } }
    var waiting: Int { state.withLock { $0.waiters.count } }

    /// From now on, records wait for ``release(upTo:)``.
    func hold() {
        state.withLock { state in
            state.holding = true
            state.durable = state.last
        }
    }

    /// Makes everything up to `lsn` durable; wakes its waiters newest first (the worst order).
    func release(upTo lsn: UInt64) {
        let woken = state.withLock { state in
            state.durable = max(state.durable, lsn)
            let due = state.waiters.filter { $0.lsn <= lsn }
            state.waiters.removeAll { $0.lsn <= lsn }
            return due.sorted { $0.lsn > $1.lsn }.map(\.continuation)
        }
        for continuation in woken { continuation.resume() }
    }
}

@Suite("Channel events")
struct ChannelEventTests {
    /// A node with alice and bob, a group alice owns with bob in it, and an edge subscribed to it.
    func makeChannel(
        journal: any Journal = MemoryJournal(), eventLogCapacity: Int = 1000
    ) async throws -> (ChatNode, ManualTimeSource, ChannelActor, RecordingEdge) {
        let clock = ManualTimeSource()
        let node = ChatNode(
            actorSystem: ClusterActorSystem(), configuration: .init(eventLogCapacity: eventLogCapacity), journal: journal, clock: clock)
        let edge = RecordingEdge()
        node.registerEdge(edge)
        _ = try await node.ensureUser(alice, displayName: "Alice")
        _ = try await node.ensureUser(bob, displayName: "Bob")
        let info = try await node.createChannel(kind: .group, name: "Team", owner: alice)
        let channel = try node.channel(info.id)
        try await channel.subscribe(edge: edge.edgeName, generation: 1)
        _ = try await channel.addMember(bob, role: .member, by: alice)
        return (node, clock, channel, edge)
    }

    @Test("every kind of change becomes one event, with the record's seq, in seq order")
    func everyEvent() async throws {
        let (_, _, channel, edge) = try await makeChannel()
        let message = try await channel.send(MessageDraft(body: "hi"), from: alice, senderName: "Alice")
        _ = try await channel.edit(message.id, body: "hi!", inlineEmotes: [], by: alice)
        try await channel.addReaction(AssetID("smile")!, to: message.id, by: bob)
        try await channel.removeReaction(AssetID("smile")!, from: message.id, by: bob)
        _ = try await channel.markRead(message.id, by: bob)
        try await channel.setHidden(true, by: bob)  // concerns bob alone: an ephemeral notice for his own sockets
        _ = try await channel.update(name: "Renamed", by: alice)
        try await channel.delete(message.id, by: alice)
        try await channel.removeMember(bob, by: alice)

        #expect(
            edge.types == [
                "member_add", "message", "message_update", "reaction_add", "reaction_remove", "read", "notice", "channel_update",
                "message_delete", "member_remove",
            ])
        #expect(edge.events[6].seq == nil && edge.events[6].payload == .notice(user: bob, .hidden(clearHistory: false)))
        #expect(!edge.events[6].reachesV1)
        let seqs = edge.events.compactMap(\.seq)
        #expect(seqs == [2, 3, 4, 5, 6, 7, 9, 10, 11])  // 8 was bob hiding the channel (its notice has no seq)
        #expect(edge.events[1].payload == .message(message))
        #expect(edge.events[1].seq == message.seq)
        guard case .messageUpdate(let edited) = edge.events[2].payload else { Issue.record("not an update"); return }
        #expect(edited.body == "hi!" && edited.id == message.id && edited.editedAt != nil)
        #expect(edge.events[3].payload == .reactionAdd(.init(messageID: message.id, emote: AssetID("smile")!, userID: bob)))
        #expect(edge.events.allSatisfy { $0.channelID == message.channelID })
    }

    @Test("events wait for durability and leave in seq order, whatever order commits resume in")
    func publishedWhenDurable() async throws {
        let journal = GatedJournal()
        let (_, _, channel, edge) = try await makeChannel(journal: journal)
        journal.hold()
        let before = edge.events.count
        let sends = (0..<5).map { i in
            Task { try await channel.send(MessageDraft(body: "\(i)"), from: alice, senderName: "Alice") }
        }
        try await eventually("5 sends wait for the log") { journal.waiting == 5 }
        #expect(edge.events.count == before)  // applied, not durable: nothing published
        journal.release(upTo: journal.nextLSN - 1)
        var acknowledged: [Message] = []
        for send in sends { acknowledged.append(try await send.value) }
        let published = edge.events.dropFirst(before).compactMap(\.seq)
        #expect(published == acknowledged.map(\.seq).sorted())
    }

    @Test("replay returns the events after a seq, and says when they are gone")
    func replay() async throws {
        let (_, _, channel, _) = try await makeChannel(eventLogCapacity: 4)
        for i in 0..<6 { _ = try await channel.send(MessageDraft(body: "\(i)"), from: alice, senderName: "Alice") }
        // Seqs: 2 member_add, 3...8 messages; the ring keeps 5...8.
        let recent = try await channel.replay(after: 6, for: bob)
        #expect(recent.available && recent.events.compactMap(\.seq) == [7, 8] && recent.through == 8)
        let edge = try await channel.replay(after: 4, for: bob)
        #expect(edge.available && edge.events.compactMap(\.seq) == [5, 6, 7, 8])
        let none = try await channel.replay(after: 8, for: bob)
        #expect(none.available && none.events.isEmpty)
        let gone = try await channel.replay(after: 3, for: bob)
        #expect(!gone.available && gone.events.isEmpty)
        let ahead = try await channel.replay(after: 9, for: bob)
        #expect(!ahead.available)
        await #expect(throws: ChatError.self) { try await channel.replay(after: 0, for: carol) }
    }

    @Test("the event log as a value: floor, wrap-around and order")
    func eventLog() {
        var log = ChannelEventLog(capacity: 3, floor: 10)
        func event(_ seq: UInt64) -> ChannelEvent {
            ChannelEvent(channelID: ChannelID(rawValue: 1), seq: seq, createdAt: t0, payload: .messageDelete(MessageID(rawValue: seq)))
        }
        #expect(log.events(after: 9, channelSeq: 10) == .unavailable)
        #expect(log.events(after: 10, channelSeq: 10) == .events([]))
        for seq: UInt64 in [11, 13, 14, 16] { log.append(event(seq)) }
        #expect(log.floor == 11 && log.lastSeq == 16)
        #expect(log.events(after: 10, channelSeq: 16) == .unavailable)
        #expect(log.events(after: 11, channelSeq: 16) == .events([event(13), event(14), event(16)]))
        #expect(log.events(after: 14, channelSeq: 17) == .events([event(16)]))
        #expect(log.events(after: 18, channelSeq: 17) == .unavailable)
    }

    @Test("typing: announced on start, throttled on refresh, stopped by the TTL timer and by sending")
    func typing() async throws {
        let (_, clock, channel, edge) = try await makeChannel()
        let base = edge.events.count
        func typingEvents() -> [String] {
            edge.events.dropFirst(base).compactMap { event in
                switch event.payload {
                case .typing(let user): "typing \(user)"
                case .typingStop(let user): "stop \(user)"
                default: nil
                }
            }
        }
        try await channel.startTyping(by: bob)
        for _ in 0..<2 {  // refreshes every second: silent until 3 s have passed
            clock.advance(by: .seconds(1))
            try await channel.startTyping(by: bob)
        }
        #expect(typingEvents() == ["typing bob"])
        #expect(edge.events.last?.seq == nil)  // ephemeral
        clock.advance(by: .seconds(1))
        try await channel.startTyping(by: bob)  // 3 s after the announcement
        #expect(typingEvents() == ["typing bob", "typing bob"])
        // The TTL runs out 5 s after the last refresh; the actor's timer announces the stop.
        clock.advance(by: .milliseconds(4999))
        #expect(try await channel.typingUsers(for: alice) == [bob])
        clock.advance(by: .milliseconds(1))
        try await eventually("the timer announces the stop") { typingEvents().count == 3 }
        #expect(typingEvents() == ["typing bob", "typing bob", "stop bob"])
        // Sending a message ends typing at once.
        try await channel.startTyping(by: alice)
        _ = try await channel.send(MessageDraft(body: "done"), from: alice, senderName: "Alice")
        #expect(Array(typingEvents().suffix(2)) == ["typing alice", "stop alice"])
        #expect(edge.types.last == "message")
        // Typing is never replayed.
        let replay = try await channel.replay(after: 2, for: alice)
        #expect(replay.events.map(\.type) == ["message"])
    }

    @Test("subscriptions: stale calls are ignored, unsubscribed edges get nothing, subscribed channels are not passivated")
    func subscriptions() async throws {
        let (node, _, channel, edge) = try await makeChannel()
        try await channel.unsubscribe(edge: edge.edgeName, generation: 3)
        try await channel.subscribe(edge: edge.edgeName, generation: 2)  // older than the unsubscribe
        let count = edge.events.count
        _ = try await channel.send(MessageDraft(body: "unseen"), from: alice, senderName: "Alice")
        #expect(edge.events.count == count)
        try await channel.subscribe(edge: edge.edgeName, generation: 4)
        _ = try await channel.send(MessageDraft(body: "seen"), from: alice, senderName: "Alice")
        #expect(edge.events.count == count + 1)
        #expect(node.activeActorCounts.channels == 1)
    }

    @Test("edges hear of membership changes with the record's seq")
    func membership() async throws {
        let (_, _, channel, edge) = try await makeChannel()
        try await channel.removeMember(bob, by: alice)
        #expect(edge.memberships == ["alice+@1", "bob+@2", "bob-@3"])
    }
}

@Suite("Channel events and passivation")
struct SubscribedPassivationTests {
    @Test("a channel an edge subscribes to is never evicted")
    func subscribedStays() async throws {
        let directory = NSTemporaryDirectory() + "chorus-events-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = ManualTimeSource()
        let (storage, _) = try NodeStorage.open(.init(dataDirectory: directory), messageWindow: 3)
        defer { storage.close() }
        let node = ChatNode(actorSystem: ClusterActorSystem(), journal: storage.wal, store: storage.store, clock: clock)
        let edge = RecordingEdge()
        node.registerEdge(edge)
        _ = try await node.ensureUser(alice, displayName: "A")
        let watched = try await node.createChannel(kind: .room, name: "watched", owner: alice).id
        _ = try await node.createChannel(kind: .room, name: "quiet", owner: alice).id
        _ = try await node.withChannel(watched) { try await $0.subscribe(edge: edge.edgeName, generation: 1) }
        try await storage.checkpoint(node)
        clock.advance(by: .seconds(600))
        #expect(node.passivateIdleChannels(idleFor: .seconds(300)) == 1)
        #expect(node.activeActorIDs.channels == [watched])
        try await node.withChannel(watched) { try await $0.unsubscribe(edge: edge.edgeName, generation: 2) }
        clock.advance(by: .seconds(600))
        #expect(node.passivateIdleChannels(idleFor: .seconds(300)) == 1)
    }
}
