import ChorusModel
import ChorusStorage
import Foundation

/// What a checkpoint pays per message: the row's JSON, and the store's transaction (the message
/// row, its search index entry). Every message is written to the store once, so in steady state
/// this is part of every durable send's cost.
func storeBenchmarks() async throws {
    let channels = 200, perChannel = 100, rounds = 5
    // As a checkpoint gathers them: ids rise with time over all channels, and the batch holds
    // them channel by channel, the channels in the directory's (hash) order.
    var random = SystemRandomNumberGenerator()
    let channelOrder = (1...UInt64(channels)).map { ChannelID(rawValue: $0) }.shuffled(using: &random)
    func batch(_ round: Int) -> [Message] {
        let messages = (0..<channels * perChannel).map { i in
            Message(
                id: MessageID(rawValue: UInt64(round * channels * perChannel + i) + 1_000_000), channelID: ChannelID(rawValue: UInt64(i % channels) + 1),
                seq: UInt64(round * perChannel + i / channels + 1), senderID: UserID("user\(i % 400)")!, senderName: "User \(i % 400)",
                body: "hello from the benchmark \(i) " + String(repeating: "x", count: 34), attachments: [], inlineEmotes: [],
                createdAt: .seconds(1_800_000_000), clientMessageID: "client-\(round)-\(i)")
        }
        let byChannel = Dictionary(grouping: messages, by: \.channelID)
        return channelOrder.flatMap { byChannel[$0] ?? [] }
    }
    let messages = batch(0)
    print("\n| store, per message | messages | CPU µs/message |")
    print("| --- | ---: | ---: |")
    let encoder = JSONEncoder()
    let encoders: [(String, @Sendable (Message) -> Data)] = [
        ("row JSON, JSONWriter (now)", { $0.storedJSON }),
        ("row JSON, JSONEncoder (before)", { try! encoder.encode($0) }),
    ]
    for (name, encode) in encoders {
        let result = try await measure(name, operations: messages.count) {
            var bytes = 0
            for message in messages { bytes &+= encode(message).count }
            precondition(bytes > 0)
        }
        print("| \(name) | \(messages.count) | \(String(format: "%.2f", result.cpuMicrosPerOperation)) |")
    }
    let directory = scratchDirectory("store")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let store = try HistoryStore(path: directory + "/store.sqlite")
    let batches = (0..<rounds).map(batch)
    let cpuStart = processCPUSeconds()
    for (round, messages) in batches.enumerated() {
        var batch = HistoryStore.Batch(coveredLSN: UInt64(round + 2))
        batch.messages = messages
        try await store.write(batch)
    }
    let cpu = processCPUSeconds() - cpuStart
    let count = rounds * channels * perChannel
    print("| checkpoint: \(rounds) transactions of \(channels) channels × \(perChannel) messages | \(count) | \(String(format: "%.2f", cpu / Double(count) * 1e6)) |")
}
