import ChorusAuth
import ChorusGateway
import ChorusModel
import Crypto
import Foundation
import Testing

/// base64url without padding.
func base64URL(_ data: some DataProtocol) -> String {
    Data(data).base64EncodedString().replacingOccurrences(of: "=", with: "")
        .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
}

/// A token with exactly this header and payload JSON, correctly signed with `secret`.
func signedToken(header: String, payload: String, secret: [UInt8]) -> String {
    let input = "\(base64URL(Data(header.utf8))).\(base64URL(Data(payload.utf8)))"
    let mac = HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: secret))
    return "\(input).\(base64URL(Data(mac)))"
}

@Suite("JWT")
struct JWTTests {
    let secret = Array("top-secret".utf8)
    let now = Timestamp.seconds(1_700_000_000)

    @Test("verifies Stream's published example tokens")
    func publishedExamples() throws {
        // From the Stream Chat REST docs (seed 001): API secret "top-secret".
        let user = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjoiamFjayJ9.pO3Fa8TJnPXsl62-XHK94S8hFk6dUz_2Q9au6H5xBSQ"
        let server = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.-hJRcjmUOcS0P-Pllpe8gnOtMINmm7Ktebd3eKUroAc"
        #expect(try JWT.verify(user, secret: secret, now: now).userID == "jack")
        #expect(try JWT.verify(server, secret: secret, now: now).userID == nil)
    }

    @Test("sign and verify round-trip all claims")
    func roundTrip() throws {
        let claims = JWT.Claims(userID: "alice", name: "Alice", exp: 1_700_000_100, nbf: 1_699_999_000, iat: 1_699_999_999)
        #expect(try JWT.verify(JWT.sign(claims, secret: secret), secret: secret, now: now) == claims)
    }

    /// The error code `verify` throws for `token`, or `nil` if it accepts it.
    func rejection(_ token: String) -> ChatError.Code? {
        do {
            _ = try JWT.verify(token, secret: secret, now: now)
            return nil
        } catch {
            return error.code
        }
    }

    @Test("rejects a wrong signature, a tampered payload and garbage")
    func rejectsForgeries() {
        let token = JWT.sign(JWT.Claims(userID: "alice"), secret: secret)
        #expect(rejection(token) == nil)
        let parts = token.split(separator: ".").map(String.init)
        let forgedPayload = "eyJ1c2VyX2lkIjoibWFsbG9yeSJ9"  // {"user_id":"mallory"}
        for bad in [
            JWT.sign(JWT.Claims(userID: "alice"), secret: Array("other".utf8)),
            "\(parts[0]).\(forgedPayload).\(parts[2])",
            "not-a-token", "a.b", "a.b.c.d", "", "..", "\(parts[0]).\(parts[1]).", "\(parts[0]).\(parts[1]).!!!!",
        ] {
            #expect(rejection(bad) == .invalidToken, "\(bad)")
        }
    }

    @Test("rejects algorithms other than HS256, including none")
    func rejectsOtherAlgorithms() {
        let payload = "eyJ1c2VyX2lkIjoiYWxpY2UifQ"  // {"user_id":"alice"}
        let signature = JWT.sign(JWT.Claims(userID: "alice"), secret: secret).split(separator: ".")[2]
        for header in [#"{"alg":"none","typ":"JWT"}"#, #"{"alg":"HS512","typ":"JWT"}"#, #"{"alg":"RS256"}"#, #"{"typ":"JWT"}"#] {
            let encoded = Data(header.utf8).base64EncodedString().replacingOccurrences(of: "=", with: "")
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            #expect(rejection("\(encoded).\(payload).") == .invalidToken, "\(header)")
            #expect(rejection("\(encoded).\(payload).\(signature)") == .invalidToken, "\(header)")
        }
    }

    @Test("honours exp, nbf and iat with 30 s leeway")
    func timeClaims() throws {
        let t = 1_700_000_000.0
        func verify(_ claims: JWT.Claims) throws(ChatError) -> JWT.Claims {
            try JWT.verify(JWT.sign(claims, secret: secret), secret: secret, now: now)
        }
        #expect(throws: ChatError(.tokenExpired, "token expired")) { try verify(JWT.Claims(userID: "a", exp: t - 31)) }
        _ = try verify(JWT.Claims(userID: "a", exp: t - 29))
        #expect(throws: ChatError(.invalidToken, "token is not valid yet (nbf)")) { try verify(JWT.Claims(userID: "a", nbf: t + 31)) }
        _ = try verify(JWT.Claims(userID: "a", nbf: t + 29))
        #expect(throws: ChatError(.invalidToken, "token is issued in the future (iat)")) { try verify(JWT.Claims(userID: "a", iat: t + 60)) }
    }

    @Test("rejects malformed claims")
    func malformedClaims() throws {
        #expect(rejection(JWT.sign(JWT.Claims(userID: "bad id!"), secret: secret)) == .invalidToken)
        #expect(rejection(JWT.sign(JWT.Claims(userID: ""), secret: secret)) == .invalidToken)
        // Correctly signed, but claims of the wrong types.
        for payload in [#"{"user_id":"a","exp":"soon"}"#, #"{"user_id":5}"#, #"[1,2]"#, #"not json"#] {
            #expect(rejection(signedToken(header: #"{"alg":"HS256"}"#, payload: payload, secret: secret)) == .invalidToken, "\(payload)")
        }
        // alg none with a valid HS256 signature of the same input is still refused.
        #expect(rejection(signedToken(header: #"{"alg":"none"}"#, payload: #"{"user_id":"a"}"#, secret: secret)) == .invalidToken)
        #expect(rejection(signedToken(header: #"{"alg":"HS256"}"#, payload: #"{"user_id":"a"}"#, secret: secret)) == nil)
    }
}

