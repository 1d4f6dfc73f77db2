import ChorusModel
import Synchronization

/// A token bucket per key: `rate` requests a second on average, bursts up to `burst`.
///
/// Memory is bounded: when the table passes `maxKeys` it drops the keys whose bucket is full again
/// (they carry no information), and if that is not enough, the least recently seen keys, down to
/// `maxKeys / 2`. Dropping a key is lenient (that user gets a full bucket back), and pruning to half
/// keeps its cost amortised O(log n) per new key.
public final class RateLimiter: Sendable {
    /// Requests per second refilled into each bucket.
    public let rate: Double
    /// Bucket size.
    public let burst: Double
    private let maxKeys: Int
    private let clock: any TimeSource
    /// Buckets by key: a user id, or a key no user id can take (`!anonymous`).
    private let buckets = Mutex<[String: Bucket]>([:])

    private struct Bucket {
        var tokens: Double
        var updatedAt: Timestamp
    }

    public init(rate: Double, burst: Double, clock: any TimeSource, maxKeys: Int = 100_000) {
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.maxKeys = maxKeys
    }

    /// Takes one token for `key`; returns `nil` if allowed, else the seconds until a token is available.
    public func acquire(_ key: UserID) -> Int? {
        take(key.rawValue).retryAfter
    }

    /// The outcome of one request against a bucket.
    public struct Decision: Sendable, Equatable {
        /// `nil` if allowed, else the whole seconds until a token is available.
        public var retryAfter: Int?
        /// Whole requests left in the bucket after this one.
        public var remaining: Int
        /// Whole seconds until the bucket is full again.
        public var secondsToFull: Int
    }

    /// Takes one token for `key`, reporting what is left (for rate-limit headers).
    public func take(_ key: String) -> Decision {
        let now = clock.now()
        return buckets.withLock { buckets in
            var bucket = buckets[key].map { refill($0, now: now) } ?? Bucket(tokens: burst, updatedAt: now)
            var retryAfter: Int?
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
            } else {
                retryAfter = max(1, Int(((1 - bucket.tokens) / rate).rounded(.up)))
            }
            buckets[key] = bucket
            if buckets.count > maxKeys { prune(&buckets, now: now) }
            return Decision(
                retryAfter: retryAfter, remaining: Int(bucket.tokens.rounded(.down)),
                secondsToFull: Int(((burst - bucket.tokens) / rate).rounded(.up)))
        }
    }

    private func refill(_ bucket: Bucket, now: Timestamp) -> Bucket {
        let elapsed = Double(max(now.milliseconds - bucket.updatedAt.milliseconds, 0)) / 1000
        return Bucket(tokens: min(burst, bucket.tokens + elapsed * rate), updatedAt: now)
    }

    private func prune(_ buckets: inout [String: Bucket], now: Timestamp) {
        buckets = buckets.filter { refill($0.value, now: now).tokens < burst }
        if buckets.count > maxKeys / 2 {
            let recent = buckets.sorted { $0.value.updatedAt > $1.value.updatedAt }.prefix(maxKeys / 2)
            buckets = Dictionary(uniqueKeysWithValues: recent.map { ($0.key, $0.value) })
        }
    }

    /// How many keys are tracked (for tests of the memory bound).
    public var trackedKeys: Int { buckets.withLock { $0.count } }
}
