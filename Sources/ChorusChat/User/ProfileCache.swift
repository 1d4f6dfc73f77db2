import ChorusModel
import Synchronization

/// The profiles of users who made requests here lately, so that authenticating a request does
/// not ask the user's actor (on another node, in a cluster) every time.
///
/// Every authenticated request ensures its user exists (``ChatNode/ensureUser(_:displayName:)``);
/// once a user exists, only a rename changes what that returns. A remembered profile is used
/// for `ttl`; a rename made through this node replaces it at once, one made through another
/// node is seen here within `ttl` (until then, messages sent here carry the old
/// `sender_name`). Memory is bounded: at `capacity` users the cache starts over.
final class ProfileCache: Sendable {
    private struct Entry {
        var profile: UserProfile
        var expires: Timestamp
    }

    let ttl: Duration
    let capacity: Int
    private let entries = Mutex<[UserID: Entry]>([:])

    init(ttl: Duration, capacity: Int = 100_000) {
        self.ttl = ttl
        self.capacity = max(1, capacity)
    }

    /// User `id`'s profile, if it was remembered less than `ttl` before `now`.
    func profile(of id: UserID, now: Timestamp) -> UserProfile? {
        guard ttl > .zero else { return nil }
        return entries.withLock { entries in
            guard let entry = entries[id] else { return nil }
            guard now < entry.expires else {
                entries[id] = nil
                return nil
            }
            return entry.profile
        }
    }

    /// Remembers `profile` as of `now`.
    func remember(_ profile: UserProfile, now: Timestamp) {
        guard ttl > .zero else { return }
        entries.withLock { entries in
            if entries.count >= capacity, entries[profile.id] == nil { entries.removeAll(keepingCapacity: true) }
            entries[profile.id] = Entry(profile: profile, expires: now.advanced(by: ttl))
        }
    }

    /// Users remembered now (for tests).
    var count: Int { entries.withLock { $0.count } }
}
