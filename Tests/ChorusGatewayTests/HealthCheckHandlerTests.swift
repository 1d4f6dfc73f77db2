import ChorusTestSupport
import Foundation
import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import Testing

@testable import ChorusGateway

@Suite("Health checks on the event loop")
struct HealthCheckHandlerTests {
    /// A stand-in for NIO's decoder and the router behind the handler: records the bytes and
    /// user events that reach it.
    final class Forwarded: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var bytes = ByteBuffer()
        var reads = 0
        var answered = 0
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var read = unwrapInboundIn(data)
            bytes.writeBuffer(&read)
            reads += 1
        }
        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if event is HealthCheckHandler.Answered { answered += 1 }
        }
        var text: String { String(buffer: bytes) }
    }

    struct Connection {
        let channel: EmbeddedChannel
        let forwarded: Forwarded
        let metrics: NodeMetrics
        let health: NodeHealth

        init() throws {
            metrics = NodeMetrics()
            health = NodeHealth()
            forwarded = Forwarded()
            channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.addHandler(
                HealthCheckHandler(.init(metrics: metrics, health: health, logger: Logger(label: "test"))))
            try channel.pipeline.syncOperations.addHandler(forwarded)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8080)).wait()
        }

        func read(_ text: String) throws {
            try channel.writeInbound(ByteBuffer(string: text))
        }

        /// Every byte written so far, and the number of writes.
        func written() throws -> (text: String, writes: Int) {
            var text = ""
            var writes = 0
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
                text += String(buffer: buffer)
                writes += 1
            }
            return (text, writes)
        }

        /// The responses written so far.
        func responses() throws -> [Response] {
            try Response.parse(written().text)
        }

        /// Whether the handler is still in the pipeline (it leaves at the first bytes that are not a check).
        var inFront: Bool {
            (try? channel.pipeline.syncOperations.context(handlerType: HealthCheckHandler.self)) != nil
        }

        /// Requests counted in `route`'s series of 200s.
        func count(_ route: String = "/healthz") -> Int {
            let line = String(decoding: metrics.registry.emitToBuffer(), as: UTF8.self).split(separator: "\n")
                .first { $0.hasPrefix(#"chorus_http_requests_total{route="\#(route)",method="GET",status="200"}"#) }
            return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        }
    }

    /// A response as written: its status line, headers in order, and a body of its Content-Length.
    struct Response {
        var statusLine: String
        var headers: [(name: String, value: String)]
        var body: String

        func header(_ name: String) -> [String] { headers.filter { $0.name == name }.map(\.value) }

        /// Splits `text` into responses; records an issue for bytes that are not one.
        static func parse(_ text: String) -> [Response] {
            var rest = Substring(text)
            var responses: [Response] = []
            while !rest.isEmpty {
                guard let blank = rest.range(of: "\r\n\r\n") else {
                    Issue.record("a head without its blank line: \(rest)")
                    return responses
                }
                let lines = rest[..<blank.lowerBound].components(separatedBy: "\r\n")
                let headers = lines.dropFirst().map { line in
                    let (name, value) = line.split(separator: ":", maxSplits: 1).map(String.init).splitPair
                    return (name: name, value: value.trimmingCharacters(in: .whitespaces))
                }
                let length = headers.first { $0.name == "Content-Length" }.flatMap { Int($0.value) } ?? 0
                let body = rest[blank.upperBound...].prefix(length)
                responses.append(Response(statusLine: lines[0], headers: headers, body: String(body)))
                rest = rest[body.endIndex...]
            }
            return responses
        }
    }

    static func check(_ path: String = "/healthz", _ headers: String = "Host: node\r\n") -> String {
        "GET \(path) HTTP/1.1\r\n\(headers)\r\n"
    }

    @Test("a health check is answered by the handler, with the router's body and headers, counted in the /healthz series")
    func answered() throws {
        let connection = try Connection()
        try connection.read(Self.check("/healthz", "Host: node\r\nX-Request-Id: probe-7\r\nUser-Agent: kube-probe/1.31\r\n"))
        let responses = try connection.responses()
        #expect(responses.count == 1)
        guard let response = responses.first else { return }
        #expect(response.statusLine == "HTTP/1.1 200 OK")
        #expect(response.headers.map(\.name) == ["Content-Type", "Content-Length", "X-Request-Id", "Date", "Server"])
        #expect(response.header("Content-Type") == ["application/json; charset=utf-8"])
        #expect(response.header("Content-Length") == ["15"])
        #expect(response.header("X-Request-Id") == ["probe-7"])
        #expect(response.header("Server") == ["chorus"])
        #expect(response.header("Date").first?.hasSuffix(" GMT") == true)
        #expect(response.body == #"{"status":"ok"}"#)
        #expect(connection.forwarded.reads == 0 && connection.forwarded.answered == 1)
        #expect(connection.count() == 1)
        #expect(connection.channel.isActive && connection.inFront)
    }

    @Test("a check that asks to close the connection gets Connection: close, and the close; what follows it is ignored")
    func close() throws {
        let connection = try Connection()
        try connection.read(Self.check("/healthz", "Host: node\r\nconnection: keep-alive, Close\r\n") + Self.check("/readyz"))
        let responses = try connection.responses()
        #expect(responses.count == 1)
        #expect(responses.first?.header("Connection") == ["close"])
        connection.channel.embeddedEventLoop.run()
        #expect(!connection.channel.isActive)
        #expect(connection.forwarded.reads == 0)
        #expect(connection.count() == 1 && connection.count("/readyz") == 0)
    }

    @Test("a ready node's /readyz is answered by the handler too, with the body the router writes, in its own series")
    func ready() throws {
        let connection = try Connection()
        try connection.read(Self.check("/readyz"))
        let responses = try connection.responses()
        #expect(responses.count == 1)
        #expect(responses.first?.header("Content-Length") == ["18"])
        #expect(responses.first?.body == String(decoding: try JSONBody.encoder.encode(ReadinessBody(reasons: [])), as: UTF8.self))
        #expect(connection.forwarded.reads == 0)
        #expect(connection.count("/readyz") == 1 && connection.count() == 0)
    }

    @Test("a node that is not ready leaves /readyz to the router (which gives the reasons), and the connection's later checks too")
    func notReady() throws {
        let connection = try Connection()
        connection.health.startDraining()
        try connection.read(Self.check("/readyz"))
        try connection.read(Self.check("/healthz"))
        #expect(try connection.written().writes == 0)
        #expect(connection.forwarded.text == Self.check("/readyz") + Self.check("/healthz"))
        #expect(!connection.inFront)
    }

    @Test("a query, a trailing slash, header names in any case and a long or odd request id are still a check", arguments: [
        ("/healthz?probe=lb", "X-Request-Id: lb-1\r\n"), ("/healthz/", "x-request-id:lb-1\r\n"), ("/healthz/?x", "X-REQUEST-ID: \tlb-1 \r\n"),
        ("/readyz?x", "X-Request-Id: " + String(repeating: "x", count: 200) + "\r\n"), ("/readyz/", "X-Request-Id: caf\u{E9}\r\n"),
        ("/healthz", "X-Request-Id: \r\n"), ("/healthz", ""),
    ])
    func variants(_ path: String, _ headers: String) throws {
        let connection = try Connection()
        try connection.read(Self.check(path, headers))
        let responses = try connection.responses()
        #expect(responses.count == 1)
        #expect(connection.forwarded.reads == 0)
        let id = responses.first?.header("X-Request-Id").first ?? ""
        #expect(headers.contains("lb-1") ? id == "lb-1" : (1...16).contains(id.count))
    }

    @Test("anything but the plainest HTTP/1.1 GET of a check goes on to the decoder byte for byte, and the handler leaves", arguments: [
        "HEAD /healthz HTTP/1.1\r\n\r\n", "get /healthz HTTP/1.1\r\n\r\n", "POST /healthz HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        HealthCheckHandlerTests.check("/healthzz"), HealthCheckHandlerTests.check("/v1/healthz"), HealthCheckHandlerTests.check("/healthz//"), HealthCheckHandlerTests.check("/metrics"), HealthCheckHandlerTests.check("http://node/healthz"), HealthCheckHandlerTests.check("*"),
        "GET /healthz HTTP/1.0\r\n\r\n", "GET /healthz HTTP/1.1 \r\n\r\n", "GET  /healthz HTTP/1.1\r\n\r\n",
        HealthCheckHandlerTests.check("/healthz", "Upgrade: websocket\r\nConnection: Upgrade\r\n"), HealthCheckHandlerTests.check("/healthz", "Expect: 100-continue\r\n"),
        HealthCheckHandlerTests.check("/healthz", "Content-Length: 0\r\n"), HealthCheckHandlerTests.check("/healthz", "content-length: 5\r\n") + "hello",
        HealthCheckHandlerTests.check("/healthz", "Transfer-Encoding: chunked\r\n") + "0\r\n\r\n",
        HealthCheckHandlerTests.check("/healthz", "Host: node\r\n folded\r\n"), HealthCheckHandlerTests.check("/healthz", "Host : node\r\n"), HealthCheckHandlerTests.check("/healthz", "Host\r\n"),
        HealthCheckHandlerTests.check("/healthz", ": node\r\n"), HealthCheckHandlerTests.check("/healthz", "Host: no\u{1}de\r\n"), HealthCheckHandlerTests.check("/healthz", "Ho(st: node\r\n"),
        "GET /healthz HTTP/1.1\nHost: node\n\n", "GET /healthz HTTP/1.1\r\nHost: node\n\r\n", "GET /healthz HTTP/1.1\r\nHost: a\rb\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: node\r\n", "GET /heal", "",
        HealthCheckHandlerTests.check("/healthz", "X-Padding: " + String(repeating: "p", count: HealthCheckRequest.maxBytes) + "\r\n"),
        "this is not HTTP\r\n\r\n",
    ])
    func forwarded(_ request: String) throws {
        let connection = try Connection()
        try connection.read(request)
        #expect(try connection.written().writes == 0)
        #expect(connection.forwarded.text == request)
        #expect(connection.forwarded.answered == 0)
        #expect(connection.count() == 0 && connection.count("/readyz") == 0)
        #expect(connection.inFront == request.isEmpty)
    }

    @Test("several checks in one read are answered in order with one flush; bytes after them go to the decoder, and so does all that follows")
    func severalInOneRead() throws {
        let connection = try Connection()
        let other = "GET /v1/channels HTTP/1.1\r\nHost: node\r\n\r\n"
        try connection.read(
            Self.check("/healthz", "X-Request-Id: one\r\n") + Self.check("/readyz", "X-Request-Id: two\r\n") + other + Self.check())
        let responses = try connection.responses()
        #expect(responses.map { $0.header("X-Request-Id") } == [["one"], ["two"]])
        #expect(responses.map(\.body) == [#"{"status":"ok"}"#, #"{"status":"ready"}"#])
        #expect(connection.forwarded.text == other + Self.check())
        #expect(connection.forwarded.answered == 1)
        #expect(!connection.inFront)
        try connection.read(Self.check())
        #expect(try connection.written().writes == 0)
        #expect(connection.forwarded.text == other + Self.check() + Self.check())
    }

    @Test("a check split across reads goes to the decoder whole")
    func split() throws {
        let connection = try Connection()
        try connection.read(Self.check())
        _ = try connection.written()
        let request = Self.check("/healthz", "X-Request-Id: two\r\n")
        let cut = request.index(request.startIndex, offsetBy: 20)
        try connection.read(String(request[..<cut]))
        try connection.read(String(request[cut...]))
        #expect(try connection.written().writes == 0)
        #expect(connection.forwarded.text == request)
        #expect(connection.count() == 1)
    }

    @Test("a client that does not read (the socket is not writable) gets its checks answered by the pipeline behind")
    func notWritable() throws {
        let connection = try Connection()
        connection.channel.isWritable = false
        try connection.read(Self.check())
        #expect(try connection.written().writes == 0)
        #expect(connection.forwarded.text == Self.check())
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

    @Test("on a real connection: checks kept alive, several in one write, then a routed request, after which the router answers checks")
    func liveConnection() async throws {
        try await TestAPI.run(.live) { api in
            let connection = try RawHTTPConnection(port: api.client.port!)
            try connection.write(Self.check("/healthz", "Host: chorus\r\nX-Request-Id: one\r\n") + Self.check("/readyz", "Host: chorus\r\nX-Request-Id: two\r\n"))
            try connection.write(Self.check("/healthz", "Host: chorus\r\nX-Request-Id: three\r\n"))
            try connection.write("GET /v1/channels HTTP/1.1\r\nHost: chorus\r\nX-Request-Id: four\r\n\r\n")
            try connection.write(Self.check("/healthz", "Host: chorus\r\nX-Request-Id: five\r\n"))
            var replies: [RawHTTPResponse] = []
            for _ in 0..<5 { replies.append(try await connection.response()) }
            #expect(replies.map { $0.headers["x-request-id"] } == ["one", "two", "three", "four", "five"])
            #expect(replies.map(\.status) == [200, 200, 200, 401, 200])
            #expect(replies.map(\.text)[4] == #"{"status":"ok"}"#)
            #expect(replies[4].headers["content-type"] == replies[0].headers["content-type"])
            let metrics = try await api.call(.get, "/metrics").rawBody
            #expect(metrics.contains(#"chorus_http_requests_total{route="/healthz",method="GET",status="200"} 3"#))
        }
    }
}

extension Array where Element == String {
    /// The first two elements, the second empty if there is none.
    fileprivate var splitPair: (String, String) { (first ?? "", count > 1 ? self[1] : "") }
}
