import ChorusCluster
import ChorusTestSupport
import Foundation
import Testing

/// Per-key replication (``KeyReplica``) under the deterministic simulator: many seeds, each one key
/// replicated on 3 or 5 nodes, with terms started by a metadata service (often while the old
/// primary is alive and unaware), message delays, loss, duplication, partitions (often of the
/// primary), crashes that lose what was not yet durable, restarts from disk, compaction, and a
/// client's proposals.
///
/// The seeds are the cluster simulation's (`ClusterSimulationTests.seeds`), so one variable drives
/// every suite: `CHORUS_SIM_SEEDS=100000` runs more seeds; `CHORUS_SIM_SEED=N` replays one.
@Suite("Replication simulation")
struct ReplicationSimulationTests {
    /// Runs `configuration` (with `adjust` per seed) over `seeds`; records the first violation with
    /// how to replay it. Returns the runs' results, or nil after a violation.
    static func runAll(
        _ seeds: [UInt64], suite: String, adjust: (UInt64, inout ReplicationSimulator.Configuration) -> Void
    ) async -> [ReplicationSimulator.Result]? {
        var results: [ReplicationSimulator.Result] = []
        for seed in seeds {
            var configuration = ReplicationSimulator.Configuration()
            adjust(seed, &configuration)
            let result = await offThePool { [configuration] in ReplicationSimulator.run(seed: seed, configuration: configuration) }
            if let violation = result.violations.first {
                let replay = "CHORUS_SIM_SEED=\(seed) swift test --filter ReplicationSimulationTests"
                Issue.record("seed \(seed) (\(suite), \(configuration.nodes) nodes, retain \(configuration.retain)): \(violation)\nreplay: \(replay)")
                return nil
            }
            results.append(result)
        }
        return results
    }

    /// Every fourth seed compacts eagerly and keeps 2 records, so lagging backups get snapshots.
    static func compactingSometimes(_ seed: UInt64, _ configuration: inout ReplicationSimulator.Configuration) {
        if seed % 4 == 0 {
            configuration.retain = 2
            configuration.compact = 0.3
        }
    }

    @Test("3 nodes: every seed loses no acknowledged record, keeps one history and one primary per term, and commits once healed")
    func threeNodes() async {
        let seeds = ClusterSimulationTests.seeds
        guard let results = await Self.runAll(seeds, suite: "3 nodes", adjust: { Self.compactingSometimes($0, &$1) }) else { return }
        // The runs did what they claim to (not a vacuous pass): primaries changed, often with the old
        // one still up and deposed later; records were acknowledged; snapshots were sent and some
        // replaced a longer log (a deposed primary's suffix); new primaries fetched a better log;
        // nodes crashed and compacted; lineages let backups and recovering primaries of older terms
        // take records after their logs. (1,000 seeds give about 21,600 terms, 11,600 served,
        // 18,300 deposed primaries, 107,500 acknowledged records, 5,300 crashes, 2,300 isolated
        // primaries, 4,800 snapshots (10,600 before lineages), 360 truncated logs, 2,100 fetches,
        // 86,000 compactions, 17,100 appends and 510 fetched suffixes after a log of an older term.
        // CHORUS_SIM_TOTALS=1 prints them.)
        if seeds.count >= 100 {
            let count = seeds.count
            #expect(results.map(\.terms).reduce(0, +) > count * 10)
            #expect(results.map(\.served).reduce(0, +) > count * 5)
            #expect(results.map(\.deposed).reduce(0, +) > count * 8)
            #expect(results.map(\.acknowledged).reduce(0, +) > count * 50)
            #expect(results.map(\.crashes).reduce(0, +) > count * 2)
            #expect(results.map(\.primaryIsolations).reduce(0, +) > count)
            #expect(results.map(\.snapshotsSent).reduce(0, +) > count * 2)
            #expect(results.map(\.truncations).reduce(0, +) > count / 10)
            #expect(results.map(\.fetches).reduce(0, +) > count)
            #expect(results.map(\.compactions).reduce(0, +) > count * 40)
            #expect(results.map(\.crossTermAppends).reduce(0, +) > count * 8)
            #expect(results.map(\.crossTermSuffixes).reduce(0, +) > count / 4)
            if ProcessInfo.processInfo.environment["CHORUS_SIM_TOTALS"] != nil {
                let totals: [(String, KeyPath<ReplicationSimulator.Result, Int>)] = [
                    ("terms", \.terms), ("served", \.served), ("deposed", \.deposed), ("acknowledged", \.acknowledged),
                    ("crashes", \.crashes), ("isolations", \.primaryIsolations), ("snapshots", \.snapshotsSent),
                    ("truncations", \.truncations), ("fetches", \.fetches), ("compactions", \.compactions),
                    ("crossTermAppends", \.crossTermAppends), ("crossTermSuffixes", \.crossTermSuffixes),
                ]
                print(totals.map { name, path in "\(name) \(results.map { $0[keyPath: path] }.reduce(0, +))" }.joined(separator: ", "))
            }
        }
    }

