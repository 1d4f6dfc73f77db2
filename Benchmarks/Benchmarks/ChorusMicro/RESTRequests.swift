import ChorusActorSystem
import ChorusAuth
import ChorusChat
import ChorusGateway
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOEmbedded
import Synchronization

/// A REST request without a socket or a thread hop: Hummingbird's router, Chorus's middleware and
/// route, and the engine of a node that logs to memory (no WAL, no fsync). What is left of a
/// request's server CPU beyond these rows is the socket, HTTP parsing, NIO's async bridging and
/// the thread hops (docs/benchmarks.md, "Micro benchmarks").
final class RESTBench: Sendable {
    let node: ChatNode
    let responder: RouterResponder<ChorusRequestContext>
    let token: String
    let channel = NIOAsyncTestingChannel()
    let logger = Logger(label: "chorus.micro")

    init() throws {
        var configuration = ChorusConfiguration()
        configuration.limits.userRequestsPerSecond = 1e9
        configuration.limits.userRequestBurst = 1e9
        let secret = Array("micro-benchmark-secret".utf8)
        node = ChatNode(actorSystem: ClusterActorSystem(), configuration: configuration.chatNodeConfiguration)
        responder = Gateway.router(configuration: configuration, dependencies: .init(node: node, jwtSecret: secret, cdnKey: secret))
            .buildResponder()
        token = JWT.sign(JWT.Claims(userID: "alice"), secret: secret)
    }

    /// Answers one request; returns the response body.
    func respond(_ method: HTTPRequest.Method, _ path: String, body: String? = nil) async throws -> ByteBuffer {
        var headers: HTTPFields = [.authorization: "Bearer \(token)"]
        var requestBody = RequestBody(buffer: ByteBuffer())
        if let body {
            headers[.contentType] = "application/json"
            headers[.contentLength] = String(body.utf8.count)
            requestBody = RequestBody(buffer: ByteBuffer(string: body))
        }
        let request = Request(
            head: HTTPRequest(method: method, scheme: "http", authority: "localhost", path: path, headerFields: headers), body: requestBody)
        let context = ChorusRequestContext(source: .init(channel: channel, logger: logger))
        let response = try await responder.respond(to: request, context: context)
        let collected = CollectedBody()
        try await response.body.write(BodyCollector(collected: collected))
        return collected.buffer.withLock { $0 }
    }

    private let group = Mutex<String?>(nil)

    /// The id of alice's one group channel, created by the first call.
    func aliceGroup() async throws -> String {
        if let id = group.withLock({ $0 }) { return id }
        let created = try await respond(.post, "/v1/channels", body: #"{"type":"group","name":"Bench"}"#)
        let object = try JSONSerialization.jsonObject(with: Data(buffer: created)) as? [String: Any]
        guard let id = object?["id"] as? String else { throw BenchSetupError(reply: String(buffer: created)) }
        group.withLock { $0 = id }
        return id
    }
}

struct BenchSetupError: Error { var reply: String }

/// A response's body, as the writer below collects it.
private final class CollectedBody: Sendable {
    let buffer = Mutex(ByteBuffer())
}

private struct BodyCollector: ResponseBodyWriter {
    let collected: CollectedBody
    mutating func write(_ buffer: ByteBuffer) async throws { collected.buffer.withLock { $0.writeImmutableBuffer(buffer) } }
    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
