import ChorusActorSystem
import ChorusModel

extension TransportClock {
    /// The transport's clock for a node whose timers run on `source`: the system's monotonic
    /// clock when `source` is the system's time (deadlines must not jump with the wall clock),
    /// else `source` itself (a test's manual clock, which moves only when told to).
    public init(_ source: any TimeSource) {
        guard !(source is SystemTimeSource) else {
            self = .continuous
            return
        }
        self.init(
            now: { .milliseconds(source.now().milliseconds) },
            sleepUntil: { try await source.sleep(until: Timestamp(milliseconds: Int64($0 / .milliseconds(1)))) })
    }
}
