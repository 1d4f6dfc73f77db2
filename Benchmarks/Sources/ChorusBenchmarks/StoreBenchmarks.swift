import ChorusActorSystem
import ChorusChat
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

/// What a checkpoint pays per channel to make its snapshot (the channel's state as JSON), and a
/// recovery or activation to read it back: a room of 200 members that has kept 1,000 client
/// message ids, a room of two, and a room of two that has kept 1,000. Since
/// 2026-12-04 the store makes them on its writer thread (``StoredSnapshot``); before, the
/// checkpoint's task did, on the cooperative pool.
func snapshotBenchmarks() async throws {
    let directory = scratchDirectory("snapshots")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let (storage, _) = try NodeStorage.open(.init(dataDirectory: directory, fsync: .none))
    let node = ChatNode(actorSystem: ClusterActorSystem(), journal: storage.wal, store: storage.store)
    let owner = UserID("owner")!
    let members = (0..<200).map { UserID("member\($0)")! }
    for user in [owner] + members { _ = try await node.ensureUser(user, displayName: user.rawValue) }
    let big = try await node.createChannel(kind: .room, name: "big", owner: owner).id
    for member in members { _ = try await node.withChannel(big) { try await $0.addMember(member, role: .member, by: owner) } }
    for i in 0..<1_000 {
        _ = try await node.withChannel(big) { try await $0.send(MessageDraft(body: "hello \(i)"), from: owner, senderName: "o", clientMessageID: "client-\(i)") }
    }
    let small = try await node.createChannel(kind: .room, name: "small", owner: owner).id
    _ = try await node.withChannel(small) { try await $0.addMember(members[0], role: .member, by: owner) }
    for i in 0..<10 { _ = try await node.withChannel(small) { try await $0.send(MessageDraft(body: "hi \(i)"), from: owner, senderName: "o") } }
    // A small room that has been busy for a while: every send carried a client id (as the SDKs'
    // do), and the channel remembers the last 1,000.
    let pair = try await node.createChannel(kind: .room, name: "pair", owner: owner).id
    _ = try await node.withChannel(pair) { try await $0.addMember(members[0], role: .member, by: owner) }
    for i in 0..<1_000 {
        let sender = i % 2 == 0 ? owner : members[0]
        _ = try await node.withChannel(pair) {
            try await $0.send(MessageDraft(body: "hi \(i)"), from: sender, senderName: "s", clientMessageID: "3f1c9a2e-7b4d-4c8a-9e21-\(100_000 + i)")
        }
    }
    try await storage.checkpoint(node)
    defer { storage.close() }
    print("\n| channel snapshot | channels | CPU µs/channel to make | to read back | bytes |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for (name, id, count) in [
        ("room of 200 members, 1,000 client message ids", big, 2_000), ("room of 2 members", small, 20_000),
        ("room of 2 members, 1,000 client message ids", pair, 4_000),
    ] {
        guard let stored = try storage.store.channelSnapshot(id) else { fatalError("channel \(id) not stored") }
        let state = try JSONDecoder().decode(ChannelState.self, from: stored.snapshot)
        let made = try await measure(name, operations: count) {
            var bytes = 0
            for _ in 0..<count { bytes &+= try state.storedBytes().count }
            precondition(bytes > 0)
        }
        let snapshot = try state.storedBytes()
        let read = try await measure(name + " (read)", operations: count) {
            var members = 0
            for _ in 0..<count { members &+= try JSONDecoder().decode(ChannelState.self, from: snapshot).members.count }
            precondition(members > 0)
        }
        print(
            "| \(name) | \(count) | \(String(format: "%.2f", made.cpuMicrosPerOperation)) | \(String(format: "%.2f", read.cpuMicrosPerOperation)) "
                + "| \(snapshot.count) |")
    }
}
