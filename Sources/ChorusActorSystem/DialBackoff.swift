/// When to dial a peer, and what a call that finds no open connection does meanwhile: a pure
/// state machine (no sockets, no tasks, no clock: times are a ``TransportClock``'s), one per peer.
/// ``TCPTransport`` is its shell.
///
/// One dial at a time, shared by every caller. After a failed dial the peer is backed off,
/// doubling from `initial` up to `maximum`; a call that arrives meanwhile waits for the next
/// attempt if that comes within half of its own budget, and fails at once otherwise. So a dead
/// peer costs a caller at most a backoff, never its whole deadline, and a peer that was merely
/// starting is reached on the next attempt. A successful dial resets the backoff.
public struct DialBackoff: Sendable, Equatable {
    /// What a call that needs a connection does.
    public enum Decision: Equatable, Sendable {
        /// Start a dial (this caller's) and wait for it.
        case dial
        /// A dial is under way: wait for it.
        case join
        /// Backed off: wait until then, and ask again.
        case wait(until: Duration)
        /// Backed off past the caller's patience: fail now as unreachable.
        case fail
    }

    public let initial: Duration
    public let maximum: Duration
    public private(set) var dialing = false
    /// The wait after the last failed dial (zero after a success).
    public private(set) var backoff: Duration = .zero
    /// No dial before this instant.
    public private(set) var retryAfter: Duration?

    public init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
    }

    /// A call that started at `started` with `budget` to spend found no open connection at `now`.
    public mutating func connectionNeeded(now: Duration, started: Duration, budget: Duration) -> Decision {
        if dialing { return .join }
        if let retryAfter, now < retryAfter {
            return retryAfter - started < budget / 2 ? .wait(until: retryAfter) : .fail
        }
        dialing = true
        return .dial
    }

    /// The dial succeeded.
    public mutating func dialSucceeded() {
        dialing = false
        backoff = .zero
        retryAfter = nil
    }

    /// The dial failed at `now`: back off.
    public mutating func dialFailed(now: Duration) {
        dialing = false
        backoff = backoff == .zero ? initial : min(backoff * 2, maximum)
        retryAfter = now + backoff
    }
}
