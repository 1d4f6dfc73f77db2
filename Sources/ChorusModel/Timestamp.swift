#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A point in wall-clock time with millisecond precision (milliseconds since the Unix epoch).
///
/// Records carry the time they were made, so replaying a log reproduces the same state.
/// The API renders timestamps as whole Unix seconds.
public struct Timestamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Milliseconds since 1970-01-01T00:00:00Z.
    public var milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    /// Whole Unix seconds, rounded down.
    public var seconds: Int64 { milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000 }

    /// Makes a timestamp from whole Unix seconds.
    public static func seconds(_ seconds: Int64) -> Timestamp { Timestamp(milliseconds: seconds * 1000) }

    /// This timestamp moved by `duration` (truncated to milliseconds).
    public func advanced(by duration: Duration) -> Timestamp {
        let (seconds, attoseconds) = duration.components
        return Timestamp(milliseconds: milliseconds + seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }

    public var description: String { "\(milliseconds)ms" }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.milliseconds < rhs.milliseconds }
}

/// Where Chorus reads the current wall-clock time. Injected everywhere time matters, so tests control it.
public protocol TimeSource: Sendable {
    /// The current time.
    func now() -> Timestamp

    /// Suspends until `now() >= deadline`; throws `CancellationError` if the task is cancelled first.
    func sleep(until deadline: Timestamp) async throws

    /// Suspends for `duration` (intervals and timeouts: on the system clock this is monotonic, so
    /// a wall-clock step does not stretch or cut it); throws `CancellationError` if cancelled first.
    func sleep(for duration: Duration) async throws
}

extension TimeSource {
    public func sleep(for duration: Duration) async throws {
        try await sleep(until: now().advanced(by: duration))
    }
}

/// The system's real-time clock.
public struct SystemTimeSource: TimeSource {
    public init() {}

    public func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(milliseconds: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }

    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }

    public func sleep(until deadline: Timestamp) async throws {
        // Wall-clock deadlines: re-check after waking, in case the clock was stepped meanwhile.
        while true {
            let remaining = deadline.milliseconds - now().milliseconds
            if remaining <= 0 { return }
            try await Task.sleep(for: .milliseconds(remaining))
        }
    }
}

/// A clock that moves only when told to; for tests of TTLs, timers and timestamps.
///
/// Sleepers wake when the clock is moved to or past their deadline.
public final class ManualTimeSource: TimeSource {
    private struct State {
        var now: Timestamp
        var nextSleeper = 0
        var sleepers: [Int: (deadline: Timestamp, continuation: CheckedContinuation<Void, any Error>)] = [:]
    }
    private let state: Mutex<State>

    /// Starts the clock at `start` (default: 2025-01-01T00:00:00Z).
    public init(start: Timestamp = .seconds(1_735_689_600)) {
        self.state = Mutex(State(now: start))
    }

    public func now() -> Timestamp { state.withLock { $0.now } }

    /// Moves the clock forward by `duration`, waking the sleepers it passes.
    public func advance(by duration: Duration) {
        move { $0.advanced(by: duration) }
    }

    /// Sets the clock to `time`, waking the sleepers it passes.
    public func set(_ time: Timestamp) {
        move { _ in time }
    }

    /// How many tasks sleep on this clock (tests wait for a timer to be armed before moving it).
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    private func move(_ change: (Timestamp) -> Timestamp) {
        let woken = state.withLock { state in
            state.now = change(state.now)
            let due = state.sleepers.filter { $0.value.deadline <= state.now }
            for key in due.keys { state.sleepers[key] = nil }
            return due.sorted { $0.key < $1.key }.map(\.value.continuation)
        }
        for continuation in woken { continuation.resume() }
    }

    public func sleep(until deadline: Timestamp) async throws {
        let id = state.withLock { state in
            state.nextSleeper += 1
            return state.nextSleeper
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: Result<Void, any Error>? = state.withLock { state in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if state.now >= deadline { return .success(()) }
                    state.sleepers[id] = (deadline, continuation)
                    return nil
                }
                if let resumeNow { continuation.resume(with: resumeNow) }
            }
        } onCancel: {
            let continuation = state.withLock { $0.sleepers.removeValue(forKey: id)?.continuation }
            continuation?.resume(throwing: CancellationError())
        }
    }
}
