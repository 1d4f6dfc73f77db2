import ChorusActorSystem
import Testing

/// The dialling decisions, on a manual instant: no sockets, no sleeps.
@Suite("Dial backoff")
struct DialBackoffTests {
    let t0 = Duration.seconds(1_000)

    @Test("one dial at a time: the first caller dials, the others join it")
    func sharedDial() {
        var backoff = DialBackoff(initial: .milliseconds(100), maximum: .seconds(1))
        #expect(backoff.connectionNeeded(now: t0, started: t0, budget: .seconds(5)) == .dial)
        #expect(backoff.connectionNeeded(now: t0, started: t0, budget: .seconds(5)) == .join)
        backoff.dialSucceeded()
        #expect(!backoff.dialing && backoff.backoff == .zero && backoff.retryAfter == nil)
    }

    @Test("failures back off, doubling up to the maximum; a success resets it")
    func doubling() {
        var backoff = DialBackoff(initial: .milliseconds(100), maximum: .milliseconds(500))
        var now = t0
        var waits: [Duration] = []
        for _ in 0..<5 {
            #expect(backoff.connectionNeeded(now: now, started: now, budget: .seconds(60)) == .dial)
            backoff.dialFailed(now: now)
            waits.append(backoff.backoff)
            #expect(backoff.retryAfter == now + backoff.backoff)
            now = backoff.retryAfter!
        }
        #expect(waits == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(500), .milliseconds(500)])
        #expect(backoff.connectionNeeded(now: now, started: now, budget: .seconds(60)) == .dial)
        backoff.dialSucceeded()
        #expect(backoff.connectionNeeded(now: now, started: now, budget: .seconds(60)) == .dial)
        backoff.dialFailed(now: now)
        #expect(backoff.backoff == .milliseconds(100))
    }

    @Test("a backed-off peer: a call waits for the next attempt within half its budget, else fails at once")
    func patience() {
        var backoff = DialBackoff(initial: .milliseconds(400), maximum: .seconds(1))
        _ = backoff.connectionNeeded(now: t0, started: t0, budget: .seconds(5))
        backoff.dialFailed(now: t0)
        let retry = t0 + .milliseconds(400)
        #expect(backoff.connectionNeeded(now: t0 + .milliseconds(10), started: t0 + .milliseconds(10), budget: .seconds(1)) == .wait(until: retry))
        // 390 ms away is not within half of a 500 ms budget.
        #expect(backoff.connectionNeeded(now: t0 + .milliseconds(10), started: t0 + .milliseconds(10), budget: .milliseconds(500)) == .fail)
        // A caller that has been waiting counts from when it started.
        #expect(backoff.connectionNeeded(now: t0 + .milliseconds(300), started: t0, budget: .milliseconds(700)) == .fail)
        // Once the backoff has passed, the next caller dials again.
        #expect(backoff.connectionNeeded(now: retry, started: retry, budget: .milliseconds(1)) == .dial)
    }
}
