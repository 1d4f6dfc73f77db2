import ChorusActorSystem
@testable import ChorusGateway
import ChorusModel
import HTTPTypes
import Hummingbird
import NIOCore
import Testing

@Suite("Error mapping")
struct APIErrorTests {
    @Test("every error code has the HTTP status of the API contract")
    func statuses() {
        let expected: [HTTPResponse.Status: [ChatError.Code]] = [
            .badRequest: [.invalidRequest, .emptyMessage, .messageTooLong, .messageBlocked, .cannotDMSelf],
            .unauthorized: [.missingToken, .invalidToken, .tokenExpired],
            .forbidden: [
                .notMember, .notAdmin, .notMessageAuthor, .cannotModifyDM, .dmBlockedUser, .cannotRemoveOwner, .serverTokenRequired,
                .disabledByChannelType, .permissionDenied,
            ],
            .notFound: [.channelNotFound, .messageNotFound, .userNotFound, .reactionNotFound, .notFound],
            .conflict: [.reactionExists, .alreadyMember, .channelExists],
            .contentTooLarge: [.payloadTooLarge],
            .tooManyRequests: [.rateLimited],
            .serviceUnavailable: [.clusterUnavailable],
            .gone: [.historyUnavailable],  // only in WebSocket resume_failed frames
        ]
        #expect(expected.values.reduce(0) { $0 + $1.count } == ChatError.Code.allCases.count)
        for (status, codes) in expected {
            for code in codes { #expect(APIError.status(of: code) == status, "\(code)") }
        }
    }

    @Test("an unreachable actor becomes 503 CLUSTER_UNAVAILABLE with Retry-After")
    func unreachableActor() throws {
        let error = try #require(APIError(classifying: RemoteCallError(.actorNotFound, "gone")))
        let response = error.response()
        #expect(response.status == .serviceUnavailable)
        #expect(error.error.code == .clusterUnavailable)
        #expect(response.headers[.retryAfter] == "1")
    }

    @Test("framework errors map to API codes; unknown errors are not classified")
    func frameworkErrors() {
        #expect(APIError(classifying: HTTPError(.notFound))?.error.code == .notFound)
        #expect(APIError(classifying: HTTPError(.methodNotAllowed))?.error.code == .notFound)
        #expect(APIError(classifying: HTTPError(.contentTooLarge))?.error.code == .payloadTooLarge)
        #expect(APIError(classifying: NIOTooManyBytesError(maxBytes: 10))?.error.code == .payloadTooLarge)
        #expect(APIError(classifying: HTTPError(.badRequest))?.error.code == .invalidRequest)
        struct Unexpected: Error {}
        #expect(APIError(classifying: Unexpected()) == nil)
        #expect(APIError(classifying: HTTPError(.internalServerError)) == nil)
    }

    @Test("request ids the node makes are short hex, distinct, and spread over all 64 bits")
    func madeRequestIDs() {
        let ids = (0..<100_000).map { _ in RequestIDs.next() }
        #expect(Set(ids).count == ids.count)
        #expect(ids.allSatisfy { (1...16).contains($0.count) && $0.allSatisfy { $0.isHexDigit && !$0.isUppercase } })
        // Consecutive counts land far apart: the top bit is set for about half of them.
        let high = ids.filter { UInt64($0, radix: 16)! >> 63 == 1 }.count
        #expect((40_000...60_000).contains(high), "\(high) of 100000 with the top bit set")
        // The mix is a bijection: it never maps two counts to one id (checked around the wrap too).
        let counts = Array(UInt64(0)..<5_000) + Array((UInt64.max - 5_000)...UInt64.max)
        #expect(Set(counts.map(RequestIDs.mix)).count == counts.count)
    }
}
