import ChorusAuth
import ChorusChat
import ChorusModel
import Hummingbird

/// Authenticates `/v1` requests from `Authorization: Bearer <JWT>`, creates the user on their
/// first request, and applies the per-user rate limit (server tokens are not limited).
struct AuthMiddleware: RouterMiddleware {
    typealias Context = ChorusRequestContext

    let tokens: TokenVerifier
    let node: ChatNode
    let rateLimiter: RateLimiter

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let token = Self.token(from: request) else {
            throw ChatError(.missingToken, "send Authorization: Bearer <token>")
        }
        let claims = try tokens.verify(token, now: node.clock.now())
        var context = context
        if let rawUserID = claims.userID, let userID = UserID(rawUserID) {
            if let retryAfter = rateLimiter.acquire(userID) {
                throw APIError(ChatError(.rateLimited, "too many requests; retry in \(retryAfter) s"), retryAfter: retryAfter)
            }
            context.identity = .user(try await node.ensureUser(userID, displayName: claims.name))
        } else {
            context.identity = .server
        }
        return try await next(request, context)
    }

    /// The bearer token of `request`, if any.
    static func token(from request: Request) -> String? {
        bearerToken(request.headers[.authorization])
    }

    /// The token of an `Authorization: Bearer <token>` header value, if it is one.
    /// (Runs on every request: plain UTF-8 work, no Foundation string calls.)
    static func bearerToken(_ header: String?) -> String? {
        guard let header else { return nil }
        let bytes = header.utf8
        let scheme = bytes.prefix { $0 != UInt8(ascii: " ") }
        // "bearer" in any case: ASCII letters compare equal with their 0x20 bit set.
        guard scheme.count == 6, scheme.elementsEqual("bearer".utf8, by: { $0 | 0x20 == $1 }) else { return nil }
        // The token is the bytes between the blanks after the scheme and the blanks at the end; a
        // slice of the header, copied once (a reversed view was copied byte by byte).
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        let rest = bytes.dropFirst(7)
        guard let first = rest.firstIndex(where: { !isBlank($0) }), let last = rest.lastIndex(where: { !isBlank($0) }) else {
            return nil
        }
        return String(Substring(rest[first...last]))
    }
}

extension ChorusRequestContext {
    /// The calling user; a server token gets `AUTH_INVALID_TOKEN` (user endpoints need a user token).
    func requireUser() throws -> UserProfile {
        switch identity {
        case .user(let profile): return profile
        case .server: throw ChatError(.invalidToken, "this endpoint needs a user token (with user_id), not a server token")
        case .anonymous, nil: throw ChatError(.missingToken, "send Authorization: Bearer <token>")
        }
    }

    /// Passes for a server token; a user token gets `AUTH_SERVER_TOKEN_REQUIRED`.
    func requireServer() throws {
        switch identity {
        case .server: return
        case .user, .anonymous: throw ChatError(.serverTokenRequired, "this endpoint needs a server token")
        case nil: throw ChatError(.missingToken, "send Authorization: Bearer <token>")
        }
    }

    /// Path parameter `name` parsed as a channel id.
    func channelID(_ name: String = "channelID") throws -> ChannelID {
        guard let raw = parameters.get(name), let id = ChannelID(raw) else {
            throw ChatError(.invalidRequest, "\(name) must be a decimal channel id")
        }
        return id
    }

    /// Path parameter `name` parsed as a message id.
    func messageID(_ name: String = "messageID") throws -> MessageID {
        guard let raw = parameters.get(name), let id = MessageID(raw) else {
            throw ChatError(.invalidRequest, "\(name) must be a decimal message id")
        }
        return id
    }

    /// Path parameter `name` parsed as a user id.
    func userID(_ name: String = "userID") throws -> UserID {
        guard let raw = parameters.get(name), let id = UserID(raw) else {
            throw ChatError(.invalidRequest, "\(name) must be 1-64 characters from [A-Za-z0-9_.@-]")
        }
        return id
    }

    /// Path parameter `name` parsed as an asset id.
    func assetID(_ name: String) throws -> AssetID {
        guard let raw = parameters.get(name), let id = AssetID(raw) else {
            throw ChatError(.invalidRequest, "\(name) must be an asset id")
        }
        return id
    }
}
