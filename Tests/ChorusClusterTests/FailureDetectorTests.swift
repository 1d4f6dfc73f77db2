import ChorusCluster
import ChorusModel
import Testing

@Suite("FailureDetector")
struct FailureDetectorTests {
    let t0 = Timestamp.seconds(1_800_000_000)

    @Test("up while heartbeats come, suspect after a silence, down after a longer one, up again on the next heartbeat")
    func lifecycle() {
        var detector = FailureDetector(peers: ["b", "c"], suspectAfter: .seconds(3), downAfter: .seconds(10))
        #expect(detector.status(of: "b") == .down)  // never heard from
        #expect(detector.heard(from: "b", at: t0) == .init(peer: "b", from: .down, to: .up))
        #expect(detector.heard(from: "c", at: t0) != nil)
        #expect(detector.tick(now: t0.advanced(by: .milliseconds(2999))) == [])
        detector.heard(from: "c", at: t0.advanced(by: .seconds(2)))
        #expect(detector.tick(now: t0.advanced(by: .seconds(3))) == [.init(peer: "b", from: .up, to: .suspect)])
        #expect(detector.status(of: "c") == .up)
        #expect(detector.tick(now: t0.advanced(by: .seconds(10))) == [
            .init(peer: "b", from: .suspect, to: .down), .init(peer: "c", from: .up, to: .suspect),
        ])
        #expect(detector.heard(from: "b", at: t0.advanced(by: .seconds(11))) == .init(peer: "b", from: .down, to: .up))
        #expect(detector.tick(now: t0.advanced(by: .seconds(12))) == [.init(peer: "c", from: .suspect, to: .down)])
        #expect(detector.all == ["b": .up, "c": .down])
    }

    @Test("a heartbeat stamped earlier than one already heard does not move the clock back")
    func outOfOrder() {
        var detector = FailureDetector(peers: ["b"], suspectAfter: .seconds(3), downAfter: .seconds(10))
        detector.heard(from: "b", at: t0.advanced(by: .seconds(5)))
        detector.heard(from: "b", at: t0)
        #expect(detector.tick(now: t0.advanced(by: .seconds(7))) == [])
    }
}
