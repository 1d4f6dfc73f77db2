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
}
