import ChorusCluster
import Testing

/// The metadata leader's rule for ring changes after failures and recoveries.
@Suite("Ring policy")
struct RingPolicyTests {
    let configured = ["a", "b", "c"]

    func ring(_ nodes: [String], epoch: UInt64) -> RingDescription {
        RingDescription(HashRing(nodes: nodes, virtualNodes: 8, epoch: epoch))
    }

    @Test("a down node leaves the ring in the next epoch; one at a time; the ring keeps a majority of the configured nodes")
    func down() {
        let all = ring(configured, epoch: 4)
        let proposal = RingPolicy.proposal(ring: all, statuses: ["b": .down, "c": .down], replicationFactor: 3, configured: 3)
        #expect(proposal == .ring(ring(["a", "c"], epoch: 5), reason: "down(b)"))
        #expect(RingPolicy.proposal(ring: all, statuses: ["b": .suspect, "c": .up], replicationFactor: 3, configured: 3) == nil)
        #expect(RingPolicy.proposal(ring: ring(["c"], epoch: 9), statuses: ["c": .down], replicationFactor: 3, configured: 3) == nil)
        // Two of three left: a second failure (or false alarm) does not shrink the ring to one node.
        #expect(RingPolicy.proposal(ring: ring(["a", "c"], epoch: 5), statuses: ["c": .down], replicationFactor: 3, configured: 3) == nil)
        // Five configured, four on the ring: one more may go (three is still a majority), then no more.
        let five = ["a", "b", "c", "d", "e"]
        let four = ring(Array(five.dropLast()), epoch: 6)
        #expect(RingPolicy.proposal(ring: four, statuses: ["d": .down], replicationFactor: 3, configured: 5) == .ring(ring(["a", "b", "c"], epoch: 7), reason: "down(d)"))
        #expect(RingPolicy.proposal(ring: ring(["a", "b", "c"], epoch: 7), statuses: ["a": .down], replicationFactor: 3, configured: 5) == nil)
    }

    @Test("a node that is up again is not put back: it rejoins by itself, with a hand-off")
    func up() {
        #expect(RingPolicy.proposal(ring: ring(["a", "c"], epoch: 5), statuses: ["b": .up, "c": .up], replicationFactor: 3, configured: 3) == nil)
    }

    @Test("without replication nothing moves: a down node's keys wait for it")
    func noReplication() {
        #expect(RingPolicy.proposal(ring: ring(configured, epoch: 1), statuses: ["b": .down], replicationFactor: 1, configured: 3) == nil)
    }
}
