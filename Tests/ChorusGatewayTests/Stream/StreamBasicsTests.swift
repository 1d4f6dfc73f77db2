import ChorusAuth
import ChorusGateway
import ChorusModel
import Foundation
import HTTPTypes
import Testing

/// The Stream-compatible API's front door: `api_key`, authentication, errors, the headers every
/// response carries, and compression (seed "Basics" and "Authentication"; wire notes "Every
/// request" and "Every response").
@Suite("Stream API basics")
struct StreamBasicsTests {
    /// A cheap authenticated call that succeeds for a user token: query the caller's channels.
    static var queryBody: [String: Any] { ["filter_conditions": [:] as [String: Any], "limit": 10] }

    @Test("api_key: missing or wrong is 401 code 2, before authentication; the configured key works")
    func apiKey() async throws {
        try await TestAPI.run { api in
            let cases: [(key: String?, token: String?, ok: Bool)] = [
                (nil, api.token("alice"), false),
                ("", api.token("alice"), false),
                ("wrong", api.token("alice"), false),
                ("CHORUS", api.token("alice"), false),
                (nil, nil, false),  // the key is checked first: still code 2, not 5
                ("chorus", api.token("alice"), true),
            ]
            for (key, token, ok) in cases {
                let reply = try await api.stream(.post, "/channels", token: token, apiKey: key, json: Self.queryBody)
                if ok {
                    #expect(reply.status == .created, "\(String(describing: key)): \(reply.rawBody)")
                    #expect(reply.list("channels").isEmpty)
                    expectStreamHeaders(reply)
                } else {
                    expectStreamError(reply, .unauthorized, code: 2, "api_key \(String(describing: key))")
                }
            }
        }
        // A configured key replaces the default.
        try await TestAPI.run(configuration: .testing { $0.stream.apiKey = "k-123" }) { api in
            let old = try await api.stream(.post, "/channels", token: api.token("alice"), json: Self.queryBody)
            expectStreamError(old, .unauthorized, code: 2)
            let new = try await api.stream(.post, "/channels", token: api.token("alice"), apiKey: "k-123", json: Self.queryBody)
            #expect(new.status == .created, "\(new.rawBody)")
        }
    }

    @Test("authentication: raw JWT in Authorization; bad, missing, expired and foreign-signed tokens get Stream's codes")
    func authentication() async throws {
        try await TestAPI.run { api in
            let now = Double(api.clock.now().seconds)
            let expired = JWT.sign(JWT.Claims(userID: "alice", exp: now - 3600, iat: now - 7200), secret: Array(TestAPI.secret.utf8))
            let foreign = JWT.sign(JWT.Claims(userID: "alice", exp: now + 3600, iat: now), secret: Array("another-secret-456789".utf8))
            let cases: [(name: String, token: String?, authType: String?, status: HTTPResponse.Status, code: Int?)] = [
                ("user token", api.token("alice"), "jwt", .created, nil),
                ("no stream-auth-type: jwt is the default", api.token("alice"), nil, .created, nil),
                ("user token without exp (the seed's example shape)", TestAPI.rawToken(["user_id": "jack"]), "jwt", .created, nil),
                ("user token with custom claims", TestAPI.rawToken(["user_id": "jack", "plan": "gold", "iat": now]), "jwt", .created, nil),
                ("Bearer prefix tolerated", "Bearer " + api.token("alice"), "jwt", .created, nil),
                ("missing Authorization", nil, "jwt", .unauthorized, 5),
                ("empty Authorization", "", "jwt", .unauthorized, 5),
                ("not a JWT", "not-a-jwt", "jwt", .unauthorized, 5),
                ("unknown auth type", api.token("alice"), "basic", .unauthorized, 5),
                ("expired", expired, "jwt", .unauthorized, 40),
                ("signed with another secret", foreign, "jwt", .unauthorized, 43),
                ("bad user_id claim", TestAPI.rawToken(["user_id": "no spaces allowed"]), "jwt", .unauthorized, 5),
            ]
            for (name, token, authType, status, code) in cases {
                let reply = try await api.stream(.post, "/channels", token: token, authType: authType, json: Self.queryBody)
                if let code {
                    expectStreamError(reply, status, code: code, name)
                } else {
                    #expect(reply.status == status, "\(name): \(reply.rawBody)")
                    expectStreamHeaders(reply)
                }
            }
            // The header name is case-insensitive: the seed writes Stream-Auth-Type.
            let seedHeader = try await api.stream(
                .post, "/channels", token: nil, authType: nil, json: Self.queryBody, headers: [HTTPField.Name("Stream-Auth-Type")!: "anonymous"])
            expectStreamError(seedHeader, .forbidden, code: 17, "Stream-Auth-Type: anonymous is read")
        }
    }