    @Test("5 nodes: the same invariants over the first 200 seeds")
    func fiveNodes() async {
        let seeds = Array(ClusterSimulationTests.seeds.prefix(200))
        let results = await Self.runAll(seeds, suite: "5 nodes") { seed, configuration in
            configuration.nodes = 5
            Self.compactingSometimes(seed, &configuration)
        }
        guard let results, seeds.count >= 100 else { return }
        // (200 seeds give about 2,900 terms and 23,000 acknowledged records.)
        #expect(results.map(\.terms).reduce(0, +) > seeds.count * 6)
        #expect(results.map(\.acknowledged).reduce(0, +) > seeds.count * 50)
    }

    @Test("the same seed gives the same run; another seed another")
    func deterministic() {
        let a = ReplicationSimulator.run(seed: 42)
        let b = ReplicationSimulator.run(seed: 42)
        let c = ReplicationSimulator.run(seed: 43)
        #expect(a.traceHash == b.traceHash)
        #expect(a.delivered == b.delivered && a.acknowledged == b.acknowledged && a.terms == b.terms)
        #expect(a.traceHash != c.traceHash)
        #expect(a.violations.isEmpty, "\(a.violations)")
        #expect(a.delivered > 300 && a.acknowledged > 20)
    }

    /// Crash-heavy runs with slow disks: nodes crash about seven times as often and restart within
    /// half a second, and a write takes up to 60 ms, so crashes often lose records not yet durable.
    static var crashy: ReplicationSimulator.Configuration {
        var configuration = ReplicationSimulator.Configuration()
        configuration.crash = 0.02
        configuration.minRestart = 10
        configuration.maxRestart = 500
        configuration.maxDisk = 60
        return configuration
    }

    /// Failover-heavy runs: the primary is isolated more often and the client keeps proposing to
    /// whichever node served last (and often to any node), so deposed primaries grow suffixes that
    /// no majority has and rejoin with them.
    static var failoverHeavy: ReplicationSimulator.Configuration {
        var configuration = ReplicationSimulator.Configuration()
        configuration.partition = 0.03
        configuration.propose = 0.4
        configuration.stray = 0.3
        configuration.newTerm = 0.02
        return configuration
    }

    @Test("with correct replicas, the crash-heavy and the failover-heavy runs keep every invariant")
    func heavyRunsHold() async {
        let seeds = Array(UInt64(1)...200)
        let crashy = Self.crashy
        guard let crashed = await Self.runAll(seeds, suite: "crashy", adjust: { _, configuration in configuration = crashy }) else { return }
        #expect(crashed.map(\.crashes).reduce(0, +) > seeds.count * 10)  // about 6,800
        let heavy = Self.failoverHeavy
        guard let failovers = await Self.runAll(seeds, suite: "failover-heavy", adjust: { _, configuration in configuration = heavy }) else { return }
        #expect(failovers.map(\.truncations).reduce(0, +) > seeds.count / 10)  // about 150
    }

    /// The first violation among the first `seeds` seeds of `configuration` with `bug`.
    static func firstViolation(
        of bug: ReplicationSimulator.Bug, in configuration: ReplicationSimulator.Configuration, seeds: UInt64
    ) async -> ReplicationSimulator.Violation? {
        var configuration = configuration
        configuration.bug = bug
        for seed in 1...seeds {
            let result = await offThePool { [configuration] in ReplicationSimulator.run(seed: seed, configuration: configuration) }
            if let violation = result.violations.first { return violation }
        }
        return nil
    }

    static let safety = ["no acknowledged record lost", "one history", "acknowledged records conflict", "committed prefix", "durability"]

    static func isSafety(_ violation: ReplicationSimulator.Violation?) -> Bool {
        safety.contains { violation?.message.hasPrefix($0) == true }
    }

    @Test("the checks fire: a primary that serves without a majority's logs loses acknowledged records")
    func skipRecoveryIsCaught() async {
        let found = await Self.firstViolation(of: .skipRecovery, in: ReplicationSimulator.Configuration(), seeds: 100)
        #expect(Self.isSafety(found), "\(String(describing: found))")
    }

    @Test("the checks fire: backups that acknowledge before their records are durable lose them in a crash")
    func ackBeforeDurableIsCaught() async {
        let found = await Self.firstViolation(of: .ackBeforeDurable, in: Self.crashy, seeds: 100)
        #expect(Self.isSafety(found), "\(String(describing: found))")
    }

    @Test("the checks fire: appending on top of a longer log of the adopted term keeps records the new primary did not adopt")
    func appendOverLongerSuffixIsCaught() async {
        let found = await Self.firstViolation(of: .appendOverLongerSuffix, in: Self.failoverHeavy, seeds: 200)
        #expect(Self.isSafety(found), "\(String(describing: found))")
    }
}
