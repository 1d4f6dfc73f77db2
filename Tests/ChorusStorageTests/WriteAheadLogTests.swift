import ChorusStorage
import Foundation
import Synchronization
import Testing

/// A fresh temporary directory, removed by the caller.
func temporaryDirectory() -> String {
    let path = NSTemporaryDirectory() + "chorus-wal-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func frame(_ n: Int) -> WALFrame {
    WALFrame(kind: .channel, payload: Array("record \(n)".utf8))
}

/// Opens the log in `directory` and returns it with every replayed record.
func openLog(_ directory: String, segmentBytes: Int = 64 << 20, fsync: FsyncPolicy = .always) throws -> (WriteAheadLog, [(UInt64, WALFrame)]) {
    var replayed: [(UInt64, WALFrame)] = []
    let log = try WriteAheadLog.open(.init(directory: directory, segmentBytes: segmentBytes, fsync: fsync)) { replayed.append(($0, $1)) }
    return (log, replayed)
}

/// Writes records 0..<count durably to a new log in `directory`, closes it, and returns the segment's path.
func writeLog(_ directory: String, records count: Int) async throws -> String {
    let (log, _) = try openLog(directory)
    for i in 0..<count { try await log.waitDurable(try log.append(frame(i))) }
    log.close()
    return try #require(WALSegments.list(directory).first).path
}

