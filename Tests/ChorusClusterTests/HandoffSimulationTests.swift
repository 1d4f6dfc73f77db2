import ChorusCluster
import Foundation
import Testing

/// Hand-off and storage under the deterministic simulator: many seeds, each a whole cluster run
/// with writes, group commits, ring changes, message delays, loss and duplication, and crashes.
///
/// The seeds are the cluster simulation's (`ClusterSimulationTests.seeds`), so one variable drives
/// both suites: `CHORUS_SIM_SEEDS=100000` runs more seeds; `CHORUS_SIM_SEED=N` replays one.
@Suite("Hand-off simulation")
struct HandoffSimulationTests {
    @Test("every seed keeps every acknowledged record through hand-offs and crashes")
    func manySeeds() async {
        let seeds = ClusterSimulationTests.seeds
        var acknowledged = 0
        var ringChanges = 0
        var aborted = 0
        var crashes = 0
        var recordsSent = 0
        for seed in seeds {
            var configuration = HandoffSimulator.Configuration()
            configuration.nodes = 3 + Int(seed % 3)  // 3, 4 or 5 nodes
            let result = HandoffSimulator.run(seed: seed, configuration: configuration)
            // Each run is synchronous CPU work: let the other tests' tasks have this thread between runs.
            await Task.yield()
            acknowledged += result.acknowledged
            ringChanges += result.ringChanges
            aborted += result.aborted
            crashes += result.crashes
            recordsSent += result.recordsSent
            if let violation = result.violations.first {
                Issue.record("seed \(seed): \(violation)\nreplay: CHORUS_SIM_SEED=\(seed) swift test --filter HandoffSimulationTests")
                return
            }
        }
        // The runs did what they claim to (not a vacuous pass): writes were acknowledged, ring
        // changes were adopted and aborted, hand-offs carried records, and nodes crashed.
        if seeds.count >= 100 {
            #expect(acknowledged > seeds.count * 100)
            #expect(ringChanges > seeds.count / 2)
            #expect(aborted > seeds.count / 20)
            #expect(recordsSent > seeds.count * 10)
            #expect(crashes > seeds.count / 2)
        }
    }

    @Test("the same seed gives the same run; another seed another")
    func deterministic() {
        let a = HandoffSimulator.run(seed: 42)
        let b = HandoffSimulator.run(seed: 42)
        let c = HandoffSimulator.run(seed: 43)
        #expect(a.traceHash == b.traceHash)
        #expect(a.acknowledged == b.acknowledged && a.ringChanges == b.ringChanges && a.crashes == b.crashes)
        #expect(a.traceHash != c.traceHash)
        #expect(a.acknowledged > 100)
    }

    @Test("the checks fire for an injected bug", arguments: [HandoffSimulator.Bug.ackBeforeDurable, .skipDrain])
    func bugsAreCaught(bug: HandoffSimulator.Bug) {
        var configuration = HandoffSimulator.Configuration()
        configuration.bug = bug
        // Busier runs with slower commits, so a write is more often not durable as a hand-off starts.
        configuration.write = 1
        configuration.commitDelay = 100
        configuration.ringChange = 0.05
        let found = (1...200).lazy.compactMap { seed -> HandoffSimulator.Violation? in
            HandoffSimulator.run(seed: UInt64(seed), configuration: configuration).violations.first
        }.first
        let caught = ["the hand-off lost it", "cannot be read back", "at once"].contains { found?.message.contains($0) == true }
        #expect(caught, "\(String(describing: found))")
    }
}
