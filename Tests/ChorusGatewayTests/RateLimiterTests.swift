import ChorusGateway
import ChorusModel
import Testing

@Suite("RateLimiter")
struct RateLimiterTests {
    @Test("bursts, refills at the rate, and reports the wait")
    func tokenBucket() {
        let clock = ManualTimeSource()
        let limiter = RateLimiter(rate: 2, burst: 4, clock: clock)
        let alice = UserID("alice")!
        for _ in 0..<4 { #expect(limiter.acquire(alice) == nil) }
        #expect(limiter.acquire(alice) == 1)
        clock.advance(by: .milliseconds(500))  // one token back
        #expect(limiter.acquire(alice) == nil)
        #expect(limiter.acquire(alice) != nil)
        clock.advance(by: .seconds(60))  // refills to the burst, not beyond
        for _ in 0..<4 { #expect(limiter.acquire(alice) == nil) }
        #expect(limiter.acquire(alice) != nil)
    }

    @Test("the table stays bounded with many distinct users, even when all are mid-burst")
    func boundedMemory() {
        let clock = ManualTimeSource()
        let limiter = RateLimiter(rate: 1, burst: 10, clock: clock, maxKeys: 1000)
        var largest = 0
        for i in 0..<50_000 {
            _ = limiter.acquire(UserID("u\(i)")!)
            largest = max(largest, limiter.trackedKeys)
        }
        #expect(largest == 1000)  // pruned (to 500) the moment it passes maxKeys
        // A user seen within the last pruning window keeps their (partly used) bucket.
        let recent = UserID("u49999")!
        for _ in 0..<9 { _ = limiter.acquire(recent) }
        #expect(limiter.acquire(recent) != nil)
    }
}
