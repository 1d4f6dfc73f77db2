import ChorusModel
import Dispatch
import Foundation
import Logging
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The node's write-ahead log: one segmented, append-only log of every actor's records.
///
/// **Group commit.** ``append(_:)`` frames a record and queues it under a lock, assigning its LSN;
/// it never blocks on I/O. One writer thread takes everything queued, writes it with one `write`,
/// syncs it according to the ``FsyncPolicy``, and then acknowledges every record of the batch.
/// Under load, many records share one `fdatasync`. The decisions (what to write, when to sync,
/// when to roll a segment, what is acknowledged) are the pure ``GroupCommit``; this class is
/// its shell: the lock, the files, the thread and the waiting callers.
///
/// **Order.** LSNs are assigned in the order `append` is called; a caller that appends inside an
/// actor turn gets its records logged in the actor's order, then awaits ``waitDurable(_:)``.
///
/// **Failure.** After a failed write or sync the log refuses every further record (`.io`): the
/// node keeps serving reads and must be restarted to write again.
public final class WriteAheadLog: Sendable {
    /// Where and how to log.
    public struct Configuration: Sendable {
        /// Directory of the segment files.
        public var directory: String
        /// A segment is closed and a new one started once it reaches this size (default 64 MiB).
        public var segmentBytes: Int
        /// When writes reach stable storage (default `.always`).
        public var fsync: FsyncPolicy

        public init(directory: String, segmentBytes: Int = 64 << 20, fsync: FsyncPolicy = .always) {
            self.directory = directory
            self.segmentBytes = segmentBytes
            self.fsync = fsync
        }

        /// How far a segment file grows at a time, in zeros written ahead of the records: 1 MiB,
        /// or the segment size if that is smaller.
        var preallocationStep: Int { min(1 << 20, segmentBytes) }
    }

    private struct State {
        var commit: GroupCommit
        var waiters: [(lsn: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        /// First LSNs of the segment files, oldest first; the last one is being written.
        var segments: [UInt64]
    }

    public let configuration: Configuration
    private let state: Mutex<State>
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let logger: Logger

    /// Opens the log in `configuration.directory`: scans it, replays every valid record after
    /// `startLSN` through `replay`, truncates a torn tail (logging file and offset), and starts the
    /// writer. `minimumNextLSN` keeps new LSNs above any a checkpoint has already covered.
    public static func open(
        _ configuration: Configuration, from startLSN: UInt64 = 1, minimumNextLSN: UInt64 = 1,
        logger: Logger = Logger(label: "chorus.wal"), replay: (UInt64, WALFrame) throws -> Void = { _, _ in }
    ) throws -> WriteAheadLog {
        try FileManager.default.createDirectory(atPath: configuration.directory, withIntermediateDirectories: true)
        let report = try WALSegments.scan(configuration.directory) { lsn, frame in
            if lsn >= startLSN { try replay(lsn, frame) }
        }
        var segment: SegmentFile
        var segments = report.segments.map(\.firstLSN)
        if !report.segments.isEmpty && report.nextLSN < minimumNextLSN {
            throw WALError(
                .gap, "the log ends before LSN \(report.nextLSN) but the checkpoint needs it to reach \(minimumNextLSN): records are missing",
                file: report.segments.last?.path)
        }
        let nextLSN = max(report.nextLSN, minimumNextLSN)
        if let last = report.segments.last {
            if let problem = last.tailProblem {
                logger.warning(
                    "truncating torn WAL tail",
                    metadata: [
                        "wal.file": "\(last.path)", "wal.offset": "\(last.validBytes)",
                        "wal.bytes": "\(last.fileBytes - last.validBytes)", "wal.reason": "\(problem)",
                    ])
            }
            segment = try SegmentFile(
                path: last.path, validBytes: last.validBytes, preallocatedBytes: last.preallocatedBytes, step: configuration.preallocationStep)
        } else {
            segment = try SegmentFile(create: configuration.directory, firstLSN: nextLSN, step: configuration.preallocationStep)
            segments.append(nextLSN)
        }
        let commit = GroupCommit(
            policy: configuration.fsync, segmentBytes: configuration.segmentBytes, nextLSN: nextLSN, segmentSize: segment.size, now: .now)
        let log = WriteAheadLog(configuration: configuration, commit: commit, segments: segments, logger: logger)
        let initial = segment
        Thread.detachNewThread { [log] in
            // Named for the tools that read threads' CPU from /proc (`chorus bench fanout`, perf, top -H).
            Thread.current.name = WriteAheadLog.writerThreadName
            var segment = initial
            log.runWriter(&segment)
        }
        return log
    }

    /// The writer thread's name (at most 15 bytes, the kernel's limit).
    public static let writerThreadName = "chorus-wal"

    /// In a struct, not as a bare optional closure: reading a closure that is a `Mutex`'s value
    /// through `withLock` wraps the stored one in two more reabstraction thunks each time (Swift
    /// 6.3), so every sync got slower than the one before (``ClosureSlot``).
    private let syncObserver = Mutex<ClosureSlot<@Sendable (Duration, UInt64) -> Void>?>(nil)

    private init(configuration: Configuration, commit: GroupCommit, segments: [UInt64], logger: Logger) {
        self.configuration = configuration
        self.state = Mutex(State(commit: commit, segments: segments))
        self.logger = logger
    }

    // MARK: Appending

    /// Queues `frame` and returns its LSN; never blocks on I/O. Throws if the log has failed or is closed.
    public func append(_ frame: WALFrame) throws(WALError) -> UInt64 {
        var bytes: [UInt8] = []
        frame.encode(into: &bytes)
        let lsn = try state.withLock { state throws(WALError) -> UInt64 in try state.commit.append(bytes) }
        wake.signal()
        return lsn
    }

    /// Returns once the record `lsn` is acknowledged under the fsync policy.
    public func waitDurable(_ lsn: UInt64) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome: Result<Bool, WALError> = state.withLock { state in
                if state.commit.acknowledgedLSN >= lsn { return .success(true) }
                if let failure = state.commit.failure { return .failure(failure) }
                state.waiters.append((lsn, continuation))
                return .success(false)
            }
            switch outcome {
            case .success(true): continuation.resume()
            case .success(false): break
            case .failure(let error): continuation.resume(throwing: error)
            }
        }
    }

