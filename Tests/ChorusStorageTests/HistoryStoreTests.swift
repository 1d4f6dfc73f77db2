import ChorusModel
import ChorusTestSupport
import ChorusStorage
import Foundation
import Testing

@Suite("HistoryStore")
struct HistoryStoreTests {
    let channel = ChannelID(rawValue: 77)
    let other = ChannelID(rawValue: 78)

    func message(_ n: UInt64, in channel: ChannelID? = nil, sender: String = "alice", deleted: Bool = false) -> Message {
        Message(
            id: MessageID(rawValue: n * 10), channelID: channel ?? self.channel, seq: n, senderID: UserID(sender)!, senderName: sender,
            body: deleted ? "" : "m\(n)", attachments: [], inlineEmotes: [], createdAt: .seconds(1_800_000_000), deleted: deleted)
    }

    func withStore(_ body: (HistoryStore) async throws -> Void) async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await body(try HistoryStore(path: directory + "/store.sqlite"))
    }

    @Test("a checkpoint batch is stored atomically with its covered LSN and read back")
    func batches() async throws {
        try await withStore { store in
            #expect(try store.coveredLSN() == 1)
            var batch = HistoryStore.Batch(coveredLSN: 42)
            batch.messages = (1...5).map { message($0) } + [message(1, in: other)]
            batch.channels = [(channel, Data("snapshot".utf8), 40)]
            batch.users = [(UserID("alice")!, Data("user".utf8), 41)]
            try await store.write(batch)
            #expect(try store.coveredLSN() == 42)
            #expect(try store.channelSnapshots().map(\.2) == [40])
            #expect(try store.userSnapshots().first?.1 == Data("user".utf8))
            #expect(try store.message(MessageID(rawValue: 30), in: channel) == message(3))
            #expect(try store.message(MessageID(rawValue: 30), in: other) == nil)
            // A later batch replaces a changed message.
            var edit = HistoryStore.Batch(coveredLSN: 50)
            edit.messages = [message(3, deleted: true)]
            try await store.write(edit)
            #expect(try store.message(MessageID(rawValue: 30), in: channel)?.deleted == true)
        }
    }

    /// A snapshot whose bytes cannot be made (the store makes them inside its write).
    struct Unencodable: StoredSnapshot {
        struct Failure: Error {}
        func storedBytes() throws -> Data { throw Failure() }
    }

    @Test("a snapshot that cannot be made fails the whole batch: none of its messages, snapshots or covered LSN is stored")
    func failedSnapshot() async throws {
        try await withStore { store async throws in
            var batch = HistoryStore.Batch(coveredLSN: 42)
            batch.messages = (1...5).map { message($0) }
            batch.channels = [(other, Data("fine".utf8), 40), (channel, Unencodable(), 41)]
            await #expect(throws: Unencodable.Failure.self) { try await store.write(batch) }
            #expect(try store.coveredLSN() == 1)
            #expect(try store.channelSnapshots().isEmpty)
            #expect(try store.message(MessageID(rawValue: 30), in: channel) == nil)
        }
    }

    @Test("pages by id range from either end, ascending")
    func pages() async throws {
        try await withStore { store in
            var batch = HistoryStore.Batch(coveredLSN: 2)
            batch.messages = (1...10).map { message($0) }
            try await store.write(batch)
            func bodies(_ after: UInt64?, _ before: UInt64?, _ limit: Int, _ fromNewest: Bool) throws -> [String] {
                try store.messages(
                    in: channel, after: after.map(MessageID.init(rawValue:)), before: before.map(MessageID.init(rawValue:)), limit: limit,
                    fromNewest: fromNewest
                ).map(\.body)
            }
            #expect(try bodies(nil, nil, 3, true) == ["m8", "m9", "m10"])
            #expect(try bodies(nil, 50, 3, true) == ["m2", "m3", "m4"])
            #expect(try bodies(20, nil, 3, false) == ["m3", "m4", "m5"])
            #expect(try bodies(20, 60, 10, false) == ["m3", "m4", "m5"])
            #expect(try bodies(nil, 10, 5, true) == [])
        }
    }

    @Test("unread counts skip deleted, own and excluded messages")
    func unread() async throws {
        try await withStore { store in
            var batch = HistoryStore.Batch(coveredLSN: 2)
            batch.messages = [message(1, sender: "bob"), message(2, sender: "alice"), message(3, sender: "bob", deleted: true), message(4, sender: "bob"), message(5, sender: "carol")]
            try await store.write(batch)
            let alice = UserID("alice")!
            func count(after: UInt64?, before: UInt64, excluding: [UInt64] = []) throws -> Int {
                try store.unreadCount(
                    in: channel, by: UnreadRule(user: alice, after: after.map(MessageID.init(rawValue:))), before: MessageID(rawValue: before),
                    excluding: excluding.map(MessageID.init(rawValue:)))
            }
            #expect(try count(after: nil, before: 1000) == 3)
            #expect(try count(after: 10, before: 1000) == 2)
            #expect(try count(after: nil, before: 50, excluding: [40]) == 1)
        }
    }

    @Test("the store counts unread messages exactly as UnreadRule does, over random histories")
    func unreadAgreesWithTheRule() async throws {
        var random = SeededRandom(seed: 7)
        let users = ["alice", "bob", "carol"].map { UserID($0)! }
        for round in 0..<20 {
            try await withStore { store in
                var batch = HistoryStore.Batch(coveredLSN: 2)
                batch.messages = (1...60).map { i in
                    message(UInt64(i), sender: users.randomElement(using: &random)!.rawValue, deleted: Int.random(in: 0..<4, using: &random) == 0)
                }
                try await store.write(batch)
                for user in users {
                    let cursor = round.isMultiple(of: 3) ? nil : MessageID(rawValue: UInt64(Int.random(in: 1...610, using: &random)))
                    let rule = UnreadRule(user: user, after: cursor)
                    let before = MessageID(rawValue: UInt64(Int.random(in: 1...610, using: &random)))
                    let expected = batch.messages.filter { $0.id < before && rule.counts($0) }.count
                    #expect(try store.unreadCount(in: channel, by: rule, before: before, excluding: []) == expected, "round \(round), \(user)")
                }
            }
        }
    }
}
