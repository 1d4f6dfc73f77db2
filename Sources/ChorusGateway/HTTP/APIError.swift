import ChorusActorSystem
import ChorusModel
import ChorusStorage
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// How the client API reports errors: `{"error": {"code": …, "message": …}}` with the code's HTTP status.
struct APIError: Error {
    var error: ChatError
    /// Seconds for a `Retry-After` header (429, 503).
    var retryAfter: Int?

    init(_ error: ChatError, retryAfter: Int? = nil) {
        self.error = error
        self.retryAfter = retryAfter
    }

    /// Classifies anything a handler threw. Unknown errors are logged by the caller and become 500.
    init?(classifying error: any Error) {
        switch error {
        case let error as APIError:
            self = error
        case let error as ChatError:
            self.init(error, retryAfter: error.code == .clusterUnavailable ? 1 : nil)
        case let error as WALError:
            self.init(ChatError(.clusterUnavailable, "this node cannot store changes right now (\(error.code.rawValue))"), retryAfter: 1)
        case let error as RemoteCallError:
            self.init(ChatError(.clusterUnavailable, "the channel's node did not answer: \(error.message)"), retryAfter: 1)
        case is NIOTooManyBytesError:
            self.init(ChatError(.payloadTooLarge, "request body is larger than the limit"))
        case let error as any HTTPResponseError:
            switch error.status {
            case .notFound, .methodNotAllowed:
                self.init(ChatError(.notFound, "no such route"))
            case .contentTooLarge:
                self.init(ChatError(.payloadTooLarge, "request body is larger than the limit"))
            case let status where (400..<500).contains(status.code):
                self.init(ChatError(.invalidRequest, "the request could not be processed (\(status.code) \(status.reasonPhrase))"))
            default:
                return nil
            }
        case let error as DecodingError:
            self.init(ChatError(.invalidRequest, describe(error)))
        default:
            return nil
        }
    }

    /// The HTTP status of an error code.
    static func status(of code: ChatError.Code) -> HTTPResponse.Status {
        switch code {
        case .invalidRequest, .emptyMessage, .messageTooLong, .messageBlocked, .cannotDMSelf: .badRequest
        case .missingToken, .invalidToken, .tokenExpired: .unauthorized
        case .notMember, .notAdmin, .notMessageAuthor, .cannotModifyDM, .dmBlockedUser, .cannotRemoveOwner,
            .serverTokenRequired, .disabledByChannelType, .permissionDenied:
            .forbidden
        case .channelNotFound, .messageNotFound, .userNotFound, .reactionNotFound, .notFound: .notFound
        case .reactionExists, .alreadyMember, .channelExists: .conflict
        case .payloadTooLarge: .contentTooLarge
        case .rateLimited: .tooManyRequests
        case .clusterUnavailable: .serviceUnavailable
        case .historyUnavailable: .gone
        }
    }

    private struct Body: Encodable {
        var error: ChatError
    }

    func response() -> Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        let body = (try? JSONBody.encoder.encode(Body(error: error))) ?? Data(#"{"error":{"code":"INVALID_REQUEST"}}"#.utf8)
        return Response(status: Self.status(of: error.code), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// Gives every response an `X-Request-Id`, turns every error into the API's error body, and logs
/// each request (method, path, status, duration, request id) at `requestLogLevel`.
///
/// No request, however malformed, reaches the client as an unexplained 500: anything unclassified
/// is logged with the request id and reported as 500 `INTERNAL` (a bug to fix, never expected).
/// The log has the path without its query string (queries may carry cursors or tokens).
struct APIErrorMiddleware: RouterMiddleware {
    typealias Context = ChorusRequestContext

    var logger: Logger
    var requestLogLevel: Logger.Level

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let started = ContinuousClock.now
        var context = context
        context.requestID = Self.requestID(from: request)
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            if let apiError = APIError(classifying: error) {
                response = apiError.response()
            } else {
                logger.error(
                    "unhandled error", metadata: ["request.id": "\(context.requestID)", "error": "\(String(reflecting: error))"])
                response = Response(
                    status: .internalServerError, headers: [.contentType: "application/json; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"code":"INTERNAL","message":"internal error"}}"#)))
            }
        }
        response.headers[.requestID] = context.requestID
        Self.logRequest(
            logger, level: requestLogLevel, method: request.method.rawValue, path: request.uri.path, status: response.status.code,
            duration: ContinuousClock.now - started, requestID: context.requestID)
        return response
    }

    /// The one log line of a request (also written by ``HealthCheckHandler``).
    static func logRequest(
        _ logger: Logger, level: Logger.Level = Gateway.requestLogLevel, method: String, path: String, status: Int, duration: Duration,
        requestID: String
    ) {
        logger.log(
            level: level, "\(method) \(path) \(status)",
            metadata: [
                "http.method": "\(method)", "http.path": "\(path)", "http.status": "\(status)",
                "http.duration_ms": "\(Self.milliseconds(duration))", "request.id": "\(requestID)",
            ])
    }

    /// `duration` in milliseconds with three decimals.
    static func milliseconds(_ duration: Duration) -> String {
        let micros = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        let fraction = String(micros % 1000)
        return "\(micros / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// The caller's `X-Request-Id` if it is short and printable, else a new one (``RequestIDs``).
    static func requestID(from request: Request) -> String {
        requestID(from: request.headers)
    }

    static func requestID(from headers: HTTPFields) -> String {
        requestID(given: headers[.requestID])
    }

    /// The caller's `X-Request-Id` if it is 1–128 visible ASCII characters, else a new one.
    static func requestID(given: String?) -> String {
        if let given, (1...128).contains(given.utf8.count), given.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
            return given
        }
        return RequestIDs.next()
    }
}

extension HTTPField.Name {
    static let requestID = Self("X-Request-Id")!
    /// A send's client message id, as a header (docs/api.md, "Idempotent sends").
    static let idempotencyKey = Self("Idempotency-Key")!
    /// Set to `true` on the answer to a send that repeated an earlier one's client message id.
    static let idempotentReplayed = Self("Idempotent-Replayed")!
}
