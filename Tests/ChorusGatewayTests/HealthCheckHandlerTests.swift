import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing

@testable import ChorusGateway

@Suite("Health checks on the event loop")
struct HealthCheckHandlerTests {
    /// The handler in front of a stand-in for the router, which records what reaches it.
    final class Routed: ChannelInboundHandler {
        typealias InboundIn = HTTPRequestPart
        typealias OutboundOut = HTTPResponsePart
        var parts: [HTTPRequestPart] = []
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { parts.append(unwrapInboundIn(data)) }
        var heads: [HTTPRequest] { parts.compactMap { if case .head(let head) = $0 { head } else { nil } } }
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
        }

        func request(_ path: String, method: HTTPRequest.Method = .get, headers: HTTPFields = [:], body: String? = nil) throws {
            try channel.writeInbound(HTTPRequestPart.head(HTTPRequest(method: method, scheme: nil, authority: "x", path: path, headerFields: headers)))
            if let body { try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: body))) }
            try channel.writeInbound(HTTPRequestPart.end(nil))
        }

        /// The router's response to the request it has, written through the handler.
        func routerResponds(_ status: HTTPResponse.Status = .unauthorized) throws {
            try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: status)))
            try channel.writeOutbound(HTTPResponsePart.end(nil))
        }

        /// Every response part written so far.
        func written() throws -> [HTTPResponsePart] {
            var parts: [HTTPResponsePart] = []
            while let part = try channel.readOutbound(as: HTTPResponsePart.self) { parts.append(part) }
            return parts
        }

        /// Requests counted in `route`'s series of 200s.
        func count(_ route: String = "/healthz") -> Int {
            let line = String(decoding: metrics.registry.emitToBuffer(), as: UTF8.self).split(separator: "\n")
                .first { $0.hasPrefix(#"chorus_http_requests_total{route="\#(route)",method="GET",status="200"}"#) }
            return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        }
    }

    @Test("a health check is answered by the handler, with the router's body and headers, counted in the /healthz series")
    func answered() throws {
        let connection = try Connection()
        try connection.request("/healthz", headers: [.requestID: "probe-7"])
        let parts = try connection.written()
        #expect(connection.routed.parts.isEmpty)
        #expect(parts.count == 3)
        guard case .head(let head) = parts.first, case .body(let body) = parts[1], case .end = parts[2] else {
            Issue.record("expected head, body, end: \(parts)")
            return
        }
        #expect(head.status == .ok)
        #expect(head.headerFields[.contentType] == "application/json; charset=utf-8")
        #expect(head.headerFields[.contentLength] == "15")
        #expect(head.headerFields[.requestID] == "probe-7")
        #expect(head.headerFields[.server] == "chorus")
        #expect(head.headerFields[.date]?.hasSuffix(" GMT") == true)
        #expect(String(buffer: body) == #"{"status":"ok"}"#)
        #expect(connection.count() == 1)
    }

    @Test("a ready node's /readyz is answered by the handler too, with the body the router writes, in its own series")
    func ready() throws {
        let connection = try Connection()
        try connection.request("/readyz")
        let parts = try connection.written()
        #expect(connection.routed.parts.isEmpty)
        guard case .head(let head) = parts.first, case .body(let body) = parts[1] else {
            Issue.record("expected head and body: \(parts)")
            return
        }
        #expect(head.status == .ok)
        #expect(head.headerFields[.contentLength] == "18")
        #expect(body == ByteBuffer(bytes: try JSONBody.encoder.encode(ReadinessBody(reasons: []))))
        #expect(connection.count("/readyz") == 1 && connection.count() == 0)
    }

    @Test("a node that is not ready leaves /readyz to the router (which gives the reasons); /healthz still answers")
    func notReady() throws {
        let connection = try Connection()
        connection.health.startDraining()
        try connection.request("/readyz")
        #expect(try connection.written().isEmpty)
        #expect(connection.routed.heads.map(\.path) == ["/readyz"])
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
        try connection.request(path, headers: [.requestID: String(repeating: "x", count: 200)], body: "ignored")
        let parts = try connection.written()
        #expect(connection.routed.parts.isEmpty)
        guard case .head(let head) = parts.first else {
            Issue.record("no response head: \(parts)")
            return
        }
        #expect(head.status == .ok)
        #expect(head.headerFields[.requestID].map { (1...16).contains($0.count) } == true)
    }

    struct Other: Sendable, CustomTestStringConvertible {
        var method: HTTPRequest.Method = .get
        var path = "/healthz"
        var headers: HTTPFields = [:]
        var testDescription: String { "\(method) \(path) \(headers)" }
    }

    @Test("anything but a plain GET of a health check goes to the router, untouched", arguments: [
        Other(method: .head), Other(method: .post), Other(path: "/healthzz"), Other(path: "/v1/healthz"), Other(path: "/healthz//"), Other(path: "/metrics"),
        Other(headers: [.upgrade: "websocket"]), Other(headers: [.expect: "100-continue"]),
    ])
    func routed(_ other: Other) throws {
        let connection = try Connection()
        try connection.request(other.path, method: other.method, headers: other.headers)
        #expect(try connection.written().isEmpty)
        #expect(connection.routed.heads.map(\.path) == [other.path])
        #expect(connection.routed.parts.count == 2)
        #expect(connection.count() == 0 && connection.count("/readyz") == 0)
    }

    @Test("behind a routed request that awaits its response, a health check is routed too, so responses keep their order")
    func pipelined() throws {
        let connection = try Connection()
        try connection.request("/v1/channels")
        try connection.request("/healthz")
        #expect(try connection.written().isEmpty)
        #expect(connection.routed.heads.map(\.path) == ["/v1/channels", "/healthz"])
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
