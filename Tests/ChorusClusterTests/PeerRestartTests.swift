import ChorusActorSystem
@testable import ChorusCluster
import ChorusModel
import Logging
import Synchronization
import Testing

/// A peer that restarted is noticed from the incarnation in its heartbeats, however briefly it was
/// gone (edges then subscribe again to its channels, which came back without their subscribers).
@Suite("Peer restarts")
struct PeerRestartTests {
    @Test("a new incarnation in a peer's heartbeat is reported once; the same one again is not")
    func newIncarnation() {
        let clock = ManualTimeSource()
        let placement = ClusterPlacement(nodeName: "a", ring: HashRing(nodes: ["a", "b"], virtualNodes: 8), clock: clock)
        let member = ClusterMember(placement: placement, actorSystem: ClusterActorSystem(nodeName: "a"))
        let membership = Membership(
            member: member, clock: clock, interval: .milliseconds(500), suspectAfter: .seconds(2), downAfter: .seconds(5), logger: Logger(label: "test"))
        let restarts = Mutex<[String]>([])
        membership.onPeerRestart { peer in restarts.withLock { $0.append(peer) } }
        var report = NodeReport(node: "b", epoch: 1, actors: [:])
        report.incarnation = 7
        membership.heard(from: "b", report: report)
        membership.heard(from: "b", report: report)
        #expect(restarts.withLock { $0 }.isEmpty, "the first report only tells who the peer is")
        report.incarnation = 8
        membership.heard(from: "b", report: report)
        membership.heard(from: "b", report: report)
        #expect(restarts.withLock { $0 } == ["b"])
        #expect(member.report().incarnation == member.incarnation && member.incarnation != 0)
    }
}
