import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import ChorusGateway

@Suite("Health checks on the event loop")
struct HealthCheckHandlerTests {
    /// The handler in front of a stand-in for the router, which records what reaches it.
    final class Routed: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        var parts: [HTTPServerRequestPart] = []
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { parts.append(unwrapInboundIn(data)) }
        var heads: [HTTPRequestHead] { parts.compactMap { if case .head(let head) = $0 { head } else { nil } } }
    }

    struct Connection {
        let channel: EmbeddedChannel
        let routed: Routed
        let metrics: NodeMetrics
        let health: NodeHealth

        init() throws {
            metrics = NodeMetrics()
            health = NodeHealth()
            routed = Routed()
            channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.addHandler(
                HealthCheckHandler(.init(metrics: metrics, health: health, logger: Logger(label: "test"))))
            try channel.pipeline.syncOperations.addHandler(routed)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8080)).wait()
        }

        func request(
            _ path: String, method: HTTPMethod = .GET, version: HTTPVersion = .http1_1, headers: HTTPHeaders = [:], body: String? = nil
        ) throws {
            try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: version, method: method, uri: path, headers: headers)))
            if let body { try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: body))) }
            try channel.writeInbound(HTTPServerRequestPart.end(nil))
        }

        /// The router's response to the request it has, written through the handler.
        func routerResponds(_ status: HTTPResponseStatus = .unauthorized) throws {
            try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: status)))
            try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        }

        /// Every response part written so far.
        func written() throws -> [HTTPServerResponsePart] {
            var parts: [HTTPServerResponsePart] = []
            while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) { parts.append(part) }
            return parts
        }

        /// Requests counted in `route`'s series of 200s.
        func count(_ route: String = "/healthz") -> Int {
            let line = String(decoding: metrics.registry.emitToBuffer(), as: UTF8.self).split(separator: "\n")
                .first { $0.hasPrefix(#"chorus_http_requests_total{route="\#(route)",method="GET",status="200"}"#) }
            return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        }
    }

    /// The response's head and body, if the parts are head, body and end.
    static func response(_ parts: [HTTPServerResponsePart]) -> (head: HTTPResponseHead, body: ByteBuffer)? {
        guard parts.count == 3, case .head(let head) = parts[0], case .body(.byteBuffer(let body)) = parts[1], case .end = parts[2] else {
            Issue.record("expected head, body, end: \(parts)")
            return nil
        }
        return (head, body)
    }

    @Test("a health check is answered by the handler, with the router's body and headers, counted in the /healthz series")
    func answered() throws {
        let connection = try Connection()
        try connection.request("/healthz", headers: ["X-Request-Id": "probe-7"])
        guard let (head, body) = Self.response(try connection.written()) else { return }
        #expect(connection.routed.parts.isEmpty)
        #expect(head.status == .ok && head.version == .http1_1)
        #expect(head.headers["Content-Type"] == ["application/json; charset=utf-8"])
        #expect(head.headers["Content-Length"] == ["15"])
        #expect(head.headers["X-Request-Id"] == ["probe-7"])
        #expect(head.headers["Server"] == ["chorus"])
        #expect(head.headers["Date"].first?.hasSuffix(" GMT") == true)
        #expect(!head.headers.contains(name: "Connection"))
        #expect(String(buffer: body) == #"{"status":"ok"}"#)
        #expect(connection.count() == 1)
        #expect(connection.channel.isActive)
    }

    @Test("a check that asks to close the connection gets Connection: close, and the close")
    func close() throws {
        let connection = try Connection()
        try connection.request("/healthz", headers: ["Connection": "close"])
        guard let (head, _) = Self.response(try connection.written()) else { return }
        #expect(head.headers["Connection"] == ["close"])
        connection.channel.embeddedEventLoop.run()
        #expect(!connection.channel.isActive)
        #expect(connection.count() == 1)
    }

    @Test("a ready node's /readyz is answered by the handler too, with the body the router writes, in its own series")
    func ready() throws {
        let connection = try Connection()
        try connection.request("/readyz")
        guard let (head, body) = Self.response(try connection.written()) else { return }
        #expect(connection.routed.parts.isEmpty)
        #expect(head.status == .ok)
        #expect(head.headers["Content-Length"] == ["18"])
        #expect(body == ByteBuffer(bytes: try JSONBody.encoder.encode(ReadinessBody(reasons: []))))
        #expect(connection.count("/readyz") == 1 && connection.count() == 0)
    }

    @Test("a node that is not ready leaves /readyz to the router (which gives the reasons); /healthz still answers")
    func notReady() throws {
        let connection = try Connection()
        connection.health.startDraining()
        try connection.request("/readyz")
        #expect(try connection.written().isEmpty)
        #expect(connection.routed.heads.map(\.uri) == ["/readyz"])
        try connection.routerResponds(.serviceUnavailable)
        _ = try connection.written()
        try connection.request("/healthz")
        #expect(try connection.written().count == 3)
    }

    @Test("a query, a trailing slash and a GET body are still a health check; a bad request id is replaced", arguments: [
        "/healthz?probe=lb", "/healthz/", "/healthz/?x", "/readyz?x", "/readyz/",
    ])
    func variants(_ path: String) throws {
        let connection = try Connection()
        try connection.request(path, headers: ["X-Request-Id": String(repeating: "x", count: 200)], body: "ignored")
        guard let (head, _) = Self.response(try connection.written()) else { return }
        #expect(connection.routed.parts.isEmpty)
        #expect(head.status == .ok)
        #expect(head.headers["X-Request-Id"].first.map { (1...16).contains($0.count) } == true)
    }

    struct Other: Sendable, CustomTestStringConvertible {
        var method: HTTPMethod = .GET
        var path = "/healthz"
        var version: HTTPVersion = .http1_1
        var headers: HTTPHeaders = [:]
        var testDescription: String { "\(method) \(path) \(version) \(headers)" }
    }

    @Test("anything but a plain HTTP/1.1 GET of a health check goes to the router, untouched", arguments: [
        Other(method: .HEAD), Other(method: .POST), Other(path: "/healthzz"), Other(path: "/v1/healthz"), Other(path: "/healthz//"), Other(path: "/metrics"),
        Other(path: "http://node/healthz"), Other(version: .http1_0), Other(headers: ["Upgrade": "websocket"]), Other(headers: ["Expect": "100-continue"]),
    ])
    func routed(_ other: Other) throws {
        let connection = try Connection()
        try connection.request(other.path, method: other.method, version: other.version, headers: other.headers)
        #expect(try connection.written().isEmpty)
        #expect(connection.routed.heads.map(\.uri) == [other.path])
        #expect(connection.routed.parts.count == 2)
        #expect(connection.count() == 0 && connection.count("/readyz") == 0)
    }

    @Test("behind a routed request that awaits its response, a health check is routed too, so responses keep their order")
    func pipelined() throws {
        let connection = try Connection()
        try connection.request("/v1/channels")
        try connection.request("/healthz")
        #expect(try connection.written().isEmpty)
        #expect(connection.routed.heads.map(\.uri) == ["/v1/channels", "/healthz"])
        // Both routed responses end; the connection is idle again and the next check is answered here.
        try connection.routerResponds()
        try connection.routerResponds(.ok)
        #expect(try connection.written().count == 4)
        try connection.request("/healthz")
        #expect(connection.routed.heads.count == 2)
        #expect(try connection.written().count == 3)
        #expect(connection.count() == 1)
    }

    @Test("the Date header is RFC 9110's IMF-fixdate", arguments: [
        (0, "Thu, 01 Jan 1970 00:00:00 GMT"), (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
        (1_796_382_150, "Fri, 04 Dec 2026 11:02:30 GMT"), (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
    ])
    func date(_ seconds: Int, _ text: String) {
        #expect(HTTPDate.format(seconds) == text)
    }

    @Test("a node answers them on a real connection, with every header the router gave them, and counts them")
    func live() async throws {
        try await TestAPI.run(.live) { api in
            for _ in 0..<3 {
                let reply = try await api.call(.get, "/healthz", headers: [.requestID: "lb-1"])
                #expect(reply.status == .ok)
                #expect(reply.rawBody == #"{"status":"ok"}"#)
                #expect(reply.headers[.contentType] == "application/json; charset=utf-8")
                #expect(reply.headers[.requestID] == "lb-1")
                #expect(reply.headers[.server] == "chorus")
                #expect(reply.headers[.date] != nil)
            }
            let ready = try await api.call(.get, "/readyz")
            #expect(ready.status == .ok && ready.rawBody == #"{"status":"ready"}"# && ready.headers[.server] == "chorus")
            let metrics = try await api.call(.get, "/metrics").rawBody
            #expect(metrics.contains(#"chorus_http_requests_total{route="/healthz",method="GET",status="200"} 3"#))
            #expect(metrics.contains(#"chorus_http_requests_total{route="/readyz",method="GET",status="200"} 1"#))
        }
    }
}
