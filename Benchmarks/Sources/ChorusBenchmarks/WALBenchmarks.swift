import ChorusActorSystem
import ChorusChat
import ChorusModel
import ChorusStorage
import Foundation
import Synchronization

/// A scratch directory on the same disk as the data directory would be.
func scratchDirectory(_ name: String) -> String {
    let path = FileManager.default.currentDirectoryPath + "/.build/bench-\(name)-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A realistic record: a 64-byte message to a channel, as the WAL stores it.
func sampleEntry(_ i: Int) -> JournalEntry {
    .channel(
        ChannelID(rawValue: UInt64(i % 1000) + 1),
        .messageSent(
            NewMessage(
                id: MessageID(rawValue: UInt64(i) + 1_000_000), senderID: UserID("user\(i % 100)")!, senderName: "User",
                draft: MessageDraft(body: String(repeating: "x", count: 64)), at: .seconds(1_800_000_000))))
}

/// Latencies collected from many tasks.
final class LatencyCollector: Sendable {
    private let values = Mutex<[Double]>([])
    func add(_ more: [Double]) { values.withLock { $0 += more } }
    var sorted: [Double] { values.withLock { $0 }.sorted() }
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

/// Append throughput and commit latency (append to durable ack) per fsync policy and writer count.
func walBenchmarks() async throws {
    print("\n| fsync | writers | records | records/s | fsyncs/s | records/fsync | p50 ms | p99 ms | CPU µs/record |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    let frames = (0..<1000).map { sampleEntry($0).frame() }
    for policy in [FsyncPolicy.always, .interval(milliseconds: 10), .none] {
        for writers in [1, 16, 256] {
            let directory = scratchDirectory("wal")
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let log = try WriteAheadLog.open(.init(directory: directory, fsync: policy))
            let duration = Duration.seconds(3)
            let latencies = LatencyCollector()
            let cpuStart = processCPUSeconds()
            let started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        var mine: [Double] = []
                        var i = writer
                        while ContinuousClock.now - started < duration {
                            let t0 = ContinuousClock.now
                            let lsn = try log.append(frames[i % frames.count])
                            try await log.waitDurable(lsn)
                            let (s, a) = (ContinuousClock.now - t0).components
                            mine.append(Double(s) * 1000 + Double(a) / 1e15)
                            i += writers
                        }
                        latencies.add(mine)
                    }
                }
                try await group.waitForAll()
            }
            let (s, a) = (ContinuousClock.now - started).components
            let seconds = Double(s) + Double(a) / 1e18
            let cpu = processCPUSeconds() - cpuStart
            let sorted = latencies.sorted
            let syncs = log.syncCount
            log.close()
            let records = sorted.count
            let perSync = syncs > 0 ? String(format: "%.1f", Double(records) / Double(syncs)) : "-"
            let p50 = String(format: "%.2f", percentile(sorted, 0.5))
            let p99 = String(format: "%.2f", percentile(sorted, 0.99))
            let cpuPerRecord = String(format: "%.2f", cpu / Double(records) * 1e6)
            print(
                "| \(policy.description) | \(writers) | \(records) | \(Int(Double(records) / seconds)) | \(Int(Double(syncs) / seconds)) | "
                    + "\(perSync) | \(p50) | \(p99) | \(cpuPerRecord) |")
        }
    }
}

/// Recovery time for 1,000,000 records in each record format: the raw log scan, and a full node
/// recovery (decode + apply); then the CPU cost of encoding and decoding one record.
/// `binaryOnly`: the binary format's recovery alone (to profile it).
func recoveryBenchmark(binaryOnly: Bool = false) async throws {
    print("\n| recovery of 1,000,000 records | log size | scan + CRC: wall | CPU s | full recovery: wall | CPU s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for format in binaryOnly ? ["binary"] : ["JSON (before)", "binary"] {
        try await recoveryRun(format: format) { entry in format == "binary" ? entry.frame() : try entry.legacyJSONFrame() }
    }
    if binaryOnly { return }

    let entries = (0..<100_000).map(sampleEntry)
    print("\n| one message record (64-byte body) | bytes | encode µs | decode µs |")
    print("| --- | ---: | ---: | ---: |")
    for format in ["JSON (before)", "binary"] {
        var cpu = processCPUSeconds()
        let frames = try entries.map { format == "binary" ? $0.frame() : try $0.legacyJSONFrame() }
        let encode = (processCPUSeconds() - cpu) / Double(entries.count) * 1e6
        cpu = processCPUSeconds()
        var decoded = 0
        for frame in frames { if case .channel = try JournalEntry(frame: frame) { decoded += 1 } }
        let decode = (processCPUSeconds() - cpu) / Double(entries.count) * 1e6
        precondition(decoded == entries.count)
        print("| \(format) | \(frames[0].payload.count + WALFrame.headerSize) | \(String(format: "%.2f", encode)) | \(String(format: "%.2f", decode)) |")
    }
}

private func recoveryRun(format: String, frame: (JournalEntry) throws -> WALFrame) async throws {
    let count = 1_000_000
    let directory = scratchDirectory("recovery")
    defer { try? FileManager.default.removeItem(atPath: directory) }
    // A realistic log: 1,000 channels, each created once, then 999,000 messages across them.
    let log = try WriteAheadLog.open(.init(directory: directory + "/wal", fsync: .none))
    let owner = UserID("user0")!
    for c in 1...1000 {
        let info = ChannelInfo(id: ChannelID(rawValue: UInt64(c)), kind: .room, name: "room \(c)", ownerID: owner, createdAt: .seconds(1_800_000_000))
        _ = try log.append(try frame(JournalEntry.channel(info.id, .created(info: info, members: [Member(userID: owner, role: .owner, joinedAt: .seconds(1_800_000_000))]))))
    }
    var last: UInt64 = 0
    for i in 0..<(count - 1000) {
        if case .channel(let id, .messageSent(var message)) = sampleEntry(i) {
            message.senderID = owner
            last = try log.append(try frame(JournalEntry.channel(id, .messageSent(message))))
        }
    }
    try await log.waitDurable(last)
    log.close()
    let bytes = try WALSegments.list(directory + "/wal").reduce(0) { $0 + ((try FileManager.default.attributesOfItem(atPath: $1.path)[.size] as? Int) ?? 0) }

    var cpu = processCPUSeconds()
    var started = ContinuousClock.now
    var frames = 0
    _ = try WALSegments.scan(directory + "/wal") { _, _ in frames += 1 }
    let scan = (ContinuousClock.now - started, processCPUSeconds() - cpu)
    precondition(frames == count)

    cpu = processCPUSeconds()
    started = ContinuousClock.now
    let (storage, recovery) = try NodeStorage.open(.init(dataDirectory: directory))
    let full = (ContinuousClock.now - started, processCPUSeconds() - cpu)
    storage.close()
    precondition(recovery.state.channels.count == 1000)
    print(
        "| \(format) | \(bytes / 1_048_576) MiB | \(scan.0) | \(String(format: "%.2f", scan.1)) | \(full.0) | \(String(format: "%.2f", full.1)) |")
}
