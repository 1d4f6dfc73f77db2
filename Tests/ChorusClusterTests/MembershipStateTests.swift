import ChorusCluster
import ChorusModel
import Testing

@Suite("Membership state machine")
struct MembershipStateTests {
    let ring = HashRing(nodes: ["a", "b", "c"], virtualNodes: 8, epoch: 3)

    func node(_ me: String = "a") -> MembershipState {
        MembershipState(me: me, peers: ["a", "b", "c"], ring: ring, suspectAfter: .seconds(2), downAfter: .seconds(5))
    }

    @Test("a tick heartbeats every other node of the ring with this node's epoch")
    func heartbeats() {
        var a = node()
        #expect(a.tick(now: .seconds(0)) == [.send(.heartbeat(epoch: 3), to: "b"), .send(.heartbeat(epoch: 3), to: "c")])
        var lonely = MembershipState(me: "a", peers: ["a", "b"], ring: HashRing(nodes: ["b"], virtualNodes: 8, epoch: 9), suspectAfter: .seconds(2), downAfter: .seconds(5))
        #expect(lonely.tick(now: .seconds(0)) == [.send(.heartbeat(epoch: 9), to: "b")], "a node that left still heartbeats the ring")
    }

    @Test("one round trip a pair: a node skips a peer before it in name order whose heartbeat arrived since its last round, and only for that round")
    func oneRoundTripAPair() {
        var b = node("b")
        _ = b.tick(now: .seconds(0))
        _ = b.receive(.heartbeat(epoch: 3), from: "a", now: Timestamp(milliseconds: 10))
        _ = b.receive(.heartbeat(epoch: 3), from: "c", now: Timestamp(milliseconds: 20))
        #expect(b.tick(now: Timestamp(milliseconds: 50)) == [.send(.heartbeat(epoch: 3), to: "c")], "a heartbeats b; b still heartbeats c, which comes after it")
        #expect(
            b.tick(now: Timestamp(milliseconds: 100)) == [.send(.heartbeat(epoch: 3), to: "a"), .send(.heartbeat(epoch: 3), to: "c")],
            "a sent nothing since: b heartbeats it again")
        // Replies do not count: they answer this node's own heartbeats.
        _ = b.receive(.heartbeatReply(epoch: 3), from: "a", now: Timestamp(milliseconds: 110))
        #expect(b.tick(now: Timestamp(milliseconds: 150)).count == 2)
    }

    @Test("hearing marks a peer up; silence makes it suspect, then down")
    func detection() {
        var a = node()
        #expect(a.receive(.heartbeat(epoch: 3), from: "b", now: .seconds(1)) == [
            .status(.init(peer: "b", from: .down, to: .up)), .send(.heartbeatReply(epoch: 3), to: "b"),
        ])
        #expect(a.tick(now: .seconds(3)).contains(.status(.init(peer: "b", from: .up, to: .suspect))))
        #expect(a.tick(now: .seconds(6)).contains(.status(.init(peer: "b", from: .suspect, to: .down))))
    }

    @Test("traffic the transport heard keeps a peer up without heartbeats; traffic too old to keep it up changes nothing")
    func trafficCounts() {
        var a = node()
        #expect(a.traffic(from: "b", at: .seconds(1), now: .seconds(1)) == [.status(.init(peer: "b", from: .down, to: .up))])
        // Keepalives every second and no heartbeat answered: b stays up.
        for second in 2...8 {
            _ = a.traffic(from: "b", at: .seconds(Int64(second)), now: .seconds(Int64(second)))
            #expect(a.tick(now: .seconds(Int64(second))).filter { if case .status = $0 { true } else { false } }.isEmpty)
        }
        // Silence: down once nothing came for five seconds; a report of the old traffic does not bring it back.
        #expect(a.tick(now: .seconds(13)).contains(.status(.init(peer: "b", from: .up, to: .down))))
        #expect(a.traffic(from: "b", at: .seconds(8), now: .seconds(13)).isEmpty)
        #expect(a.traffic(from: "b", at: .seconds(11), now: .seconds(13)).isEmpty, "heard two seconds ago is suspect, not up")
        #expect(a.detector.status(of: "b") == .down)
        #expect(a.traffic(from: "b", at: .seconds(12), now: .seconds(13)) == [.status(.init(peer: "b", from: .down, to: .up))])
        #expect(a.traffic(from: "a", at: .seconds(13), now: .seconds(13)).isEmpty, "a node does not track itself")
    }

    @Test("a node that a newer ring adds counts as heard from (it just joined): it is up, not still down from before")
    func joinerIsUp() {
        var a = node()
        _ = a.receive(.heartbeat(epoch: 3), from: "b", now: .seconds(0))
        _ = a.tick(now: .seconds(6))
        #expect(a.detector.status(of: "b") == .down)
        let without = ring.removing("b")
        #expect(a.adopt(without, now: .seconds(7)) == [.adopted(without)])
        #expect(a.detector.status(of: "b") == .down, "taken off the ring, still down")
        let back = without.adding("b")
        #expect(a.adopt(back, now: .seconds(8)) == [.adopted(back), .status(.init(peer: "b", from: .down, to: .up))])
        #expect(a.detector.status(of: "b") == .up)
    }

    @Test("a newer epoch is asked for once a round, and the newer ring adopted; older rings never")
    func ringGossip() {
        var a = node()
        let newer = ring.removing("c")
        _ = a.receive(.heartbeat(epoch: 3), from: "b", now: .seconds(0))
        #expect(a.receive(.heartbeatReply(epoch: newer.epoch), from: "b", now: .seconds(0)) == [.send(.ringRequest, to: "b")])
        #expect(a.receive(.heartbeat(epoch: newer.epoch), from: "b", now: .seconds(0)) == [.send(.heartbeatReply(epoch: 3), to: "b")])
        #expect(a.receive(.ring(newer), from: "b", now: .seconds(0)) == [.adopted(newer)])
        #expect(a.ring == newer)
        #expect(a.receive(.ring(ring), from: "c", now: .seconds(0)).contains(.adopted(ring)) == false)
        #expect(a.adopt(ring, now: .seconds(0)) == [])
        #expect(a.ring.epoch == newer.epoch)
        // A ring request is answered with the current ring.
        #expect(a.receive(.ringRequest, from: "c", now: .seconds(0)).last == .send(.ring(newer), to: "c"))
    }
}
