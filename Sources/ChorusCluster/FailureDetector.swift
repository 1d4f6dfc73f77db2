import ChorusModel

/// Marks peers up, suspect or down from the heartbeats they send: a pure state machine driven by
/// explicit timestamps (the node's clock), so tests move time by hand.
///
/// A peer is `up` while heartbeats arrive; `suspect` once none came for `suspectAfter`; `down` once
/// none came for `downAfter`. Any heartbeat makes it `up` again. Every change is returned, so the
/// shell can log it and update the ring.
public struct FailureDetector: Sendable {
    /// What the detector believes about a peer.
    public enum Status: String, Sendable, Codable, Equatable {
        case up, suspect, down
    }

    /// One peer's status changed.
    public struct Change: Sendable, Equatable {
        public var peer: String
        public var from: Status
        public var to: Status

        public init(peer: String, from: Status, to: Status) {
            self.peer = peer
            self.from = from
            self.to = to
        }
    }

    public let suspectAfter: Duration
    public let downAfter: Duration
    private var lastHeard: [String: Timestamp] = [:]
    private var statuses: [String: Status] = [:]

    /// Tracks `peers`, all `down` until their first heartbeat.
    public init(peers: some Sequence<String>, suspectAfter: Duration, downAfter: Duration) {
        precondition(downAfter >= suspectAfter, "downAfter must not be shorter than suspectAfter")
        self.suspectAfter = suspectAfter
        self.downAfter = downAfter
        for peer in peers { statuses[peer] = .down }
    }

    /// The status of `peer` (`down` for a peer never heard of).
    public func status(of peer: String) -> Status { statuses[peer] ?? .down }

    /// Every tracked peer's status.
    public var all: [String: Status] { statuses }

    /// A heartbeat (or any message) from `peer` at `now`.
    @discardableResult
    public mutating func heard(from peer: String, at now: Timestamp) -> Change? {
        lastHeard[peer] = max(lastHeard[peer] ?? now, now)
        return set(peer, .up)
    }

    /// Re-evaluates every peer at `now`; returns what changed.
    public mutating func tick(now: Timestamp) -> [Change] {
        var changes: [Change] = []
        for peer in statuses.keys.sorted() {
            guard let heard = lastHeard[peer] else { continue }
            let status: Status =
                heard.advanced(by: downAfter) <= now ? .down : heard.advanced(by: suspectAfter) <= now ? .suspect : .up
            if let change = set(peer, status) { changes.append(change) }
        }
        return changes
    }

    private mutating func set(_ peer: String, _ status: Status) -> Change? {
        let old = statuses[peer] ?? .down
        statuses[peer] = status
        return old == status ? nil : Change(peer: peer, from: old, to: status)
    }
}
