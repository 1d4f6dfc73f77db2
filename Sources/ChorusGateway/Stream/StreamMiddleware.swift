import ChorusAuth
import ChorusChat
import ChorusModel
import CompressNIO
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The front door of the Stream-compatible API: checks `api_key`, authenticates
/// (`Stream-Auth-Type: jwt|anonymous`, `Authorization: <JWT>`), applies the rate limit, turns
/// every error into Stream's error body, and puts the rate-limit headers on every response.
///
/// Every failure is classified; an unclassified one (a bug) is logged and answered as Stream's
/// internal error, never as a bare 500.
struct StreamMiddleware: RouterMiddleware {
    typealias Context = ChorusRequestContext

    let apiKey: String
    let tokens: TokenVerifier
    let node: ChatNode
    let rateLimiter: RateLimiter
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.streamStarted = .now
        context.streamAcceptEncoding = request.headers[.acceptEncoding]
        var limit: RateLimiter.Decision?
        var response: Response
        do {
            try checkKey(request)
            let identity = try await authenticate(request)
            context.identity = identity
            let key: String? =
                switch identity {
                case .user(let profile): profile.id.rawValue
                case .anonymous: Self.anonymousKey
                case .server: nil
                }
            if let key {
                let decision = rateLimiter.take(key)
                limit = decision
                if let retryAfter = decision.retryAfter {
                    throw StreamError(.rateLimited, .tooManyRequests, "too many requests; retry in \(retryAfter) s", retryAfter: retryAfter)
                }
            }
            response = try await next(request, context)
        } catch {
            response = errorResponse(error, context: context)
        }
        addRateLimitHeaders(&response, limit)
        return response
    }

    /// Anonymous callers share one rate-limit bucket, keyed outside the user id space.
    static let anonymousKey = "!anonymous"

    private func checkKey(_ request: Request) throws {
        guard let given = request.uri.queryParameters.get("api_key") else {
            throw StreamError(.accessKey, .unauthorized, "api_key is missing: add ?api_key=<key> to every request")
        }
        guard given == apiKey else { throw StreamError(.accessKey, .unauthorized, "api_key \(given.prefix(64)) is not valid") }
    }

    private func authenticate(_ request: Request) async throws -> Identity {
        let authorization = request.headers[.authorization]
        let authType = request.headers[.streamAuthType]?.lowercased() ?? "jwt"
        switch authType {
        case "anonymous":
            return .anonymous
        case "jwt":
            guard let token = Self.token(authorization) else {
                throw StreamError.authentication("Authorization header is missing: send the JWT, with Stream-Auth-Type: jwt")
            }
            let claims: JWT.Claims
            do {
                claims = try tokens.verify(token, now: node.clock.now())
            } catch {
                throw Self.tokenError(error)
            }
            guard let raw = claims.userID else { return .server }
            guard let user = UserID(raw) else { throw StreamError.authentication("user_id in the token is not a valid user id") }
            return .user(try await node.ensureUser(user, displayName: claims.name))
        default:
            throw StreamError.authentication("Stream-Auth-Type must be jwt or anonymous, not \(authType.prefix(32))")
        }
    }

    /// The raw JWT of an `Authorization` header; a `Bearer ` prefix is tolerated.
    static func token(_ header: String?) -> String? {
        guard let header else { return nil }
        let token = AuthMiddleware.bearerToken(header) ?? header.trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    /// Stream's codes for token failures: expired 40, not valid yet 41, issued in the future 42,
    /// bad signature 43, anything else 5.
    static func tokenError(_ error: ChatError) -> StreamError {
        let code: StreamError.Code =
            switch error.code {
            case .tokenExpired: .tokenExpired
            case _ where error.message.contains("signature"): .tokenSignature
            case _ where error.message.contains("(nbf)"): .tokenNotValidYet
            case _ where error.message.contains("(iat)"): .tokenBeforeIssuedAt
            default: .authentication
            }
        return StreamError(code, .unauthorized, error.message)
    }

    private func errorResponse(_ error: any Error, context: Context) -> Response {
        let streamError =
            StreamError(classifying: error)
            ?? {
                logger.error("unhandled error", metadata: ["request.id": "\(context.requestID)", "error": "\(String(reflecting: error))"])
                return StreamError(.internalError, .internalServerError, "internal error (request \(context.requestID))")
            }()
        var response =
            (try? StreamJSON.response(body: streamError.body(duration: context.streamDuration), status: streamError.status, context: context))
            ?? Response(status: streamError.status)
        if let retryAfter = streamError.retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }

    /// `x-ratelimit-limit`, `-remaining` and `-reset` (whole unix seconds), lower-case because
    /// clients look them up by exact name. Server calls are not limited: their remaining is the limit.
    private func addRateLimitHeaders(_ response: inout Response, _ decision: RateLimiter.Decision?) {
        let limit = Int(rateLimiter.burst)
        response.headers[.rateLimitLimit] = String(limit)
        response.headers[.rateLimitRemaining] = String(decision?.remaining ?? limit)
        response.headers[.rateLimitReset] = String(node.clock.now().seconds + Int64(decision?.secondsToFull ?? 0))
    }
}

extension HTTPField.Name {
    static let streamAuthType = Self("stream-auth-type")!
    static let rateLimitLimit = Self("x-ratelimit-limit")!
    static let rateLimitRemaining = Self("x-ratelimit-remaining")!
    static let rateLimitReset = Self("x-ratelimit-reset")!
}

/// gzip and deflate (zlib) response compression when the client's `Accept-Encoding` asks for it.
enum StreamCompression {
    /// Bodies smaller than this go out as they are: compressing them costs more than it saves.
    static let minimumBytes = 512

    /// `body`, compressed when `acceptEncoding` allows and it is worth it, with the headers that say so.
    static func encode(_ body: ByteBuffer, acceptEncoding: String?, headers: inout HTTPFields) -> ByteBuffer {
        headers[.vary] = "Accept-Encoding"
        guard let acceptEncoding, body.readableBytes >= minimumBytes, let algorithm = choose(acceptEncoding) else { return body }
        var input = body
        guard let compressed = try? input.compress(with: algorithm.algorithm) else { return body }
        headers[.contentEncoding] = algorithm.name
        return compressed
    }

    /// gzip if accepted, else deflate; an encoding with `q=0` is refused.
    static func choose(_ header: String) -> (name: String, algorithm: CompressionAlgorithm)? {
        var accepted: Set<String> = []
        for part in header.lowercased().split(separator: ",") {
            let fields = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let name = fields.first, !name.isEmpty else { continue }
            let quality = fields.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            if quality > 0 { accepted.insert(name) }
        }
        if accepted.contains("gzip") || accepted.contains("*") { return ("gzip", .gzip()) }
        if accepted.contains("deflate") { return ("deflate", .zlib()) }
        return nil
    }
}
