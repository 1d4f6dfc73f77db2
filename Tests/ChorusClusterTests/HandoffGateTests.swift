import ChorusCluster
import Testing

@Suite("Hand-off gate")
struct HandoffGateTests {
    let now = HashRing(nodes: ["a", "b"], virtualNodes: 16, epoch: 4)

    /// A key that `a` owns now and `b` gets under `target`, and one that stays with `a`.
    func keys(_ target: HashRing) -> (moving: String, staying: String?) {
        let all = (0..<500).map { "channel/\($0)" }.filter { now.owner(of: $0) == "a" }
        return (all.first { target.owner(of: $0) != "a" }!, all.first { target.owner(of: $0) == "a" })
    }

    @Test("with nothing running, a hand-off proceeds at once and refuses the moving keys only")
    func immediate() throws {
        var gate = HandoffGate(me: "a")
        let target = HashRing(nodes: ["a", "b", "c"], virtualNodes: 16, epoch: 5)
        let (moving, stays) = keys(target)
        let staying = try #require(stays)
        let r1 = gate.start(moving)
        #expect(r1)
        let r2 = gate.finished(moving)
        #expect(r2 == nil)
        let r3 = gate.begin(target: target)
        #expect(r3 == .proceed)
        let r4 = gate.start(moving)
        #expect(!r4)
        #expect(gate.isClosed(moving) && !gate.isClosed(staying))
        let r5 = gate.start(staying)
        #expect(r5)
        let r6 = gate.finished(staying)
        #expect(r6 == nil, "a call on a key that stays does not matter to the hand-off")
    }

    @Test("a running call on a moving key holds the hand-off until it finishes")
    func drains() {
        var gate = HandoffGate(me: "a")
        let target = now.removing("a")
        let (moving, _) = keys(target)
        let r7 = gate.start(moving)
        #expect(r7)
        let r8 = gate.start(moving)
        #expect(r8)
        let r9 = gate.begin(target: target)
        #expect(r9 == .wait)
        #expect(gate.draining)
        let r10 = gate.finished(moving)
        #expect(r10 == .wait)
        let r11 = gate.finished(moving)
        #expect(r11 == .proceed)
        #expect(!gate.draining)
        let r12 = gate.finished(moving)
        #expect(r12 == nil, "a finish without a start changes nothing")
    }

    @Test("an aborted hand-off opens the gate again; adopting the target ends it too")
    func abortAndAdopt() {
        var gate = HandoffGate(me: "a")
        let target = now.removing("a")
        let (moving, _) = keys(target)
        let r13 = gate.start(moving)
        #expect(r13)
        let r14 = gate.begin(target: target)
        #expect(r14 == .wait)
        gate.abort()
        #expect(gate.target == nil && !gate.draining)
        let r15 = gate.start(moving)
        #expect(r15, "served here again")
        let r16 = gate.finished(moving)
        #expect(r16 == nil)
        _ = gate.finished(moving)
        let r17 = gate.begin(target: target)
        #expect(r17 == .proceed)
        gate.adopted(epoch: target.epoch - 1)
        #expect(gate.target != nil, "an older ring does not end it")
        gate.adopted(epoch: target.epoch)
        #expect(gate.target == nil)
        let r18 = gate.start(moving)
        #expect(r18)
    }
}
