import ChorusAuth
import ChorusGateway
import ChorusModel
import Dispatch
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import Synchronization

/// One request to a node's router (in memory, both APIs, every route), built from the input:
///
///     byte 0   the route (index into ``routes``)
///     byte 1   who asks: a member, a server token, nobody, a non-member (low 2 bits)
///     rest     up to the first newline: the query string (percent-encoded as a client would);
///              after it: the body
///
/// A node starts with two users, a v1 group with a message, and a Stream channel, so routes
/// reach their handlers' checks, not just "not found"; every ``inputsPerSeeding`` inputs it gets
/// new ones, users included: what inputs create belongs to the users of their seeding, so a
/// user's channel list (what most queries read) stays as small as one seeding makes it, however
/// long the run. Every answer must be below 500.
final class HTTPTarget: Sendable {
    static let shared = HTTPTarget()
    private static let secret = Array("fuzz-secret".utf8)

    /// Method and path; `{group}`, `{message}`, `{channel}`, `{alice}` and `{bob}` name the
    /// seeded ones.
    static let routes: [(HTTPRequest.Method, String)] = [
        (.get, "/healthz"), (.get, "/readyz"), (.get, "/metrics"),
        (.get, "/v1/channels"), (.post, "/v1/channels"), (.get, "/v1/channels/{group}"), (.put, "/v1/channels/{group}"),
        (.get, "/v1/channels/{group}/members"), (.post, "/v1/channels/{group}/members"), (.delete, "/v1/channels/{group}/members/{bob}"),
        (.get, "/v1/channels/{group}/messages"), (.post, "/v1/channels/{group}/messages"),
        (.put, "/v1/channels/{group}/messages/{message}"), (.delete, "/v1/channels/{group}/messages/{message}"),
        (.post, "/v1/channels/{group}/messages/{message}/reactions"), (.delete, "/v1/channels/{group}/messages/{message}/reactions/smile"),
        (.get, "/v1/channels/{group}/messages/{message}/attachments/a1/url"),
        (.post, "/v1/channels/{group}/read"), (.post, "/v1/channels/{group}/hide"), (.post, "/v1/channels/{group}/show"),
        (.get, "/v1/channels/{group}/typing"), (.post, "/v1/channels/{group}/typing"),
        (.get, "/v1/users/{bob}"), (.put, "/v1/users/{alice}"), (.get, "/v1/blocks"), (.post, "/v1/blocks"), (.delete, "/v1/blocks/{bob}"),
        (.get, "/v1/admin/cluster"), (.post, "/v1/admin/faults"),
        (.post, "/users"), (.patch, "/users"), (.get, "/users"), (.get, "/app"), (.get, "/unread"), (.get, "/members"), (.get, "/search"),
        (.post, "/channels"), (.post, "/channels/messaging/query"), (.post, "/channels/delete"), (.post, "/channels/read"),
        (.post, "/channels/messaging/{channel}"), (.patch, "/channels/messaging/{channel}"), (.delete, "/channels/messaging/{channel}"),
        (.post, "/channels/messaging/{channel}/query"), (.post, "/channels/messaging/{channel}/message"),
        (.get, "/channels/messaging/{channel}/messages"), (.post, "/channels/messaging/{channel}/event"),
        (.post, "/channels/messaging/{channel}/read"), (.post, "/channels/messaging/{channel}/hide"),
        (.post, "/channels/messaging/{channel}/show"), (.post, "/channels/messaging/{channel}/stop-watching"),
        (.post, "/channels/messaging/{channel}/truncate"),
        (.get, "/messages/{message}"), (.post, "/messages/{message}"), (.put, "/messages/{message}"), (.delete, "/messages/{message}"),
        (.post, "/messages/{message}/reaction"), (.get, "/messages/{message}/reactions"), (.delete, "/messages/{message}/reaction/like"),
        (.post, "/moderation/mute/channel"), (.post, "/moderation/unmute/channel"),
        (.get, "/channeltypes"), (.post, "/channeltypes"), (.get, "/channeltypes/messaging"), (.put, "/channeltypes/messaging"),
        (.delete, "/channeltypes/fuzzed"),
        (.get, "/segments"), (.post, "/segments"), (.get, "/segments/s1"), (.put, "/segments/s1"), (.delete, "/segments/s1"),
        (.get, "/campaigns"), (.post, "/campaigns"), (.get, "/campaigns/c1"), (.put, "/campaigns/c1"), (.delete, "/campaigns/c1"),
        (.patch, "/campaigns/c1/schedule"), (.patch, "/campaigns/c1/stop"), (.patch, "/campaigns/c1/resume"), (.post, "/campaigns/c1/test"),
        (.post, "/export_channels"), (.get, "/export_channels/t1"), (.get, "/tasks/t1"), (.get, "/exports/x.json"),
        // Added later: new routes go at the end, so kept inputs keep their routes.
        (.post, "/campaigns/c1/start"), (.post, "/campaigns/c1/stop"), (.patch, "/channels/messaging/query"),
        (.delete, "/channels/messaging/query"), (.get, "/openapi/v1.yaml"), (.get, "/dashboard"),
    ]
    // Not here: GET /v1/admin/cluster/stream, which streams until the node stops.

