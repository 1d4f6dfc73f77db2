import ChorusCluster
import Testing

@Suite("RingRefresh")
struct RingRefreshTests {
    @Test("what a caller told wrongOwner does, from the epoch it routed by, its own now and the peer's")
    func decisions() {
        // Both still on the ring the call was routed by.
        #expect(RingRefresh(routedBy: 3, ours: 3, theirs: 2) == .offerOurs)
        #expect(RingRefresh(routedBy: 3, ours: 3, theirs: 4) == .adoptTheirs)
        #expect(RingRefresh(routedBy: 3, ours: 3, theirs: 3) == .giveUp)
        #expect(RingRefresh(routedBy: 3, ours: 3, theirs: nil) == .giveUp)
        // Our ring moved on while the call was out: whatever the peer's, route again first.
        #expect(RingRefresh(routedBy: 3, ours: 4, theirs: 4) == .retry)
        #expect(RingRefresh(routedBy: 3, ours: 4, theirs: 3) == .retry)
        #expect(RingRefresh(routedBy: 3, ours: 4, theirs: 5) == .retry)
    }
}
