@testable import ChorusGateway
import ChorusModel
import Testing

@Suite("KeepAlive")
struct KeepAliveTests {
    let t0 = Timestamp.seconds(1_800_000_000)

    func at(_ seconds: Double) -> Timestamp { t0.advanced(by: .milliseconds(Int64(seconds * 1000))) }

    @Test("a heartbeat every interval from the start, one per tick however late the tick")
    func heartbeats() {
        var keepAlive = KeepAlive(heartbeat: .seconds(25), idleTimeout: .seconds(60), start: t0)
        #expect(keepAlive.tick(now: at(24), heard: at(24)).heartbeat == false)
        #expect(keepAlive.tick(now: at(25), heard: at(25)).heartbeat)
        #expect(keepAlive.tick(now: at(26), heard: at(26)).heartbeat == false)
        // A tick 40 s late sends one heartbeat, and the next is an interval after it.
        #expect(keepAlive.tick(now: at(90), heard: at(90)).heartbeat)
        #expect(keepAlive.tick(now: at(114), heard: at(114)).heartbeat == false)
        #expect(keepAlive.tick(now: at(115), heard: at(115)).heartbeat)
    }

    @Test("silent for half the idle timeout: pinged once; an answer starts a new silence; silent for all of it: closed")
    func pingsAndClose() {
        var keepAlive = KeepAlive(heartbeat: .seconds(25), idleTimeout: .seconds(60), start: t0)
        #expect(keepAlive.tick(now: at(29.9), heard: t0) == KeepAlive.Actions(heartbeat: true))
        #expect(keepAlive.tick(now: at(30), heard: t0) == KeepAlive.Actions(ping: true))
        #expect(keepAlive.tick(now: at(31), heard: t0).ping == false)  // pinged already
        // The client answers at 32: quiet again until 62, pinged then.
        #expect(keepAlive.tick(now: at(50), heard: at(32)) == KeepAlive.Actions())
        #expect(keepAlive.tick(now: at(61.9), heard: at(32)) == KeepAlive.Actions(heartbeat: true))
        #expect(keepAlive.tick(now: at(62), heard: at(32)).ping)
        #expect(keepAlive.tick(now: at(91.9), heard: at(32)) == KeepAlive.Actions(heartbeat: true))
        #expect(keepAlive.tick(now: at(92), heard: at(32)) == KeepAlive.Actions(close: true))
    }

    @Test("an answer in the ping's own millisecond starts a new silence too: pinged again, not closed")
    func answerInTheSameMillisecond() {
        var keepAlive = KeepAlive(heartbeat: .seconds(25), idleTimeout: .seconds(60), start: t0)
        #expect(keepAlive.tick(now: at(30), heard: t0).ping)
        // The pong arrives before the clock moves on (loopback): heard at 30 exactly.
        #expect(keepAlive.tick(now: at(59.9), heard: at(30)).ping == false)
        #expect(keepAlive.tick(now: at(60), heard: at(30)).ping)
        #expect(keepAlive.tick(now: at(60), heard: at(60)) == KeepAlive.Actions())
        #expect(keepAlive.tick(now: at(89.9), heard: at(60)).close == false)
        #expect(keepAlive.tick(now: at(90), heard: at(60)).ping)
    }
}
