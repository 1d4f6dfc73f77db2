import ChorusAuth
import ChorusActorSystem
import ChorusChat
import ChorusGateway
import ChorusModel
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore

/// A response with its body parsed as JSON.
struct Reply: @unchecked Sendable {
    // @unchecked: `json` holds only the immutable Foundation values JSONSerialization returns
    // (NSDictionary/NSArray/NSString/NSNumber/NSNull), never mutated after parsing.
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var json: Any?
    var rawBody: String

    var object: [String: Any] { json as? [String: Any] ?? [:] }
    var array: [[String: Any]] { json as? [[String: Any]] ?? [] }
    /// `error.code` of an error body.
    var errorCode: String? { (object["error"] as? [String: Any])?["code"] as? String }
    subscript(key: String) -> Any? { object[key] }
    func string(_ key: String) -> String? { object[key] as? String }
}

/// One in-process Chorus node with a manual clock, and helpers to call its API.
struct TestAPI {
    static let secret = "test-secret-0123456789"
    let clock: ManualTimeSource
    let node: ChatNode
    /// The node's WebSocket edge.
    let hub: RealtimeHub
    let client: any TestClientProtocol
    /// The node's readiness (``TestAPI/run(_:configuration:_:)`` sets it).
    var health: NodeHealth? = nil

    /// Runs `body` against a fresh node, in memory (`.router`) or on a real port (`.live`).
    static func run(
        _ setup: TestingSetup = .router, configuration: ChorusConfiguration = .testing(),
        _ body: @Sendable (TestAPI) async throws -> Void
    ) async throws {
        let clock = ManualTimeSource()
        let node = try ChorusNode(
            configuration: configuration, storage: .memory, clock: clock, jwtSecret: Array(secret.utf8), cdnKey: Array("cdn-key".utf8),
            logger: Logger(label: "test"))
        try await node.application().test(setup) { client in
            try await body(TestAPI(clock: clock, node: node.chat, hub: node.realtime, client: client, health: node.health))
        }
    }

    /// A user token for `user`, valid for an hour of the test clock.
    func token(_ user: String, name: String? = nil) -> String {
        let now = Double(clock.now().seconds)
        return JWT.sign(JWT.Claims(userID: user, name: name, exp: now + 3600, iat: now), secret: Array(Self.secret.utf8))
    }

    /// A server token.
    var serverToken: String {
        JWT.sign(JWT.Claims(iat: Double(clock.now().seconds)), secret: Array(Self.secret.utf8))
    }

    /// Sends a request; `json` is serialised as the body, `rawBody` is sent as is.
    @discardableResult
    func call(
        _ method: HTTPRequest.Method, _ path: String, as user: String? = nil, token: String? = nil,
        json: Any? = nil, rawBody: String? = nil, headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = extra
        if let bearer = token ?? user.map({ self.token($0) }) {
            headers[.authorization] = "Bearer \(bearer)"
        }
        var body: ByteBuffer?
        if let json {
            body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
            headers[.contentType] = "application/json"
        } else if let rawBody {
            body = ByteBuffer(string: rawBody)
        }
        let response = try await client.execute(uri: path, method: method, headers: headers, body: body)
        let text = String(buffer: response.body)
        let parsed = text.isEmpty ? nil : try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        return Reply(status: response.status, headers: response.headers, json: parsed, rawBody: text)
    }

    /// Creates a group or room owned by `owner`; returns its id.
    func createChannel(_ type: String = "group", name: String = "Team", owner: String) async throws -> String {
        let reply = try await call(.post, "/v1/channels", as: owner, json: ["type": type, "name": name])
        guard reply.status == .created, let id = reply.string("id") else {
            throw TestFailure("create channel failed: \(reply.status) \(reply.rawBody)")
        }
        return id
    }

    /// Makes sure `users` exist (any authenticated request creates a user).
    func createUsers(_ users: String...) async throws {
        for user in users {
            let reply = try await call(.get, "/v1/blocks", as: user)
            guard reply.status == .ok else { throw TestFailure("creating \(user) failed: \(reply.rawBody)") }
        }
    }

    /// Adds `user` to `channel` as `by`.
    func addMember(_ user: String, to channel: String, by owner: String, role: String = "member") async throws {
        let reply = try await call(.post, "/v1/channels/\(channel)/members", as: owner, json: ["user_id": user, "role": role])
        guard reply.status == .created else { throw TestFailure("add member failed: \(reply.status) \(reply.rawBody)") }
    }

    /// A group owned by alice with bob as a member; returns its id.
    func channelWithBob() async throws -> String {
        try await createUsers("bob")
        let id = try await createChannel(owner: "alice")
        try await addMember("bob", to: id, by: "alice")
        return id
    }

    /// Posts a message; returns the message object.
    @discardableResult
    func send(_ body: String, to channel: String, as user: String) async throws -> [String: Any] {
        let reply = try await call(.post, "/v1/channels/\(channel)/messages", as: user, json: ["body": body])
        guard reply.status == .created else { throw TestFailure("send failed: \(reply.status) \(reply.rawBody)") }
        return reply.object
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension ChorusConfiguration {
    /// Defaults with port 0, changed by `change`.
    static func testing(_ change: (inout ChorusConfiguration) -> Void = { _ in }) -> ChorusConfiguration {
        var configuration = ChorusConfiguration()
        configuration.node.port = 0
        change(&configuration)
        return configuration
    }
}
