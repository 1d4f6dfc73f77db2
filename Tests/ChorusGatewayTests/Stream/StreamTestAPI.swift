import ChorusAuth
import ChorusGateway
import ChorusModel
import CompressNIO
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// Calls to the Stream-compatible API as Stream's clients make them: `?api_key=` on every
/// request, `Authorization: <raw JWT>` (no `Bearer `) and a lower-case `stream-auth-type` header.
/// Compressed responses are decompressed before their JSON is parsed.
extension TestAPI {
    /// An empty JSON object body.
    static var empty: [String: Any] { [:] }

    /// The default `api_key` of `ChorusConfiguration` (`stream.api_key`).
    static let streamKey = "chorus"

    /// Like ``TestAPI/run(_:configuration:_:)`` on a node whose token secret is `jwtSecret`
    /// (for the seed's example tokens, signed with "top-secret"); `token(…)` does not apply there.
    static func run(jwtSecret: String, _ body: @Sendable (TestAPI) async throws -> Void) async throws {
        let clock = ManualTimeSource()
        let node = try ChorusNode(
            configuration: .testing(), storage: .memory, clock: clock, jwtSecret: Array(jwtSecret.utf8), cdnKey: Array("cdn-key".utf8),
            logger: Logger(label: "test"))
        try await node.application().test(.router) { client in
            try await body(TestAPI(clock: clock, node: node.chat, hub: node.realtime, client: client))
        }
    }

    /// Sends one Stream request; `json` is serialised as the body, `rawBody` is sent as is.
    @discardableResult
    func stream(
        _ method: HTTPRequest.Method, _ path: String, token: String?, authType: String? = "jwt", apiKey: String? = TestAPI.streamKey,
        json: Any? = nil, rawBody: String? = nil, headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var uri = path
        if let apiKey {
            let encoded = apiKey.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? apiKey
            uri += (path.contains("?") ? "&" : "?") + "api_key=" + encoded
        }
        var headers = extra
        if let token { headers[.authorization] = token }
        if let authType { headers[HTTPField.Name("stream-auth-type")!] = authType }
        var body: ByteBuffer?
        if let json {
            body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
        } else if let rawBody {
            body = ByteBuffer(string: rawBody)
        }
        if body != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: body)
        var bytes = response.body
        switch response.headers[.contentEncoding] {
        case "gzip": bytes = try bytes.decompress(with: .gzip())
        case "deflate": bytes = try bytes.decompress(with: .zlib())
        default: break
        }
        let text = String(buffer: bytes)
        let parsed = text.isEmpty ? nil : try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        return Reply(status: response.status, headers: response.headers, json: parsed, rawBody: text)
    }

    /// `stream(…)` with a user token for `user`, or a server token when `user` is `nil`.
    @discardableResult
    func stream(_ method: HTTPRequest.Method, _ path: String, as user: String?, json: Any? = nil) async throws -> Reply {
        try await stream(method, path, token: user.map { token($0) } ?? serverToken, json: json)
    }

    /// Creates (or renames) users through `POST /users` with a server token; each is named after
    /// its id with a capital first letter (`alice` → `Alice`).
    func upsertUsers(_ ids: String...) async throws {
        let users = Dictionary(uniqueKeysWithValues: ids.map { ($0, ["id": $0, "name": $0.prefix(1).uppercased() + $0.dropFirst()]) })
        let reply = try await stream(.post, "/users", token: serverToken, json: ["users": users])
        guard reply.status == .created else { throw TestFailure("upsert users failed: \(reply.status) \(reply.rawBody)") }
    }

    /// Get-or-create `type:id` with a server token, created by `creator` with `members` and
    /// extra `data`; returns the reply (201 expected).
    @discardableResult
    func createStreamChannel(
        _ id: String, type: String = "messaging", by creator: String, members: [String], data extra: [String: Any] = [:]
    ) async throws -> Reply {
        var data = extra
        data["members"] = members
        data["created_by"] = ["id": creator]
        let reply = try await stream(.post, "/channels/\(type)/\(id)/query", token: serverToken, json: ["data": data, "state": true])
        guard reply.status == .created else { throw TestFailure("get-or-create \(type):\(id) failed: \(reply.status) \(reply.rawBody)") }
        return reply
    }

    /// Sends `text` to `type:id` as `user` (user token), with the client id `id` if given.
    @discardableResult
    func streamSend(_ text: String, to cid: String, as user: String, id: String? = nil) async throws -> [String: Any] {
        var message: [String: Any] = ["text": text]
        if let id { message["id"] = id }
        let path = "/channels/" + cid.replacingOccurrences(of: ":", with: "/") + "/message"
        let reply = try await stream(.post, path, as: user, json: ["message": message])
        guard reply.status == .created else { throw TestFailure("stream send failed: \(reply.status) \(reply.rawBody)") }
        return reply.dict("message")
    }

    /// Three channels a minute apart from the returned time T0: `messaging:general` (alice owner,
    /// bob; red; level 1; "General Chat"), `messaging:random` (alice owner, carol; blue; "Random
    /// Stuff") and `team:ops` (bob owner, carol, dave; red; level 3; "Ops Team"); carol posts in
    /// random at T0+3 min, bob in general at T0+4 min (ops has no messages).
    func queryFixture() async throws -> Timestamp {
        try await upsertUsers("alice", "bob", "carol", "dave")
        let start = clock.now()
        try await createStreamChannel("general", by: "alice", members: ["bob"], data: ["name": "General Chat", "color": "red", "level": 1])
        clock.advance(by: .seconds(60))
        try await createStreamChannel("random", by: "alice", members: ["carol"], data: ["name": "Random Stuff", "color": "blue"])
        clock.advance(by: .seconds(60))
        try await createStreamChannel("ops", type: "team", by: "bob", members: ["carol", "dave"], data: ["name": "Ops Team", "color": "red", "level": 3])
        clock.advance(by: .seconds(60))
        try await streamSend("in random", to: "messaging:random", as: "carol")
        clock.advance(by: .seconds(60))
        try await streamSend("in general", to: "messaging:general", as: "bob")
        return start
    }

    /// A token with an arbitrary JSON payload, signed with `secret` (default: the node's).
    static func rawToken(_ payload: [String: Any], secret: String = TestAPI.secret) -> String {
        func encode(_ data: Data) -> String {
            data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        let header = encode(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let body = encode(try! JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys]))
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(header).\(body)".utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return "\(header).\(body).\(encode(Data(mac)))"
    }

    /// `t` as RFC 3339 with milliseconds in UTC (`2026-12-01T10:00:00.250Z`), formatted
    /// independently of the server's own formatter.
    static func rfc3339(_ t: Timestamp) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        let millis = ((t.milliseconds % 1000) + 1000) % 1000
        let whole = formatter.string(from: Date(timeIntervalSince1970: Double((t.milliseconds - millis) / 1000)))
        let padded = String(repeating: "0", count: 3 - String(millis).count) + String(millis)
        return whole.dropLast() + ".\(padded)Z"
    }

    /// 2026-12-01T10:00:00.250Z: the clock tests of timestamps set.
    static let streamEpoch = Timestamp(milliseconds: 1_796_119_200_250)
}

