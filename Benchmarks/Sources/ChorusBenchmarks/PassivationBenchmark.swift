import ChorusActorSystem
import ChorusChat
import ChorusModel
import ChorusStorage
import Foundation

/// Resident memory of this process, from /proc/self/status.
func residentMegabytes() -> Double {
    let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
    return Double(line.split(separator: " ").dropFirst().first ?? "0").map { $0 / 1024 } ?? 0
}

/// Creates `CHORUS_BENCH_CHANNELS` channels (default 1,000,000) on a durable node, checkpointing
/// and passivating every 10,000, and reports resident memory as the count grows.
func passivationBenchmark() async throws {
    let total = Int(ProcessInfo.processInfo.environment["CHORUS_BENCH_CHANNELS"] ?? "") ?? 1_000_000
    let directory = scratchDirectory("passivation")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let (storage, _) = try NodeStorage.open(.init(dataDirectory: directory, fsync: .none))
    let node = ChatNode(actorSystem: ClusterActorSystem(), journal: storage.wal, store: storage.store)
    let owners = (0..<1000).map { UserID("owner\($0)")! }
    for owner in owners { _ = try await node.ensureUser(owner, displayName: owner.rawValue) }
    print("\n| channels created | active channel actors | RSS MiB | elapsed s |")
    print("| ---: | ---: | ---: | ---: |")
    let started = ContinuousClock.now
    var created = 0
    while created < total {
        let batch = min(10_000, total - created)
        let base = created
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<16 {
                group.addTask {
                    for i in stride(from: worker, to: batch, by: 16) {
                        let owner = owners[(base + i) % owners.count]
                        let info = try await node.createChannel(kind: .room, name: "room \(base + i)", owner: owner)
                        _ = try await node.withChannel(info.id) { try await $0.send(MessageDraft(body: "hello"), from: owner, senderName: "o") }
                    }
                }
            }
            try await group.waitForAll()
        }
        created += batch
        try await storage.checkpoint(node)
        node.passivateIdleChannels(idleFor: .zero)
        if created % 100_000 == 0 || created == total {
            let (s, a) = (ContinuousClock.now - started).components
            print("| \(created) | \(node.activeActorCounts.channels) | \(Int(residentMegabytes())) | \(Int(Double(s) + Double(a) / 1e18)) |")
        }
    }
    storage.close()
    let size = (try? FileManager.default.attributesOfItem(atPath: directory + "/store.sqlite")[.size] as? Int) ?? 0
    print("store.sqlite: \(size / 1_048_576) MiB for \(created) channels (one message each)")
}
