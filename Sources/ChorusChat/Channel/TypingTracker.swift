import ChorusModel

/// Who is typing in one channel: a time-to-live per user, refreshed by each typing call.
///
/// Ephemeral by design (never logged). A pure value driven by explicit timestamps, so tests control time.
public struct TypingTracker: Sendable, Equatable {
    private var entries: [(user: UserID, expiresAt: Timestamp)] = []

    public init() {}

    /// Marks `user` typing until `now + ttl`; returns whether they were not typing before.
    @discardableResult
    public mutating func start(_ user: UserID, now: Timestamp, ttl: Duration) -> Bool {
        expire(now: now)
        let expiresAt = now.advanced(by: ttl)
        if let index = entries.firstIndex(where: { $0.user == user }) {
            entries[index].expiresAt = expiresAt
            return false
        }
        entries.append((user, expiresAt))
        return true
    }

    /// Ends `user`'s typing; returns whether they were typing.
    @discardableResult
    public mutating func stop(_ user: UserID) -> Bool {
        guard let index = entries.firstIndex(where: { $0.user == user }) else { return false }
        entries.remove(at: index)
        return true
    }

    /// Drops every entry whose TTL ran out by `now`; returns those users, in the order they started.
    @discardableResult
    public mutating func expire(now: Timestamp) -> [UserID] {
        let expired = entries.filter { $0.expiresAt <= now }.map(\.user)
        entries.removeAll { $0.expiresAt <= now }
        return expired
    }

    /// The users typing at `now`, in the order they started.
    public func typing(at now: Timestamp) -> [UserID] {
        entries.filter { $0.expiresAt > now }.map(\.user)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.entries.elementsEqual(rhs.entries) { $0.user == $1.user && $0.expiresAt == $1.expiresAt }
    }
}