    /// The node, and the ids of what it was last seeded with.
    private struct World: Sendable {
        let node: ChorusNode
        let responder: RouterResponder<ChorusRequestContext>
        var group = "", message = "", channel = "fuzz-0", seedings = 0
        /// A member, another member, and a user in none of the seeded channels.
        var alice: String { "alice-\(seedings)" }
        var bob: String { "bob-\(seedings)" }
        var carol: String { "carol-\(seedings)" }
    }

    /// Inputs between seedings: inputs delete what the routes name, and later ones would
    /// otherwise hit "not found" only. (The node itself stays: a dropped node is not freed, its
    /// parts hold each other, and LeakSanitizer would report it; a node lives as long as its
    /// process.)
    static let inputsPerSeeding = 1_000

    private let clock = ManualTimeSource()
    private let channel = EmbeddedChannel()
    private let logger = Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() })
    private let state: Mutex<(world: World, inputs: Int)>

    private init() {
        state = Mutex((Self.makeWorld(clock: clock, logger: logger), 0))
        seed()
    }

    private static func makeWorld(clock: ManualTimeSource, logger: Logger) -> World {
        var configuration = ChorusConfiguration()
        configuration.limits.userRequestsPerSecond = 1_000_000_000
        configuration.limits.userRequestBurst = 1_000_000_000
        do {
            let node = try ChorusNode(
                configuration: configuration, storage: .memory, clock: clock, jwtSecret: secret, cdnKey: Array("fuzz-cdn".utf8), logger: logger)
            let responder = Gateway.router(
                configuration: configuration, dependencies: Gateway.Dependencies(node: node.chat, jwtSecret: secret, cdnKey: Array("fuzz-cdn".utf8)),
                logger: logger
            ).buildResponder()
            return World(node: node, responder: responder)
        } catch {
            fatalError("chorus-fuzz: the node did not start: \(error)")
        }
    }

    /// Two users, alice's group with bob and a message, and a Stream channel of both (new ones
    /// at each seeding).
    private func seed() {
        let world = state.withLock { state in
            state.world.seedings += 1
            return state.world
        }
        let (alice, bob, channel) = (world.alice, world.bob, "fuzz-\(world.seedings)")
        let group = object(send(.post, "/v1/channels", as: 0, body: Array(#"{"type": "group", "name": "Fuzz"}"#.utf8)))["id"] as? String ?? ""
        _ = send(.post, "/v1/channels/\(group)/members", as: 0, body: Array(#"{"user_id": "\#(bob)"}"#.utf8))
        let message = object(send(.post, "/v1/channels/\(group)/messages", as: 0, body: Array(#"{"body": "hello"}"#.utf8)))["id"] as? String ?? ""
        _ = send(
            .post, "/channels/messaging/\(channel)/query?api_key=chorus", as: 1,
            body: Array(#"{"data": {"created_by_id": "\#(alice)", "members": ["\#(alice)", "\#(bob)"]}}"#.utf8))
        guard !group.isEmpty, !message.isEmpty else { fatalError("chorus-fuzz: seeding the node failed (group \(group), message \(message))") }
        state.withLock { ($0.world.group, $0.world.message, $0.world.channel) = (group, message, channel) }
    }

    func run(_ bytes: [UInt8]) {
        guard bytes.count >= 2 else { return }
        let reseed = state.withLock { state in
            state.inputs += 1
            return state.inputs.isMultiple(of: Self.inputsPerSeeding)
        }
        if reseed { seed() }
        let (method, template) = Self.routes[Int(bytes[0]) % Self.routes.count]
        let rest = bytes[2...]
        let newline = rest.firstIndex(of: UInt8(ascii: "\n")) ?? rest.endIndex
        let query = Self.percentEncoded(rest[rest.startIndex..<newline])
        let body = newline < rest.endIndex ? Array(rest[(newline + 1)...]) : []
        let world = state.withLock { $0.world }
        var path = template.replacingOccurrences(of: "{group}", with: world.group).replacingOccurrences(of: "{message}", with: world.message)
            .replacingOccurrences(of: "{channel}", with: world.channel).replacingOccurrences(of: "{alice}", with: world.alice)
            .replacingOccurrences(of: "{bob}", with: world.bob)
        let isStream = !path.hasPrefix("/v1/")
        path += "?" + (isStream ? "api_key=chorus&" : "") + query
        let status = send(method, path, as: Int(bytes[1] & 3), body: body).status
        if status.code >= 500 {
            fatalError("chorus-fuzz: \(method) \(path) answered \(status) (input: \(bytes))")
        }
        clock.advance(by: .milliseconds(1))
    }

    /// `who`: 0 alice (a member), 1 a server token, 2 no token, 3 carol (not a member).
    private func send(_ method: HTTPRequest.Method, _ path: String, as who: Int, body: [UInt8]) -> (status: HTTPResponse.Status, body: [UInt8]) {
        var headers: HTTPFields = [.contentType: "application/json"]
        let now = Double(clock.now().seconds)
        let world = state.withLock { $0.world }
        let user: String? = [0: world.alice, 3: world.carol][who]
        if who != 2 {
            let token = JWT.sign(JWT.Claims(userID: user, exp: now + 3600, iat: now), secret: Self.secret)
            headers[.authorization] = path.hasPrefix("/v1/") ? "Bearer \(token)" : token
            headers[HTTPField.Name("stream-auth-type")!] = "jwt"
        }
        let request = Request(
            head: HTTPRequest(method: method, scheme: "http", authority: "127.0.0.1", path: path, headerFields: headers),
            body: RequestBody(buffer: ByteBuffer(bytes: Array(body))))
        let context = ChorusRequestContext(source: ApplicationRequestContextSource(channel: channel, logger: logger))
        let answer = Mutex<(HTTPResponse.Status, [UInt8])>((.internalServerError, []))
        let done = DispatchSemaphore(value: 0)
        let responder = state.withLock { $0.world.responder }
        Task {
            defer { done.signal() }
            do {
                let response = try await responder.respond(to: request, context: context)
                let collector = Collector()
                try await response.body.write(collector)
                answer.withLock { $0 = (response.status, collector.bytes.all) }
            } catch let error as any HTTPResponseError {
                answer.withLock { $0 = (error.status, []) }
            } catch {
                answer.withLock { $0 = (.internalServerError, Array("\(error)".utf8)) }
            }
        }
        done.wait()
        return answer.withLock { $0 }
    }

    private func object(_ reply: (status: HTTPResponse.Status, body: [UInt8])) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any] ?? [:]
    }

    /// The bytes as a client would put them in a query: unreserved characters, `=` and `&` as
    /// they are, everything else percent-encoded.
    static func percentEncoded(_ bytes: some Collection<UInt8>) -> String {
        var text = ""
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                text.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"), UInt8(ascii: "="), UInt8(ascii: "&"):
                text.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                text += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return text
    }
}

/// Gathers a response body's bytes (a writer is consumed, so they go to a shared box).
private struct Collector: ResponseBodyWriter {
    let bytes = SharedBytes()

    final class SharedBytes: Sendable {
        private let storage = Mutex<[UInt8]>([])
        func append(_ bytes: some Sequence<UInt8>) { storage.withLock { $0 += bytes } }
        var all: [UInt8] { storage.withLock { $0 } }
    }

    func write(_ buffer: ByteBuffer) async throws {
        bytes.append(buffer.readableBytesView)
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
