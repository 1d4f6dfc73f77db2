import ChorusActorSystem
import ChorusModel
import ChorusStorage
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// An error as the Stream-compatible API reports it: `{"code", "message", "StatusCode",
/// "duration", "more_info"}` with Stream's documented numeric codes (docs/stream-api.md, "Errors").
struct StreamError: Error, Equatable {
    /// Stream's error codes that Chorus uses.
    enum Code: Int, Sendable {
        case internalError = -1
        case accessKey = 2
        case input = 4
        case authentication = 5
        case rateLimited = 9
        case doesNotExist = 16
        case notAllowed = 17
        case messageTooLong = 20
        case payloadTooBig = 22
        case tokenExpired = 40
        case tokenNotValidYet = 41
        case tokenBeforeIssuedAt = 42
        case tokenSignature = 43
    }

    var code: Code
    var status: HTTPResponse.Status
    var message: String
    /// Seconds for a `Retry-After` header (429, 503).
    var retryAfter: Int?

    init(_ code: Code, _ status: HTTPResponse.Status, _ message: String, retryAfter: Int? = nil) {
        self.code = code
        self.status = status
        self.message = message
        self.retryAfter = retryAfter
    }

    static func input(_ message: String) -> StreamError { StreamError(.input, .badRequest, message) }
    static func notAllowed(_ message: String) -> StreamError { StreamError(.notAllowed, .forbidden, message) }
    static func authentication(_ message: String) -> StreamError { StreamError(.authentication, .unauthorized, message) }
    /// Clients match this message ("Can't find channel …").
    static func channelNotFound(_ address: ChannelAddress) -> StreamError {
        StreamError(.doesNotExist, .notFound, "Can't find channel with id \(address.cid)")
    }

    /// Where the codes are explained.
    static let moreInfo = "https://getstream.io/chat/docs/api_errors_response"

    /// The Stream error for anything a handler threw; `nil` for an unclassified error (a bug).
    init?(classifying error: any Error) {
        switch error {
        case let error as StreamError:
            self = error
        case let error as ChatError:
            self.init(chat: error)
        case let error as APIError:
            self.init(chat: error.error)
            retryAfter = error.retryAfter
        case let error as QueryFilterError:
            self = .input(error.message)
        case let error as DecodingError:
            self = .input(describe(error))
        default:
            guard let api = APIError(classifying: error) else { return nil }
            self.init(chat: api.error)
            retryAfter = api.retryAfter
        }
    }

    /// The Stream code and status of an engine error; the message is kept.
    init(chat error: ChatError) {
        let message = error.message
        switch error.code {
        case .invalidRequest, .emptyMessage, .cannotDMSelf, .alreadyMember, .reactionExists, .channelExists, .historyUnavailable,
            .messageBlocked:
            self.init(.input, .badRequest, message)
        case .messageTooLong: self.init(.messageTooLong, .badRequest, message)
        case .missingToken, .invalidToken: self.init(.authentication, .unauthorized, message)
        case .tokenExpired: self.init(.tokenExpired, .unauthorized, message)
        case .notMember, .notAdmin, .notMessageAuthor, .cannotModifyDM, .dmBlockedUser, .cannotRemoveOwner, .serverTokenRequired,
            .disabledByChannelType, .permissionDenied:
            self.init(.notAllowed, .forbidden, message)
        case .channelNotFound, .messageNotFound, .userNotFound, .reactionNotFound, .notFound:
            self.init(.doesNotExist, .notFound, message)
        case .payloadTooLarge: self.init(.payloadTooBig, .contentTooLarge, message)
        case .rateLimited: self.init(.rateLimited, .tooManyRequests, message)
        case .clusterUnavailable: self.init(.internalError, .serviceUnavailable, message, retryAfter: 1)
        }
    }

    /// The error body, with the time the request took.
    func body(duration: String) -> JSONValue {
        [
            "code": .number(Double(code.rawValue)), "message": .string(message), "StatusCode": .number(Double(status.code)),
            "duration": .string(duration), "more_info": .string(Self.moreInfo),
        ]
    }
}