    @Test("server tokens ({} as in the seed, {\"server\": true} as clients send) may upsert users; user and anonymous callers may not")
    func serverAndUserTokens() async throws {
        try await TestAPI.run { api in
            let body: [String: Any] = ["users": ["alice": ["id": "alice", "name": "Alice"]]]
            for token in [TestAPI.rawToken([:]), TestAPI.rawToken(["server": true]), api.serverToken] {
                let reply = try await api.stream(.post, "/users", token: token, json: body)
                #expect(reply.status == .created, "\(reply.rawBody)")
                #expect(reply.dict("users").dict("alice")["name"] as? String == "Alice")
                expectStreamHeaders(reply)
            }
            expectStreamError(try await api.stream(.post, "/users", token: api.token("alice"), json: body), .forbidden, code: 17)
            let anonymous = try await api.stream(.post, "/users", token: nil, authType: "anonymous", json: body)
            expectStreamError(anonymous, .forbidden, code: 17)
            // Anonymous callers are authenticated (no 401) but may not act as a user.
            let query = try await api.stream(.post, "/channels", token: nil, authType: "anonymous", json: Self.queryBody)
            expectStreamError(query, .forbidden, code: 17)
        }
    }

    @Test("the seed's example tokens (API secret \"top-secret\") work as they are")
    func seedTokens() async throws {
        let server = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.-hJRcjmUOcS0P-Pllpe8gnOtMINmm7Ktebd3eKUroAc"
        let jack = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjoiamFjayJ9.pO3Fa8TJnPXsl62-XHK94S8hFk6dUz_2Q9au6H5xBSQ"
        #expect(TestAPI.rawToken([:], secret: "top-secret") == server, "the helper signs as the seed does")
        try await TestAPI.run(jwtSecret: "top-secret") { api in
            let users = try await api.stream(.post, "/users", token: server, json: ["users": ["jill": ["id": "jill", "name": "Jill"]]])
            #expect(users.status == .created, "\(users.rawBody)")
            let created = try await api.stream(.post, "/channels/messaging/hill/query", token: jack, json: ["data": ["members": ["jill"]]])
            #expect(created.status == .created, "\(created.rawBody)")
            #expect(created.dict("membership")["user_id"] as? String == "jack")
            expectStreamError(try await api.stream(.post, "/users", token: jack, json: TestAPI.empty), .forbidden, code: 17)
            // A token signed with another secret is refused with code 43.
            expectStreamError(try await api.stream(.post, "/users", token: TestAPI.rawToken([:]), json: TestAPI.empty), .unauthorized, code: 43)
        }
    }

    @Test("request bodies: invalid JSON and non-objects are 400 code 4; a body over the limit is 413 code 22")
    func requestBodies() async throws {
        try await TestAPI.run(configuration: .testing { $0.limits.maxBodyBytes = 2048 }) { api in
            for raw in ["{not json", "[1, 2]", "\"text\"", "42"] {
                let reply = try await api.stream(.post, "/channels", token: api.token("alice"), rawBody: raw)
                expectStreamError(reply, .badRequest, code: 4, raw)
            }
            let big: [String: Any] = ["filter_conditions": ["name": String(repeating: "x", count: 4000)]]
            expectStreamError(try await api.stream(.post, "/channels", token: api.token("alice"), json: big), .contentTooLarge, code: 22)
            // Field types are checked, and the message names the field.
            let badLimit = try await api.stream(.post, "/channels", token: api.token("alice"), json: ["limit": "ten"])
            expectStreamError(badLimit, .badRequest, code: 4, mentioning: "limit")
        }
    }

