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
}

/// The system's real-time clock.
public struct SystemTimeSource: TimeSource {
    public init() {}

    public func now() -> Timestamp {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Timestamp(milliseconds: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000)
    }
}

/// A clock that moves only when told to; for tests of TTLs and timestamps.
public final class ManualTimeSource: TimeSource {
    private let current: Mutex<Timestamp>

    /// Starts the clock at `start` (default: 2025-01-01T00:00:00Z).
    public init(start: Timestamp = .seconds(1_735_689_600)) {
        self.current = Mutex(start)
    }

    public func now() -> Timestamp { current.withLock { $0 } }

    /// Moves the clock forward by `duration`.
    public func advance(by duration: Duration) {
        current.withLock { $0 = $0.advanced(by: duration) }
    }

    /// Sets the clock to `time`.
    public func set(_ time: Timestamp) {
        current.withLock { $0 = time }
    }
}
