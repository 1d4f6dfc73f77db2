import ChorusChat
import ChorusModel
import Hummingbird

/// Authenticates `/v1` requests from `Authorization: Bearer <JWT>`, creates the user on their
/// first request, and applies the per-user rate limit (server tokens are not limited).
struct AuthMiddleware: RouterMiddleware {
    typealias Context = ChorusRequestContext

    let secret: [UInt8]
    let node: ChatNode
    let rateLimiter: RateLimiter

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let token = Self.token(from: request) else {
            throw ChatError(.missingToken, "send Authorization: Bearer <token>")
        }
        let claims = try JWT.verify(token, secret: secret, now: node.clock.now())
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
    static func bearerToken(_ header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}

extension ChorusRequestContext {
    /// The calling user; a server token gets `AUTH_INVALID_TOKEN` (user endpoints need a user token).
    func requireUser() throws -> UserProfile {
        switch identity {
        case .user(let profile): return profile
        case .server: throw ChatError(.invalidToken, "this endpoint needs a user token (with user_id), not a server token")
        case nil: throw ChatError(.missingToken, "send Authorization: Bearer <token>")
        }
    }

    /// Passes for a server token; a user token gets `AUTH_SERVER_TOKEN_REQUIRED`.
    func requireServer() throws {
        switch identity {
        case .server: return
        case .user: throw ChatError(.serverTokenRequired, "this endpoint needs a server token")
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