    /// The LSN the next record gets.
    public var nextLSN: UInt64 { state.withLock { $0.commit.nextLSN } }

    /// How many syncs the writer has issued (for benchmarks and tests).
    public var syncCount: Int { state.withLock { $0.commit.syncs } }

    /// Tells `observer` of every sync the writer makes: how long the `fdatasync` took and how many
    /// records it made durable (one group commit). Called on the writer's thread: keep it short.
    public func observeSyncs(_ observer: @escaping @Sendable (_ duration: Duration, _ records: UInt64) -> Void) {
        syncObserver.withLock { $0 = ClosureSlot(observer) }
    }

    // MARK: Segments

    /// Deletes the segments whose records all have LSNs below `lsn` (a checkpoint covers them).
    /// The segment being written is never deleted. Returns the deleted paths.
    @discardableResult
    public func removeSegments(coveredBelow lsn: UInt64) -> [String] {
        let doomed: [UInt64] = state.withLock { state in
            var doomed: [UInt64] = []
            while state.segments.count > 1 && state.segments[1] <= lsn {
                doomed.append(state.segments.removeFirst())
            }
            return doomed
        }
        let paths = doomed.map { configuration.directory + "/" + WALSegments.fileName(firstLSN: $0) }
        for path in paths { unlink(path) }
        return paths
    }

    /// The segment files' first LSNs, oldest first.
    public var segmentFirstLSNs: [UInt64] { state.withLock { $0.segments } }

    /// Writes and syncs everything queued, stops the writer, and fails later appends with `.closed`.
    public func close() {
        let alreadyClosing = state.withLock { state in
            defer { state.commit.close() }
            return state.commit.closing
        }
        guard !alreadyClosing else { return }
        wake.signal()
        finished.wait()
    }

    // MARK: Writer thread

    private func runWriter(_ segment: inout SegmentFile) {
        // The last record written, and the last one synced: a sync makes the ones between durable.
        var (written, synced) = (state.withLock { $0.commit.nextLSN } - 1, state.withLock { $0.commit.nextLSN } - 1)
        while true {
            let (sleep, closing) = state.withLock { ($0.commit.sleep(now: .now), $0.commit.closing) }
            if !closing {
                if let sleep {
                    // Under `interval`: wake for the sync that unsynced bytes are due.
                    let (seconds, attoseconds) = sleep.components
                    _ = wake.wait(timeout: .now() + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)))
                } else {
                    wake.wait()
                }
            }
            let plan = state.withLock { $0.commit.plan(now: .now) }
            do {
                if let firstLSN = plan.newSegment {
                    try segment.sync()
                    segment.close()
                    segment = try SegmentFile(create: configuration.directory, firstLSN: firstLSN, step: configuration.preallocationStep)
                    state.withLock { $0.segments.append(firstLSN) }
                }
                if !plan.bytes.isEmpty { try segment.write(plan.bytes) }
                written = plan.lastLSN ?? written
                if plan.sync {
                    let started = ContinuousClock.now
                    try segment.sync()
                    if let observer = syncObserver.withLock({ $0 }) { observer.closure(.now - started, written - synced) }
                    synced = written
                }
            } catch {
                let failure = (error as? WALError) ?? WALError(.io, "\(error)", file: segment.path)
                logger.critical("WAL write failed; refusing further writes", metadata: ["error": "\(failure)"])
                fail(failure)
                segment.close()
                finished.signal()
                return
            }
            acknowledge(plan)
            if plan.finish {
                segment.close()
                fail(WALError(.closed, "the log is closed"))
                finished.signal()
                return
            }
        }
    }

    private func acknowledge(_ plan: GroupCommit.Plan) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            guard let lsn = state.commit.done(plan) else { return [] }
            var ready: [CheckedContinuation<Void, any Error>] = []
            state.waiters.removeAll { waiter in
                guard waiter.lsn <= lsn else { return false }
                ready.append(waiter.continuation)
                return true
            }
            return ready
        }
        for continuation in ready { continuation.resume() }
    }

    private func fail(_ failure: WALError) {
        let waiters = state.withLock { state in
            state.commit.fail(failure)
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.continuation.resume(throwing: failure) }
    }
}

