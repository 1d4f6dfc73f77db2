import ChorusActorSystem
import ChorusChat
@testable import ChorusGateway
import ChorusModel
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing

@Suite("Logging")
struct LoggingTests {
    /// Lines a JSONLogHandler wrote, parsed.
    final class Lines: Sendable {
        private let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var raw: [String] { lines.withLock { $0 } }
        var objects: [[String: String]] {
            raw.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String] }
        }
    }

    @Test("JSON lines: one object per line, strings escaped, metadata as keys, below-level lines dropped")
    func jsonLines() throws {
        let lines = Lines()
        var logger = Logger(label: "chorus.test") { label in JSONLogHandler(label: label, write: lines.append) }
        logger.logLevel = .info
        logger[metadataKey: "node"] = "n1"
        logger.info("said \"hi\"\n\tand \u{1}left", metadata: ["request.id": "r/1", "http.status": "200"])
        logger.debug("not written")
        logger.error("failed", error: ChatError(.notFound, "x"))
        #expect(lines.raw.count == 2)
        #expect(lines.raw.allSatisfy { $0.hasSuffix("}\n") && $0.dropLast().contains("\n") == false })
        let first = try #require(lines.objects.first)
        #expect(first["message"] == "said \"hi\"\n\tand \u{1}left")
        #expect(first["level"] == "info")
        #expect(first["label"] == "chorus.test")
        #expect(first["node"] == "n1")
        #expect(first["request.id"] == "r/1")
        #expect(first["http.status"] == "200")
        #expect(try Date(first["time"] ?? "", strategy: .iso8601.year().month().day().time(includingFractionalSeconds: true)) <= Date())
        #expect(lines.objects.last?["error"]?.contains("x") == true)
    }

    @Test("deferred metadata: lines carry the logger's metadata under the call site's, levels pass through, nothing below the level is written")
    func deferredMetadata() throws {
        let lines = Lines()
        var logger = Logger(label: "chorus.test") { label in DeferredMetadataLogHandler(JSONLogHandler(label: label, write: lines.append)) }
        logger.logLevel = .info
        logger[metadataKey: "node"] = "n1"
        logger[metadataKey: "request.id"] = "from-logger"
        #expect(logger[metadataKey: "node"] == "n1")
        logger.info("first", metadata: ["request.id": "from-call"])
        logger[metadataKey: "node"] = nil
        logger.warning("second")
        logger.debug("not written")
        let objects = lines.objects
        #expect(objects.count == 2)
        #expect(objects.first?["node"] == "n1" && objects.first?["request.id"] == "from-call")
        #expect(objects.last?["node"] == nil && objects.last?["request.id"] == "from-logger" && objects.last?["level"] == "warning")
    }

    @Test("every request is logged once with method, path (no query), status, duration and request id")
    func requestLog() async throws {
        let lines = Lines()
        var logger = Logger(label: "chorus") { label in JSONLogHandler(label: label, write: lines.append) }
        logger.logLevel = Gateway.requestLogLevel
        let node = ChatNode(actorSystem: ClusterActorSystem(), configuration: ChorusConfiguration.testing().chatNodeConfiguration, clock: ManualTimeSource())
        let router = Gateway.router(
            configuration: .testing(), dependencies: .init(node: node, jwtSecret: Array("s".utf8), cdnKey: Array("k".utf8)), logger: logger)
        try await Application(router: router).test(.router) { client in
            _ = try await client.execute(uri: "/healthz", method: .get, headers: [.requestID: "abc-1"])
            let refused = try await client.execute(uri: "/v1/channels?cursor=secret", method: .get)
            #expect(refused.status == .unauthorized)
        }
        let requests = lines.objects.filter { $0["http.method"] != nil }
        #expect(requests.count == 2)
        #expect(requests.first?["http.path"] == "/healthz")
        #expect(requests.first?["http.status"] == "200")
        #expect(requests.first?["request.id"] == "abc-1")
        #expect(requests.first?["level"] == "\(Gateway.requestLogLevel)")
        #expect(requests.last?["http.path"] == "/v1/channels")
        #expect(requests.last?["http.status"] == "401")
        #expect(requests.last?["message"] == "GET /v1/channels 401")
        #expect(requests.allSatisfy { Double($0["http.duration_ms"] ?? "") != nil })
        #expect(!lines.raw.contains { $0.contains("secret") })
    }

    @Test("error bodies have sorted keys and unescaped slashes, like every other body")
    func errorBodyFormat() async throws {
        let node = ChatNode(actorSystem: ClusterActorSystem(), configuration: ChorusConfiguration.testing().chatNodeConfiguration, clock: ManualTimeSource())
        let router = Gateway.router(configuration: .testing(), dependencies: .init(node: node, jwtSecret: Array("s".utf8), cdnKey: Array("k".utf8)))
        try await Application(router: router).test(.router) { client in
            for _ in 0..<5 {  // key order must not vary between runs of the encoder
                let reply = try await client.execute(uri: "/v1/ws", method: .get)
                #expect(
                    String(buffer: reply.body)
                        == #"{"error":{"code":"INVALID_REQUEST","message":"GET /v1/ws needs a WebSocket upgrade (Connection: Upgrade, Upgrade: websocket)"}}"#)
            }
        }
    }

    @Test("durations in the request log are milliseconds with three decimals")
    func durations() {
        #expect(APIErrorMiddleware.milliseconds(.microseconds(1_234_567)) == "1234.567")
        #expect(APIErrorMiddleware.milliseconds(.microseconds(5)) == "0.005")
        #expect(APIErrorMiddleware.milliseconds(.zero) == "0.000")
    }
}
