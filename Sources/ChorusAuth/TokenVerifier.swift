import ChorusModel
import Crypto
import Synchronization

/// Verifies bearer tokens, remembering the signatures it has already checked.
///
/// A client sends the same token with every request, and checking it (base64, two JSON decodes, an
/// HMAC) cost ~15% of a node's CPU under a load of small sends. A token string that verified once
/// always has a valid signature under this process's secret, so only its time claims (`exp`, `nbf`,
/// `iat`) are checked again on later uses. Failed tokens are never remembered. The memory is bounded:
/// at `capacity` tokens the cache starts over (cheap, and a rare full re-verification is harmless).
/// Tokens are remembered by their SHA-256: 32 bytes in place of a string of ~150–300 (one per
/// connected user, ~0.25 KiB each); hashing a token is a small part of what verifying it costs.
public final class TokenVerifier: Sendable {
    private let secret: [UInt8]
    private let capacity: Int
    private let verified = Mutex<[SHA256Digest: JWT.Claims]>([:])

    public init(secret: [UInt8], capacity: Int = 10_000) {
        self.secret = secret
        self.capacity = max(1, capacity)
    }

    /// The claims of `token` at `now`, or the error `JWT.verify` would throw.
    public func verify(_ token: String, now: Timestamp) throws(ChatError) -> JWT.Claims {
        var hasher = SHA256()
        var token = token
        token.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        let key = hasher.finalize()
        if let claims = verified.withLock({ $0[key] }) {
            try JWT.validate(claims, now: now)
            return claims
        }
        let claims = try JWT.verify(token, secret: secret, now: now)
        verified.withLock { verified in
            if verified.count >= capacity { verified.removeAll(keepingCapacity: true) }
            verified[key] = claims
        }
        return claims
    }

    /// Tokens remembered now (for tests).
    public var count: Int { verified.withLock { $0.count } }
}
