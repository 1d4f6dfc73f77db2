/// The clock a transport's timers run on: call deadlines, dial backoff, and the waits between
/// dials. Monotonic, read as the time since the clock's origin. Injected: a node passes its own
/// clock (tests move it by hand); the default is the system's monotonic clock.
///
/// (Socket-level timeouts, a TCP connect and the handshake, stay on real time: they wait on the
/// kernel and the peer, not on the protocol.)
public struct TransportClock: Sendable {
    /// The current time since the origin.
    public var now: @Sendable () -> Duration
    /// Suspends until `now()` reaches the given time (throws if the task is cancelled).
    public var sleepUntil: @Sendable (Duration) async throws -> Void

    public init(now: @escaping @Sendable () -> Duration, sleepUntil: @escaping @Sendable (Duration) async throws -> Void) {
        self.now = now
        self.sleepUntil = sleepUntil
    }

    /// The system's monotonic clock, from the moment this is first used.
    public static let continuous: TransportClock = {
        let origin = ContinuousClock.now
        return TransportClock(now: { ContinuousClock.now - origin }, sleepUntil: { try await Task.sleep(until: origin + $0) })
    }()
}
