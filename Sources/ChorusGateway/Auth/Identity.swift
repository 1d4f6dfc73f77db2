import ChorusModel

/// Who made a request, from their token.
public enum Identity: Sendable, Equatable {
    /// A user token; the user exists (created on first use).
    case user(UserProfile)
    /// A server token (no `user_id` claim): admin endpoints only.
    case server
    /// The Stream-compatible API's `Stream-Auth-Type: anonymous`: no token, a small read-only subset.
    case anonymous
}
