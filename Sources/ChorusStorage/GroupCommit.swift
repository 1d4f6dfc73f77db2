/// WAL group commit as a pure state machine: appends and finished I/O in, what to write, sync
/// and acknowledge out. It does no I/O and reads no clock; ``WriteAheadLog`` is its shell.
///
/// Appends queue framed bytes and get consecutive LSNs. The writer asks for a ``Plan`` (every
/// byte queued since the last one, whether to start a new segment first, whether to sync
/// after), carries it out, and reports it done; only then are its records acknowledged, so a
/// record is never acknowledged before its bytes are written, and under `always` never before
/// they are synced. Many appends share one plan, and so one `write` and one `fdatasync`.
public struct GroupCommit: Sendable {
    /// What the writer does next, in this order.
    public struct Plan: Equatable, Sendable {
        /// Sync and close the current segment, then start one whose first record is this LSN.
        public var newSegment: UInt64?
        /// The frames to write (possibly empty).
        public var bytes: [UInt8]
        /// The LSN of the last record in `bytes`, if any.
        public var lastLSN: UInt64?
        /// `fdatasync` the segment after writing.
        public var sync: Bool
        /// The log is closing and everything queued is written and synced: stop afterwards.
        public var finish: Bool

        public init(newSegment: UInt64?, bytes: [UInt8], lastLSN: UInt64?, sync: Bool, finish: Bool) {
            self.newSegment = newSegment
            self.bytes = bytes
            self.lastLSN = lastLSN
            self.sync = sync
            self.finish = finish
        }
    }

    public let policy: FsyncPolicy
    public let segmentBytes: Int

    public private(set) var nextLSN: UInt64
    /// Every record up to this LSN is acknowledged.
    public private(set) var acknowledgedLSN: UInt64
    /// The first error of the writer; every later append fails with it.
    public private(set) var failure: WALError?
    public private(set) var closing = false
    /// `fdatasync` calls planned so far (for benchmarks and tests).
    public private(set) var syncs = 0

    private var pending: [UInt8] = []
    private var pendingFirstLSN: UInt64 = 0
    private var pendingLastLSN: UInt64 = 0
    /// Bytes in the segment being written (as of the plans handed out).
    private var segmentSize: Int
    /// Bytes written since the last sync.
    private var unsynced = false
    private var lastSync: ContinuousClock.Instant

    /// A log whose next record gets `nextLSN`, continuing a segment that holds `segmentSize`
    /// bytes, all of them synced as of `now`.
    public init(policy: FsyncPolicy, segmentBytes: Int, nextLSN: UInt64, segmentSize: Int, now: ContinuousClock.Instant) {
        self.policy = policy
        self.segmentBytes = segmentBytes
        self.nextLSN = nextLSN
        self.acknowledgedLSN = nextLSN - 1
        self.segmentSize = segmentSize
        self.lastSync = now
    }

    /// Queues one framed record; returns its LSN. Fails once the log has failed or is closing.
    public mutating func append(_ bytes: [UInt8]) throws(WALError) -> UInt64 {
        if let failure { throw failure }
        if closing { throw WALError(.closed, "the log is closed") }
        let lsn = nextLSN
        nextLSN += 1
        if pending.isEmpty { pendingFirstLSN = lsn }
        pending.append(contentsOf: bytes)
        pendingLastLSN = lsn
        return lsn
    }

    /// No more appends; the writer writes and syncs what is queued, then finishes.
    public mutating func close() {
        closing = true
    }

    /// How long the writer may sleep when nobody wakes it: `nil` for until an append or close
    /// wakes it; under `interval`, until the unsynced bytes are due for their sync.
    public func sleep(now: ContinuousClock.Instant) -> Duration? {
        guard case .interval(let ms) = policy, unsynced else { return nil }
        return max(.zero, lastSync + .milliseconds(ms) - now)
    }

    /// The writer woke at `now`: takes everything queued and says what to do with it.
    public mutating func plan(now: ContinuousClock.Instant) -> Plan {
        let bytes = pending
        pending = []
        pending.reserveCapacity(64 << 10)
        var plan = Plan(newSegment: nil, bytes: bytes, lastLSN: nil, sync: false, finish: false)
        if !bytes.isEmpty {
            if segmentSize >= segmentBytes {
                plan.newSegment = pendingFirstLSN
                segmentSize = 0
            }
            plan.lastLSN = pendingLastLSN
            segmentSize += bytes.count
            unsynced = true
        }
        plan.sync =
            switch policy {
            case .always: unsynced
            case .interval(let ms): unsynced && (closing || now - lastSync >= .milliseconds(ms))
            case .none: unsynced && closing
            }
        if plan.sync {
            unsynced = false
            lastSync = now
            syncs += 1
        }
        plan.finish = closing && bytes.isEmpty
        return plan
    }

    /// The writer carried `plan` out; returns the LSN acknowledged now, if it moved.
    public mutating func done(_ plan: Plan) -> UInt64? {
        guard failure == nil, let last = plan.lastLSN else { return nil }
        acknowledgedLSN = last
        return last
    }

    /// A write or sync failed: nothing more is acknowledged and every later append fails.
    public mutating func fail(_ error: WALError) {
        if failure == nil { failure = error }
    }
}
