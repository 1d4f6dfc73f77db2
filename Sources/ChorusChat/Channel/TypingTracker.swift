import ChorusModel

/// Who is typing in one channel: a time-to-live per user, refreshed by each typing call, and when
/// each was last announced to others.
///
/// Ephemeral by design (never logged). A pure value driven by explicit timestamps, so tests control
/// time. A client refreshing its typing state every second must not flood the channel: a refresh
/// is announced again only once `announceEvery` has passed since the last announcement.
public struct TypingTracker: Sendable, Equatable {
    private struct Entry: Equatable {
        var user: UserID
        var expiresAt: Timestamp
        var announcedAt: Timestamp
    }
    private var entries: [Entry] = []

    /// How long a refresh stays silent after an announcement (default 3 s).
    public var announceEvery: Duration

    public init(announceEvery: Duration = .seconds(3)) {
        self.announceEvery = announceEvery
    }

    /// Marks `user` typing until `now + ttl`; returns whether to announce it (a new typist, or a
    /// refresh at least `announceEvery` after the last announcement).
    @discardableResult
    public mutating func start(_ user: UserID, now: Timestamp, ttl: Duration) -> Bool {
        expire(now: now)
        let expiresAt = now.advanced(by: ttl)
        guard let index = entries.firstIndex(where: { $0.user == user }) else {
            entries.append(Entry(user: user, expiresAt: expiresAt, announcedAt: now))
            return true
        }
        entries[index].expiresAt = expiresAt
        guard entries[index].announcedAt.advanced(by: announceEvery) <= now else { return false }
        entries[index].announcedAt = now
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

    /// When the next TTL runs out; `nil` if nobody is typing.
    public var nextExpiry: Timestamp? {
        entries.map(\.expiresAt).min()
    }
}