/// One open segment file, written by the writer thread only.
///
/// **Allocated ahead.** A segment grows in steps of zeros (``step``, 1 MiB or the segment size if
/// smaller), and records overwrite those zeros. Appending to the end of a file changes its size,
/// so every `fdatasync` after an append also wrote the file's inode; into space already written,
/// it flushes the data alone. Measured on this machine's disk: a node's syncs took ~20% less time,
/// a bare write-and-sync loop ~40% less (docs/benchmarks.md, "Write-ahead log"). The scan reads
/// the zeros after a segment's last frame as unused space
/// (``WALSegments/SegmentReport/preallocatedBytes``), never as records.
struct SegmentFile: Sendable {
    let path: String
    private(set) var descriptor: Int32
    /// Where the next frame goes: the bytes of frames in the segment.
    private(set) var size: Int
    /// The file's length: `size` plus zeros written ahead.
    private(set) var allocated: Int
    /// How far the file grows at a time.
    let step: Int

    /// Creates a new, empty segment, makes its directory entry durable and writes its first step of zeros.
    init(create directory: String, firstLSN: UInt64, step: Int) throws {
        path = directory + "/" + WALSegments.fileName(firstLSN: firstLSN)
        descriptor = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw WALError(.io, "cannot create segment: \(String(cString: strerror(errno)))", file: path) }
        (size, allocated, self.step) = (0, 0, max(1, step))
        try Self.syncDirectory(directory)
        try allocate(atLeast: 1)
    }

    /// Opens an existing segment to write after its `validBytes` of frames: the zeros after them
    /// are kept, and a torn tail (any other bytes) is cut off.
    init(path: String, validBytes: Int, preallocatedBytes: Int, step: Int) throws {
        self.path = path
        self.step = max(1, step)
        descriptor = Glibc.open(path, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw WALError(.io, "cannot open segment: \(String(cString: strerror(errno)))", file: path) }
        size = validBytes
        allocated = validBytes + preallocatedBytes
        if preallocatedBytes == 0 {
            guard ftruncate(descriptor, off_t(validBytes)) == 0, fdatasync(descriptor) == 0 else {
                throw WALError(.io, "cannot truncate segment: \(String(cString: strerror(errno)))", file: path, offset: validBytes)
            }
        }
    }

    mutating func write(_ bytes: [UInt8]) throws {
        if size + bytes.count > allocated { try allocate(atLeast: size + bytes.count) }
        do {
            try SegmentFileHandle(descriptor: descriptor, path: path).write(bytes, at: size)
        } catch var error as WALError {
            error.offset = size + (error.offset ?? 0)
            throw error
        }
        size += bytes.count
    }

    /// Extends the file with zeros to the next multiple of `step` at or above `length` (durable
    /// with the next sync, which then writes the inode once for the whole step).
    private mutating func allocate(atLeast length: Int) throws {
        let target = (length + step - 1) / step * step
        let zeros = [UInt8](repeating: 0, count: target - allocated)
        do {
            try SegmentFileHandle(descriptor: descriptor, path: path).write(zeros, at: allocated)
        } catch var error as WALError {
            error.offset = allocated + (error.offset ?? 0)
            throw error
        }
        allocated = target
    }

    func sync() throws {
        guard fdatasync(descriptor) == 0 else {
            throw WALError(.io, "fdatasync failed: \(String(cString: strerror(errno)))", file: path)
        }
    }

    mutating func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    static func syncDirectory(_ directory: String) throws {
        let fd = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw WALError(.io, "cannot open directory: \(String(cString: strerror(errno)))", file: directory) }
        defer { Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw WALError(.io, "cannot sync directory: \(String(cString: strerror(errno)))", file: directory) }
    }
}

/// A plain file descriptor written in full at an offset (EINTR and short writes handled).
struct SegmentFileHandle {
    var descriptor: Int32
    let path: String

    func write(_ bytes: [UInt8], at offset: Int) throws {
        var written = 0
        try bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let result = pwrite(descriptor, buffer.baseAddress! + written, buffer.count - written, off_t(offset + written))
                if result < 0 {
                    if errno == EINTR { continue }
                    throw WALError(.io, "write failed: \(String(cString: strerror(errno)))", file: path, offset: written)
                }
                written += result
            }
        }
    }
}