    @Test("rate limits: lower-case x-ratelimit-* headers on every response; over the limit is 429 code 9 with Retry-After")
    func rateLimit() async throws {
        let configuration = ChorusConfiguration.testing {
            $0.limits.userRequestBurst = 3
            $0.limits.userRequestsPerSecond = 1
        }
        try await TestAPI.run(configuration: configuration) { api in
            let now = api.clock.now().seconds
            var remaining: [String] = []
            for _ in 0..<3 {
                let reply = try await api.stream(.post, "/channels", token: api.token("alice"), json: Self.queryBody)
                #expect(reply.status == .created)
                expectStreamHeaders(reply)
                #expect(reply.headers[HTTPField.Name("x-ratelimit-limit")!] == "3")
                remaining.append(reply.headers[HTTPField.Name("x-ratelimit-remaining")!] ?? "missing")
                let reset = Int64(reply.headers[HTTPField.Name("x-ratelimit-reset")!] ?? "") ?? 0
                #expect(reset >= now && reset <= now + 10, "reset \(reset) is whole unix seconds near \(now)")
            }
            #expect(remaining == ["2", "1", "0"])
            let limited = try await api.stream(.post, "/channels", token: api.token("alice"), json: Self.queryBody)
            expectStreamError(limited, .tooManyRequests, code: 9)
            #expect(limited.headers[HTTPField.Name("x-ratelimit-remaining")!] == "0")
            #expect(limited.headers[.retryAfter].flatMap { Int($0) }.map { $0 >= 1 } == true)
            // Other users and the server are not affected.
            #expect(try await api.stream(.post, "/channels", token: api.token("bob"), json: Self.queryBody).status == .created)
            let server = try await api.stream(.post, "/users", token: api.serverToken, json: ["users": ["carol": ["id": "carol"]]])
            #expect(server.status == .created)
            #expect(server.headers[HTTPField.Name("x-ratelimit-remaining")!] == server.headers[HTTPField.Name("x-ratelimit-limit")!])
            // The bucket refills with time.
            api.clock.advance(by: .seconds(2))
            #expect(try await api.stream(.post, "/channels", token: api.token("alice"), json: Self.queryBody).status == .created)
        }
    }

