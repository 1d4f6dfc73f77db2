import ChorusStorage
import Testing

/// The group-commit decisions, without files, threads or sleeps: a manual instant stands in
/// for the clock.
@Suite("Group commit")
struct GroupCommitTests {
    let start = ContinuousClock.now

    func commit(_ policy: FsyncPolicy, segmentBytes: Int = 1000, nextLSN: UInt64 = 1, segmentSize: Int = 0) -> GroupCommit {
        GroupCommit(policy: policy, segmentBytes: segmentBytes, nextLSN: nextLSN, segmentSize: segmentSize, now: start)
    }

    @Test("always: every plan with records syncs, and its records are acknowledged only when it is done")
    func always() throws {
        var commit = commit(.always, nextLSN: 7)
        #expect(try commit.append([1, 2]) == 7)
        #expect(try commit.append([3]) == 8)
        #expect(commit.acknowledgedLSN == 6)
        let plan = commit.plan(now: start)
        #expect(plan == GroupCommit.Plan(newSegment: nil, bytes: [1, 2, 3], lastLSN: 8, sync: true, finish: false))
        #expect(commit.acknowledgedLSN == 6, "not before the writer reports the plan done")
        #expect(commit.done(plan) == 8)
        #expect(commit.acknowledgedLSN == 8)
        #expect(commit.syncs == 1)
        // Nothing queued: nothing to write, no sync, nothing acknowledged; the writer sleeps until woken.
        let idle = commit.plan(now: start)
        #expect(idle.bytes.isEmpty && !idle.sync && idle.lastLSN == nil)
        #expect(commit.done(idle) == nil)
        #expect(commit.sleep(now: start) == nil)
    }

    @Test("interval: writes are acknowledged at once and synced once the interval has passed, also when idle")
    func interval() throws {
        var commit = commit(.interval(milliseconds: 10))
        _ = try commit.append([1])
        let first = commit.plan(now: start + .milliseconds(3))
        #expect(!first.sync && first.lastLSN == 1)
        #expect(commit.done(first) == 1)
        // Unsynced bytes: the writer may sleep only until the sync is due (10 ms after the last sync).
        #expect(commit.sleep(now: start + .milliseconds(3)) == .milliseconds(7))
        #expect(commit.sleep(now: start + .milliseconds(12)) == .zero)
        let due = commit.plan(now: start + .milliseconds(12))
        #expect(due.bytes.isEmpty && due.sync)
        #expect(commit.sleep(now: start + .milliseconds(12)) == nil)
        _ = try commit.append([2])
        #expect(!commit.plan(now: start + .milliseconds(15)).sync)
        #expect(commit.plan(now: start + .milliseconds(22)).sync)
        #expect(commit.syncs == 2)
    }

    @Test("none: never syncs until the log closes; closing writes, syncs and then finishes")
    func noneAndClose() throws {
        var commit = commit(.none)
        _ = try commit.append([1])
        let plan = commit.plan(now: start + .seconds(3600))
        #expect(!plan.sync && !plan.finish)
        #expect(commit.done(plan) == 1)
        _ = try commit.append([2])
        commit.close()
        #expect(throws: WALError.self) { try commit.append([3]) }
        let last = commit.plan(now: start)
        #expect(last.bytes == [2] && last.sync && !last.finish)
        #expect(commit.done(last) == 2)
        let finish = commit.plan(now: start)
        #expect(finish.finish && finish.bytes.isEmpty && !finish.sync)
    }

    @Test("a full segment is closed before the next batch, which starts the new segment at its first LSN")
    func segmentRoll() throws {
        var commit = commit(.always, segmentBytes: 10, segmentSize: 8)
        _ = try commit.append(Array(repeating: 0, count: 4))
        let a = commit.plan(now: start)
        #expect(a.newSegment == nil, "8 < 10: the batch still goes into the current segment")
        _ = try commit.append([1])
        _ = try commit.append([2])
        let b = commit.plan(now: start)
        #expect(b.newSegment == 2 && b.bytes == [1, 2] && b.lastLSN == 3)
        _ = try commit.append(Array(repeating: 3, count: 8))
        #expect(commit.plan(now: start).newSegment == nil, "the new segment holds 2 bytes")
        _ = try commit.append([4])
        #expect(commit.plan(now: start).newSegment == 5)
    }

    @Test("after a failure nothing more is acknowledged and every append fails with the first error")
    func failure() throws {
        var commit = commit(.always)
        _ = try commit.append([1])
        let plan = commit.plan(now: start)
        commit.fail(WALError(.io, "disk full"))
        commit.fail(WALError(.io, "second"))
        #expect(commit.done(plan) == nil)
        #expect(commit.acknowledgedLSN == 0)
        #expect(throws: WALError(.io, "disk full")) { try commit.append([2]) }
    }
}