@Suite("WriteAheadLog")
struct WriteAheadLogTests {
    @Test("records come back in order with their LSNs after reopening", arguments: [FsyncPolicy.always, .interval(milliseconds: 5), .none])
    func roundTrip(policy: FsyncPolicy) async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (log, initial) = try openLog(directory, fsync: policy)
        #expect(initial.isEmpty)
        var lsns: [UInt64] = []
        for i in 0..<100 { lsns.append(try log.append(frame(i))) }
        try await log.waitDurable(lsns.last!)
        #expect(lsns == Array(1...100))
        log.close()
        let (reopened, replayed) = try openLog(directory, fsync: policy)
        #expect(replayed.map(\.0) == Array(1...100))
        #expect(replayed.map(\.1) == (0..<100).map(frame))
        #expect(try reopened.append(frame(100)) == 101)
        reopened.close()
    }

    @Test("every sync is reported with the records it made durable: they add up to every record, once")
    func syncObserver() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (log, _) = try openLog(directory)
        let seen = Mutex<(syncs: Int, records: UInt64, depths: Set<Int>)>((0, 0, []))
        log.observeSyncs { duration, records in
            #expect(duration >= .zero)
            // The stack under the observer: the same at every sync (a closure read out of a
            // Mutex once grew two thunks deeper per sync; ClosureSlot).
            let depth = Thread.callStackReturnAddresses.count
            seen.withLock { $0 = ($0.syncs + 1, $0.records + records, $0.depths.union([depth])) }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask { for i in 0..<25 { try await log.waitDurable(try log.append(frame(writer * 100 + i))) } }
            }
            try await group.waitForAll()
        }
        log.close()
        let (syncs, records, depths) = seen.withLock { $0 }
        #expect(records == 200 && syncs >= 1 && syncs <= 200 && syncs == log.syncCount, "\(syncs) syncs, \(records) records")
        #expect(depths.count == 1, "stack depths under the observer: \(depths.sorted())")
    }

    @Test("group commit: concurrent appenders share syncs")
    func groupCommit() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (log, _) = try openLog(directory)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<64 {
                group.addTask {
                    for i in 0..<20 {
                        let lsn = try log.append(frame(writer * 100 + i))
                        try await log.waitDurable(lsn)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(log.nextLSN == 1281)
        #expect(log.syncCount < 1280)  // batching happened
        #expect(log.syncCount >= 1)
        log.close()
        #expect(try openLog(directory).1.count == 1280)
    }

    @Test("a torn tail is truncated at the last whole record and logging resumes there", arguments: [1, 5, 9, 14])
    func tornTail(cut: Int) async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let segment = try await writeLog(directory, records: 10)
        let size = try #require(WALSegments.scan(directory) { _, _ in }.segments.last).validBytes
        let handle = try #require(FileHandle(forWritingAtPath: segment))
        try handle.truncate(atOffset: UInt64(size - cut))  // the 10th record loses its last `cut` bytes
        try handle.close()
        let report = try WALSegments.scan(directory) { _, _ in }
        #expect(report.records == 9)
        #expect(report.tornTail?.tailProblem != nil)
        let (reopened, replayed) = try openLog(directory)
        #expect(replayed.count == 9)
        #expect(try reopened.append(frame(99)) == 10)
        try await reopened.waitDurable(10)
        reopened.close()
        let (_, final) = try openLog(directory)
        #expect(final.map(\.1) == (0..<9).map(frame) + [frame(99)])
    }

    @Test("zeros after the last record are unused space, garbage a torn tail: both reopen with the records")
    func garbageTail() async throws {
        for tail in [[UInt8](repeating: 0, count: 4096), [0x05, 0, 0, 0, 0xAB]] {
            let directory = temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let segment = try await writeLog(directory, records: 3)
            let handle = try #require(FileHandle(forWritingAtPath: segment))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(tail))
            try handle.close()
            let (reopened, replayed) = try openLog(directory)
            #expect(replayed.count == 3)
            reopened.close()
        }
    }

    @Test("a segment grows in steps of zeros that records overwrite; reopening writes after the last record, not at the file's end")
    func preallocation() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func fileSize(_ path: String) throws -> Int { try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) }
        let segment = try await writeLog(directory, records: 10)
        let frames = (0..<10).map { frame($0).bytes.count }.reduce(0, +)
        #expect(try fileSize(segment) == 1 << 20)
        var report = try #require(WALSegments.scan(directory) { _, _ in }.segments.last)
        #expect(report.validBytes == frames && report.preallocatedBytes == (1 << 20) - frames && report.tailProblem == nil)
        let (log, replayed) = try openLog(directory)
        #expect(replayed.count == 10)
        for i in 10..<20 { try await log.waitDurable(try log.append(frame(i))) }
        log.close()
        #expect(try fileSize(segment) == 1 << 20)  // the new records went into the zeros
        let (_, all) = try openLog(directory)
        #expect(all.map(\.0) == Array(1...20) && all.map(\.1) == (0..<20).map(frame))
        // Past the first step the file grows by another step, once.
        let (big, _) = try openLog(directory)
        let large = WALFrame(kind: .channel, payload: [UInt8](repeating: 7, count: 600 << 10))
        for _ in 0..<2 { try await big.waitDurable(try big.append(large)) }
        big.close()
        #expect(try fileSize(segment) == 2 << 20)
        report = try #require(WALSegments.scan(directory) { _, _ in }.segments.last)
        #expect(report.records == 22 && report.validBytes == (0..<20).map { frame($0).bytes.count }.reduce(0, +) + 2 * large.bytes.count)
    }

    @Test("a record torn inside the preallocated zeros is a torn tail: cut off, and new records replace it")
    func tornIntoZeros() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let segment = try await writeLog(directory, records: 3)
        let end = try #require(WALSegments.scan(directory) { _, _ in }.segments.last).validBytes
        // A crash mid-write: the next frame's header and half its payload, then the zeros.
        let torn = Array(frame(3).bytes.prefix(14))
        let handle = try #require(FileHandle(forWritingAtPath: segment))
        try handle.seek(toOffset: UInt64(end))
        try handle.write(contentsOf: Data(torn))
        try handle.close()
        let report = try WALSegments.scan(directory) { _, _ in }
        #expect(report.records == 3 && report.tornTail?.validBytes == end && report.tornTail?.preallocatedBytes == 0)
        let (log, replayed) = try openLog(directory)
        #expect(replayed.count == 3)
        try await log.waitDurable(try log.append(frame(42)))
        log.close()
        let (_, all) = try openLog(directory)
        #expect(all.map(\.1) == [frame(0), frame(1), frame(2), frame(42)])
        #expect(try WALSegments.scan(directory) { _, _ in }.tornTail == nil)
    }

    @Test("a bit flip in the middle of the log stops start-up naming file and offset")
    func corruptionInTheMiddle() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let segment = try await writeLog(directory, records: 10)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: segment)))
        let frameSize = frame(0).bytes.count
        bytes[frameSize * 4 + 12] ^= 0x10  // inside the payload of the 5th record
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        do {
            _ = try openLog(directory)
            Issue.record("opening a log with mid-log corruption must fail")
        } catch let error as WALError {
            #expect(error.code == .corrupt)
            #expect(error.file == segment)
            #expect(error.offset == frameSize * 4)
        }
        // The flipped bit in the very last record is a torn tail instead.
        bytes[frameSize * 4 + 12] ^= 0x10
        bytes[frameSize * 10 - 1] ^= 0x01  // the last record's last byte (zeros allocated ahead follow it)
        try Data(bytes).write(to: URL(fileURLWithPath: segment))
        let (reopened, replayed) = try openLog(directory)
        #expect(replayed.count == 9)
        reopened.close()
    }

    @Test("segments roll at the size limit; covered segments are deleted; LSNs continue")
    func segments() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (log, _) = try openLog(directory, segmentBytes: 100)
        for i in 0..<50 { try await log.waitDurable(try log.append(frame(i))) }
        let firsts = log.segmentFirstLSNs
        #expect(firsts.count > 5)
        #expect(firsts.first == 1)
        let removed = log.removeSegments(coveredBelow: 30)
        #expect(!removed.isEmpty)
        #expect(log.segmentFirstLSNs.first! <= 30)
        #expect(log.segmentFirstLSNs.count == firsts.count - removed.count)
        log.close()
        let (reopened, replayed) = try openLog(directory, segmentBytes: 100)
        #expect(replayed.first!.0 == log.segmentFirstLSNs.first!)
        #expect(replayed.last!.0 == 50)
        #expect(try reopened.append(frame(50)) == 51)
        reopened.close()
        // A missing middle segment is a gap, not silently skipped.
        try FileManager.default.removeItem(atPath: try WALSegments.list(directory)[1].path)
        #expect(throws: WALError.self) { try openLog(directory, segmentBytes: 100) }
    }

    @Test("after close, appends fail with .closed")
    func closed() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (log, _) = try openLog(directory)
        log.close()
        #expect(throws: WALError.self) { try log.append(frame(0)) }
    }

    @Test("fsync policies parse from config text")
    func policies() {
        #expect(FsyncPolicy("always") == .always)
        #expect(FsyncPolicy("none") == FsyncPolicy.none)
        #expect(FsyncPolicy("interval:10") == .interval(milliseconds: 10))
        #expect(FsyncPolicy("25ms") == .interval(milliseconds: 25))
        #expect(FsyncPolicy("sometimes") == nil)
        #expect(FsyncPolicy("interval:0") == nil)
    }
}

@Suite("WriteAheadLog start positions")
struct WriteAheadLogStartTests {
    @Test("an empty log starts at the checkpoint's LSN; a log that ends short of it refuses to open")
    func minimumNextLSN() async throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fresh = try WriteAheadLog.open(.init(directory: directory), minimumNextLSN: 500)
        #expect(try fresh.append(frame(0)) == 500)
        try await fresh.waitDurable(500)
        fresh.close()
        #expect(throws: WALError.self) { try WriteAheadLog.open(.init(directory: directory), minimumNextLSN: 900) }
        let reopened = try WriteAheadLog.open(.init(directory: directory), minimumNextLSN: 501)
        #expect(reopened.nextLSN == 501)
        reopened.close()
    }
}
