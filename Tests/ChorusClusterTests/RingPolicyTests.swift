import ChorusCluster
import Testing

/// The metadata leader's rule for ring changes after failures and recoveries.
@Suite("Ring policy")
struct RingPolicyTests {
    let configured = ["a", "b", "c"]

    func ring(_ nodes: [String], epoch: UInt64) -> RingDescription {
        RingDescription(HashRing(nodes: nodes, virtualNodes: 8, epoch: epoch))
    }

    @Test("a down node leaves the ring in the next epoch; one at a time; never the last")
    func down() {
        let all = ring(configured, epoch: 4)
        let proposal = RingPolicy.proposal(ring: all, configured: configured, statuses: ["b": .down, "c": .down], replicationFactor: 3)
        #expect(proposal == .ring(ring(["a", "c"], epoch: 5), reason: "down(b)"))
        #expect(RingPolicy.proposal(ring: all, configured: configured, statuses: ["b": .suspect, "c": .up], replicationFactor: 3) == nil)
        #expect(RingPolicy.proposal(ring: ring(["c"], epoch: 9), configured: configured, statuses: ["c": .down], replicationFactor: 3) == nil)
    }

    @Test("a node that is up again comes back onto the ring")
    func up() {
        let proposal = RingPolicy.proposal(ring: ring(["a", "c"], epoch: 5), configured: configured, statuses: ["b": .up, "c": .up], replicationFactor: 3)
        #expect(proposal == .ring(ring(configured, epoch: 6), reason: "up(b)"))
        #expect(RingPolicy.proposal(ring: ring(["a", "c"], epoch: 5), configured: configured, statuses: ["b": .suspect], replicationFactor: 3) == nil)
    }

    @Test("without replication nothing moves: a down node's keys wait for it")
    func noReplication() {
        #expect(RingPolicy.proposal(ring: ring(configured, epoch: 1), configured: configured, statuses: ["b": .down], replicationFactor: 1) == nil)
    }
}
