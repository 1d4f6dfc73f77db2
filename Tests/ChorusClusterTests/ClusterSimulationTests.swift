import ChorusCluster
import ChorusTestSupport
import Foundation
import Testing

/// The membership protocol under the deterministic simulator: many seeds, each a whole cluster
/// run with loss, duplication, delays, partitions, crashes and ring changes.
///
/// `CHORUS_SIM_SEEDS=100000` runs more seeds; `CHORUS_SIM_SEED=N` replays one.
@Suite("Cluster simulation")
struct ClusterSimulationTests {
    static var seeds: [UInt64] {
        let environment = ProcessInfo.processInfo.environment
        if let one = environment["CHORUS_SIM_SEED"].flatMap(UInt64.init) { return [one] }
        let count = environment["CHORUS_SIM_SEEDS"].flatMap(Int.init) ?? 1_000
        return (0..<UInt64(count)).map { $0 &* 0x9E37_79B9 &+ 1 }
    }

    @Test("every seed keeps the invariants and converges on the newest ring")
    func manySeeds() async {
        var ringChanges = 0
        var crashes = 0
        for seed in Self.seeds {
            var configuration = ClusterSimulator.Configuration()
            configuration.nodes = 3 + Int(seed % 3)  // 3, 4 or 5 nodes
            let result = await offThePool { [configuration] in ClusterSimulator.run(seed: seed, configuration: configuration) }
            ringChanges += result.ringChanges
            crashes += result.crashes
            if let violation = result.violations.first {
                Issue.record("seed \(seed): \(violation)\nreplay: CHORUS_SIM_SEED=\(seed) swift test --filter ClusterSimulationTests")
                return
            }
        }
        // The runs did inject what they claim to (not a vacuous pass).
        if Self.seeds.count >= 100 {
            #expect(ringChanges > Self.seeds.count / 2)
            #expect(crashes > Self.seeds.count / 4)
        }
    }

    @Test("the same seed gives the same run; another seed another")
    func deterministic() {
        let a = ClusterSimulator.run(seed: 42)
        let b = ClusterSimulator.run(seed: 42)
        let c = ClusterSimulator.run(seed: 43)
        #expect(a.traceHash == b.traceHash)
        #expect(a.delivered == b.delivered && a.dropped == b.dropped && a.ringChanges == b.ringChanges)
        #expect(a.traceHash != c.traceHash)
        #expect(a.delivered > 500, "the run carries traffic (one heartbeat round trip a pair and round: 810 deliveries with seed 42)")
    }

    @Test("the checks fire: proposing ring changes from stale rings gives two rings one epoch")
    func staleProposalsAreCaught() {
        var configuration = ClusterSimulator.Configuration()
        configuration.staleProposals = true
        configuration.ringChange = 0.05
        configuration.partition = 0.05
        let found = (1...200).lazy.compactMap { seed -> ClusterSimulator.Violation? in
            ClusterSimulator.run(seed: UInt64(seed), configuration: configuration).violations.first
        }.first
        #expect(found?.message.contains("two rings have epoch") == true, "\(String(describing: found))")
    }
}
