@testable import ChorusBench
import Testing

@Suite("The load generator's open-loop send schedule")
struct SenderScheduleTests {
    final class CountingTransport: MessageTransport {
        var outstanding = 0
        var sent: [UInt64] = []
        var flushes = 0
        func send(counter: UInt64, sentAt: UInt64, payload: [UInt8]) -> Bool {
            sent.append(counter)
            return true
        }
        func flush() { flushes += 1 }
    }

    let second: UInt64 = 1_000_000_000

    @Test("it sends what is due at its rate from its start to its end, then ends")
    func sendsWhatIsDue() {
        let transport = CountingTransport()
        let stats = LoopStats()
        let schedule = SenderSchedule(transport: transport, stats: stats, rate: 4, start: 10 * second, end: 12 * second, payloadBytes: 64)
        #expect(schedule.tick(now: 9 * second))
        #expect(transport.sent.isEmpty)
        #expect(schedule.tick(now: 10 * second))
        #expect(transport.sent == [1])
        #expect(schedule.tick(now: 11 * second))
        #expect(transport.sent.count == 5)
        #expect(!schedule.tick(now: 13 * second))  // due up to the end only: 2 s at 4/s, and the first
        #expect(transport.sent.count == 9)
        #expect(stats.counts.sent == 9 && stats.counts.activeSenders == 0)
    }

    @Test("a schedule whose start falls after its end sends nothing and ends (a slow sender's phase past a short window)")
    func startsAfterItsEnd() {
        let transport = CountingTransport()
        let stats = LoopStats()
        let schedule = SenderSchedule(transport: transport, stats: stats, rate: 0.1, start: 15 * second, end: 12 * second, payloadBytes: 64)
        #expect(schedule.tick(now: 11 * second))
        #expect(!schedule.tick(now: 12 * second))
        #expect(transport.sent.isEmpty && stats.counts.activeSenders == 0)
    }
}