    @Test("errors: Stream's error body and headers on 400, 401, 403, 404 and 413; a missing channel says Can't find channel")
    func errorShapes() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob")
            let alice = api.token("alice")
            expectStreamError(try await api.stream(.post, "/channels", token: alice, apiKey: nil, json: Self.queryBody), .unauthorized, code: 2)
            expectStreamError(try await api.stream(.post, "/channels", token: "x.y.z", json: Self.queryBody), .unauthorized, code: 5)
            let badFilter = try await api.stream(.post, "/channels", token: alice, json: ["filter_conditions": ["members": ["$in": "alice"]]])
            expectStreamError(badFilter, .badRequest, code: 4, mentioning: "members")
            expectStreamError(try await api.stream(.post, "/users", token: alice, json: ["users": [:] as [String: Any]]), .forbidden, code: 17)
            let missing = try await api.stream(.post, "/channels/messaging/nowhere/message", token: alice, json: ["message": ["text": "hi"]])
            expectStreamError(missing, .notFound, code: 16, mentioning: "Can't find channel")
            let tooBig = try await api.stream(
                .post, "/channels/messaging/big/query", token: alice,
                json: ["data": ["members": ["bob"], "blob": String(repeating: "x", count: 6000)]])
            expectStreamError(tooBig, .contentTooLarge, code: 22)
        }
    }

    @Test("timestamps are RFC 3339 in UTC with milliseconds, taken from the node's clock")
    func timestamps() async throws {
        try await TestAPI.run { api in
            api.clock.set(TestAPI.streamEpoch)
            try await api.upsertUsers("alice", "bob")
            let expected = TestAPI.rfc3339(TestAPI.streamEpoch)
            #expect(expected == "2026-12-01T10:00:00.250Z")
            let users = try await api.stream(.post, "/users", token: api.serverToken, json: ["users": ["dave": ["id": "dave"]]])
            #expect(users.dict("users").dict("dave")["created_at"] as? String == expected)
            let created = try await api.createStreamChannel("general", by: "alice", members: ["bob"])
            #expect(created.channel["created_at"] as? String == expected)
            api.clock.advance(by: .milliseconds(61_005))
            let message = try await api.streamSend("hi", to: "messaging:general", as: "bob")
            #expect(message["created_at"] as? String == "2026-12-01T10:01:01.255Z")
            let state = try await api.stream(.post, "/channels/messaging/general/query", as: "alice", json: ["state": true])
            #expect(state.channel["last_message_at"] as? String == "2026-12-01T10:01:01.255Z")
            #expect(state.channel["created_at"] as? String == expected)
        }
    }

    @Test(
        "compression: gzip or deflate (zlib) as Accept-Encoding allows, only for bodies of 512 bytes or more",
        arguments: [
            ("gzip", "gzip"), ("deflate", "deflate"), ("gzip;q=0, deflate", "deflate"), ("deflate, gzip", "gzip"),
            ("br, gzip;q=0.5", "gzip"), ("br", nil), ("identity", nil), ("gzip;q=0", nil), ("*", "gzip"),
        ] as [(String, String?)])
    func compression(acceptEncoding: String, expected: String?) async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob", "carol")
            try await api.createStreamChannel("general", by: "alice", members: ["bob", "carol"], data: ["name": "General"])
            for i in 0..<5 { try await api.streamSend("message number \(i) with some text", to: "messaging:general", as: "bob") }
            let plain = try await api.stream(.post, "/channels", token: api.token("alice"), json: Self.queryBody)
            #expect(plain.headers[.contentEncoding] == nil)
            #expect(plain.rawBody.utf8.count >= 512)

            let compressed = try await api.client.execute(
                uri: "/channels?api_key=chorus", method: .post,
                headers: [.authorization: api.token("alice"), .acceptEncoding: acceptEncoding, .contentType: "application/json"],
                body: .init(bytes: try JSONSerialization.data(withJSONObject: Self.queryBody)))
            #expect(compressed.status == .created)
            #expect(compressed.headers[.contentEncoding] == expected)
            let magic = compressed.body.getBytes(at: compressed.body.readerIndex, length: 2) ?? []
            switch expected {
            case "gzip": #expect(magic == [0x1f, 0x8b])
            case "deflate": #expect(magic.first == 0x78, "zlib format, not raw deflate")
            default: #expect(magic.first == UInt8(ascii: "{"))
            }
            // The helper decompresses: the same channels come back.
            let decoded = try await api.stream(
                .post, "/channels", token: api.token("alice"), json: Self.queryBody, headers: [.acceptEncoding: acceptEncoding])
            #expect(decoded.cids == ["messaging:general"])
            #expect(decoded.list("channels").first?.list("messages").count == 5)
            expectStreamHeaders(decoded)

            // Small bodies go out as they are.
            let small = try await api.stream(.post, "/channels", token: api.token("dave"), json: Self.queryBody, headers: [.acceptEncoding: acceptEncoding])
            #expect(small.headers[.contentEncoding] == nil)
            #expect(small.rawBody.utf8.count < 512)
            let smallError = try await api.stream(.post, "/channels", token: nil, json: Self.queryBody, headers: [.acceptEncoding: acceptEncoding])
            #expect(smallError.headers[.contentEncoding] == nil)
            expectStreamError(smallError, .unauthorized, code: 5)
        }
    }
}