@Suite("Authentication over HTTP")
struct AuthAPITests {
    @Test("missing, malformed, forged and expired tokens get their codes")
    func tokenErrors() async throws {
        try await TestAPI.run { api in
            #expect(try await api.call(.get, "/v1/channels").errorCode == "AUTH_MISSING_TOKEN")
            #expect(try await api.call(.get, "/v1/channels").status == .unauthorized)
            let basic = try await api.call(.get, "/v1/channels", headers: [.authorization: "Basic abc"])
            #expect(basic.errorCode == "AUTH_MISSING_TOKEN")
            #expect(try await api.call(.get, "/v1/channels", token: "garbage").errorCode == "AUTH_INVALID_TOKEN")
            let forged = JWT.sign(JWT.Claims(userID: "alice"), secret: Array("wrong".utf8))
            #expect(try await api.call(.get, "/v1/channels", token: forged).errorCode == "AUTH_INVALID_TOKEN")
            let now = Double(api.clock.now().seconds)
            let expired = JWT.sign(JWT.Claims(userID: "alice", exp: now - 120), secret: Array(TestAPI.secret.utf8))
            let reply = try await api.call(.get, "/v1/channels", token: expired)
            #expect(reply.status == .unauthorized)
            #expect(reply.errorCode == "AUTH_TOKEN_EXPIRED")
        }
    }

    @Test("a token expires as the clock passes exp")
    func expiryFollowsClock() async throws {
        try await TestAPI.run { api in
            let token = api.token("alice")  // valid for 3600 s
            let fresh = try await api.call(.get, "/v1/channels", token: token)
            #expect(fresh.status == .ok)
            api.clock.advance(by: .seconds(3700))
            let stale = try await api.call(.get, "/v1/channels", token: token)
            #expect(stale.errorCode == "AUTH_TOKEN_EXPIRED")
        }
    }

    @Test("server tokens are refused on user endpoints, user tokens on admin endpoints")
    func tokenKinds() async throws {
        try await TestAPI.run { api in
            let asServer = try await api.call(.get, "/v1/channels", token: api.serverToken)
            #expect(asServer.status == .unauthorized)
            #expect(asServer.errorCode == "AUTH_INVALID_TOKEN")
            let asUser = try await api.call(.put, "/v1/users/bob", as: "alice", json: ["display_name": "Bob"])
            #expect(asUser.status == .forbidden)
            #expect(asUser.errorCode == "AUTH_SERVER_TOKEN_REQUIRED")
        }
    }

    @Test("per-user rate limit answers 429 with Retry-After")
    func rateLimit() async throws {
        try await TestAPI.run(configuration: .testing { $0.limits.userRequestBurst = 3; $0.limits.userRequestsPerSecond = 1  }) { api in
            for _ in 0..<3 { #expect(try await api.call(.get, "/v1/channels", as: "alice").status == .ok) }
            let limited = try await api.call(.get, "/v1/channels", as: "alice")
            #expect(limited.status == .tooManyRequests)
            #expect(limited.errorCode == "RATE_LIMITED")
            #expect(limited.headers[.retryAfter] == "1")
            // Other users have their own bucket; the clock refills alice's.
            #expect(try await api.call(.get, "/v1/channels", as: "bob").status == .ok)
            api.clock.advance(by: .seconds(1))
            #expect(try await api.call(.get, "/v1/channels", as: "alice").status == .ok)
        }
    }
}

@Suite("Token verifier")
struct TokenVerifierTests {
    let secret = Array("top-secret".utf8)
    let start = Timestamp.seconds(1_700_000_000)

    @Test("a remembered token still expires, and a forged one is never remembered")
    func cachedTokensKeepTheirTimeChecks() throws {
        let verifier = TokenVerifier(secret: secret)
        let token = JWT.sign(JWT.Claims(userID: "alice", exp: 1_700_000_100), secret: secret)
        #expect(try verifier.verify(token, now: start).userID == "alice")
        #expect(try verifier.verify(token, now: .seconds(1_700_000_120)).userID == "alice")  // within the leeway
        #expect(verifier.count == 1)
        #expect(throws: ChatError(.tokenExpired, "token expired")) { try verifier.verify(token, now: .seconds(1_700_000_200)) }

        let forged = JWT.sign(JWT.Claims(userID: "alice"), secret: Array("other".utf8))
        for _ in 0..<2 {
            #expect(throws: ChatError.self) { try verifier.verify(forged, now: start) }
        }
        #expect(verifier.count == 1)
    }

    @Test("memory is bounded: past its capacity the cache starts over")
    func bounded() throws {
        let verifier = TokenVerifier(secret: secret, capacity: 3)
        for user in ["a", "b", "c", "d", "e"] {
            _ = try verifier.verify(JWT.sign(JWT.Claims(userID: user), secret: secret), now: start)
            #expect(verifier.count <= 3)
        }
        #expect(verifier.count == 2)  // d started over, e joined it
    }
}
