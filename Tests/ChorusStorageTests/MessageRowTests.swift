import ChorusModel
import ChorusTestSupport
import Foundation
import Testing

@testable import ChorusStorage

@Suite("Message rows")
struct MessageRowTests {
    @Test("a message's row is exactly what JSONEncoder makes of it with sorted keys (500 random messages)")
    func rowsMatchTheEncoder() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var random = SeededRandom(seed: 2026_12_03)
        for _ in 0..<500 {
            let message = random.message()
            let row = message.storedJSON
            let expected = try encoder.encode(message)
            #expect(row == expected, "\(String(decoding: row, as: UTF8.self))\n\(String(decoding: expected, as: UTF8.self))")
            #expect(try JSONDecoder().decode(Message.self, from: row) == message)
        }
    }

    @Test("stored rows read back whole, and are found by their client message id")
    func storedRowsReadBack() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try HistoryStore(path: directory + "/store.sqlite")
        var random = SeededRandom(seed: 2026_12_04)
        let channel = ChannelID(rawValue: 5)
        var messages: [Message] = []
        for n in 1...200 {
            var message = random.message()
            message.channelID = channel
            message.id = MessageID(rawValue: UInt64(n) * 10)
            message.clientMessageID = n.isMultiple(of: 2) ? "client-\(n)" : nil
            messages.append(message)
        }
        var batch = HistoryStore.Batch(coveredLSN: 2)
        batch.messages = messages
        try await store.write(batch)
        for message in messages {
            #expect(try store.message(message.id, in: channel) == message)
        }
        #expect(try store.locate("client-40").map { [$0.0.rawValue, $0.1.rawValue] } == [5, 400])
        #expect(try store.locate("client-41") == nil)
    }

    @Test("the search index holds every live message of batches gathered channel by channel, edits and deletes included")
    func searchIndexOfInterleavedChannels() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try HistoryStore(path: directory + "/store.sqlite")
        // Ids rise over all channels; the batch lists them channel by channel, channels out of order.
        func message(_ n: UInt64, body: String, deleted: Bool = false) -> Message {
            Message(
                id: MessageID(rawValue: 1000 + n), channelID: ChannelID(rawValue: [3, 1, 2][Int(n % 3)]), seq: n, senderID: UserID("alice")!,
                senderName: "Alice", body: body, attachments: [], inlineEmotes: [], createdAt: .seconds(1_800_000_000), deleted: deleted)
        }
        let first = (0..<60).map { message($0, body: $0.isMultiple(of: 2) ? "apple \($0)" : "pear \($0)") }
        var batch = HistoryStore.Batch(coveredLSN: 2)
        batch.messages = [ChannelID(rawValue: 2), ChannelID(rawValue: 3), ChannelID(rawValue: 1)].flatMap { channel in first.filter { $0.channelID == channel } }
        try await store.write(batch)
        // Then: every fifth message deleted, every seventh edited from apple to pear or back.
        var changed: [UInt64: Message] = [:]
        for n in UInt64(0)..<60 where n.isMultiple(of: 5) || n.isMultiple(of: 7) {
            changed[n] = n.isMultiple(of: 5) ? message(n, body: "", deleted: true) : message(n, body: n.isMultiple(of: 2) ? "pear \(n)" : "apple \(n)")
        }
        var later = HistoryStore.Batch(coveredLSN: 3)
        later.messages = changed.values.sorted { $0.channelID.rawValue > $1.channelID.rawValue }
        try await store.write(later)
        let now = first.map { changed[$0.seq] ?? $0 }
        for channel in (1...3).map({ ChannelID(rawValue: $0) }) {
            for word in ["apple", "pear"] {
                let expected = now.filter { $0.channelID == channel && !$0.deleted && $0.body.hasPrefix(word) }.map(\.id).sorted(by: >)
                let found = try store.search(in: channel, words: [word], limit: 100).map(\.id)
                #expect(found == expected, "channel \(channel.rawValue), \(word)")
            }
        }
    }
}