extension Reply {
    /// Stream's numeric error `code`.
    var code: Int? { object["code"] as? Int }
    var message: String { object["message"] as? String ?? "" }
    /// An object member of the body.
    func dict(_ key: String) -> [String: Any] { object[key] as? [String: Any] ?? [:] }
    /// An array-of-objects member of the body.
    func list(_ key: String) -> [[String: Any]] { object[key] as? [[String: Any]] ?? [] }
    /// `channel` of a channel state reply.
    var channel: [String: Any] { dict("channel") }
    /// The cids of a query channels reply, in order.
    var cids: [String] { list("channels").compactMap { ($0["channel"] as? [String: Any])?["cid"] as? String } }
    /// The texts of `messages`, in order.
    var texts: [String] { list("messages").compactMap { $0["text"] as? String } }
    /// The `read` entry of `user` in a channel state reply.
    func readEntry(_ user: String) -> [String: Any]? { list("read").first { $0.dict("user")["id"] as? String == user } }
    /// The `channel_role` of each member of a channel state reply, by user id.
    var roles: [String: String] {
        Dictionary(uniqueKeysWithValues: list("members").compactMap { member in
            (member["user_id"] as? String).map { ($0, member["channel_role"] as? String ?? "?") }
        })
    }
}

extension [String: Any] {
    var texts: [String] { list("messages").compactMap { $0["text"] as? String } }
    func dict(_ key: String) -> [String: Any] { self[key] as? [String: Any] ?? [:] }
    func list(_ key: String) -> [[String: Any]] { self[key] as? [[String: Any]] ?? [] }
}

/// Checks string members of `object`; a key may be a dotted path (`created_by.id`).
func expectStrings(_ object: [String: Any], _ expected: [String: String], sourceLocation: SourceLocation = #_sourceLocation) {
    for (path, value) in expected.sorted(by: { $0.key < $1.key }) {
        let keys = path.split(separator: ".").map(String.init)
        let parent = keys.dropLast().reduce(object) { $0.dict($1) }
        #expect(parent[keys.last ?? ""] as? String == value, "\(path)", sourceLocation: sourceLocation)
    }
}

/// Checks a Stream error: status, numeric code, the full error body and the headers every
/// Stream response carries.
func expectStreamError(
    _ reply: Reply, _ status: HTTPResponse.Status, code: Int, mentioning: String? = nil, _ comment: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let note = Comment(rawValue: "\(comment.map { "\($0): " } ?? "")\(reply.status.code) \(reply.rawBody)")
    #expect(reply.status == status, note, sourceLocation: sourceLocation)
    #expect(reply.code == code, note, sourceLocation: sourceLocation)
    #expect(reply.object["StatusCode"] as? Int == status.code, note, sourceLocation: sourceLocation)
    #expect(!reply.message.isEmpty, note, sourceLocation: sourceLocation)
    #expect(reply.object["more_info"] is String, note, sourceLocation: sourceLocation)
    if let mentioning {
        #expect(reply.message.contains(mentioning), note, sourceLocation: sourceLocation)
    }
    expectStreamHeaders(reply, sourceLocation: sourceLocation)
}

/// The parts every Stream response has: a JSON object body with `duration` (`"<n>ms"`),
/// `Content-Type: application/json` and the three lower-case rate-limit headers (whole numbers).
func expectStreamHeaders(_ reply: Reply, sourceLocation: SourceLocation = #_sourceLocation) {
    let note = Comment(rawValue: "\(reply.status.code) \(reply.rawBody.prefix(300))")
    #expect(reply.json is [String: Any], note, sourceLocation: sourceLocation)
    #expect(reply.headers[.contentType]?.hasPrefix("application/json") == true, note, sourceLocation: sourceLocation)
    let duration = reply.object["duration"] as? String ?? ""
    #expect(duration.hasSuffix("ms") && Double(duration.dropLast(2)) != nil, "duration \(duration)", sourceLocation: sourceLocation)
    for name in ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"] {
        let value = reply.headers[HTTPField.Name(name)!]
        #expect(value.flatMap { Int($0) } != nil, "\(name): \(value ?? "missing")", sourceLocation: sourceLocation)
    }
}
