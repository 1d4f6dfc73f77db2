import ChorusTestSupport
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import ChorusGateway

/// The idle clock of an HTTP connection on an embedded event loop, whose time only moves when
/// a test advances it; and once on a real connection, to show the handler is in its pipeline.
@Suite("HTTP connections without a request in progress")
struct IdleConnectionHandlerTests {
    static let timeout = TimeAmount.seconds(75)

    static func connection() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(IdleConnectionHandler(timeout: timeout, logger: Logger(label: "test")))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()  // active: the accept
        return channel
    }

    static func requestHead(_ channel: EmbeddedChannel) throws {
        try channel.writeInbound(HTTPServerRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/v1/channels")))
    }

    static func respond(_ channel: EmbeddedChannel, end: Bool = true) throws {
        try channel.writeOutbound(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok)))
        if end { try channel.writeOutbound(HTTPServerResponsePart.end(nil)) }
    }

    @Test("a connection that sends nothing is closed when the timeout has passed since the accept, not before")
    func nothingSent() throws {
        let channel = try Self.connection()
        channel.embeddedEventLoop.advanceTime(by: Self.timeout - .milliseconds(1))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
    }

    @Test("a request in progress, read or answered (a stream that never ends), keeps the connection however long it takes")
    func requestInProgress() throws {
        let channel = try Self.connection()
        channel.embeddedEventLoop.advanceTime(by: .seconds(70))
        try Self.requestHead(channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(3600))
        #expect(channel.isActive)
        try Self.respond(channel, end: false)
        try channel.writeOutbound(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: "data: 1\n\n"))))
        channel.embeddedEventLoop.advanceTime(by: .seconds(3600))
        #expect(channel.isActive)
        _ = try channel.finish(acceptAlreadyClosed: false)
    }

    @Test("after each response the clock starts again; the next request stops it; a connection idle for the timeout closes")
    func betweenRequests() throws {
        let channel = try Self.connection()
        for _ in 0..<3 {
            try Self.requestHead(channel)
            try channel.writeInbound(HTTPServerRequestPart.end(nil))
            try Self.respond(channel)
            channel.embeddedEventLoop.advanceTime(by: Self.timeout - .seconds(1))
            #expect(channel.isActive)
        }
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }

    @Test("health checks answered in front of the decoder count as requests: each starts the clock again")
    func healthChecks() throws {
        let channel = EmbeddedChannel()
        let health = HealthCheckHandler(.init(metrics: NodeMetrics(), health: NodeHealth(), logger: Logger(label: "test")))
        try channel.pipeline.syncOperations.addHandlers(health, IdleConnectionHandler(timeout: Self.timeout, logger: Logger(label: "test")))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        for _ in 0..<3 {
            channel.embeddedEventLoop.advanceTime(by: Self.timeout - .seconds(1))
            try channel.writeInbound(ByteBuffer(string: "GET /healthz HTTP/1.1\r\nHost: node\r\n\r\n"))
            #expect(try channel.readOutbound(as: ByteBuffer.self) != nil)
            #expect(channel.isActive)
        }
        channel.embeddedEventLoop.advanceTime(by: Self.timeout - .seconds(1))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }

    @Test("a connection whose handler is removed (an upgraded WebSocket) is not closed by it")
    func removed() throws {
        let channel = try Self.connection()
        let handler = try channel.pipeline.syncOperations.handler(type: IdleConnectionHandler.self)
        try channel.pipeline.syncOperations.removeHandler(handler).wait()
        channel.embeddedEventLoop.advanceTime(by: Self.timeout * 2)
        #expect(channel.isActive)
        _ = try channel.finish(acceptAlreadyClosed: false)
    }

    @Test("on a node: a connection that sends nothing, and one idle after its responses, are closed; a WebSocket is not")
    func onANode() async throws {
        // Long enough that a busy machine does not stall this test between its connect and its
        // write (the requests go in one write, so the node never sees a gap between them).
        let configuration = ChorusConfiguration.testing { $0.limits.httpIdleTimeoutSeconds = 1 }
        try await TestAPI.run(.live, configuration: configuration) { api in
            let port = api.client.port!
            let token = api.token("alice")
            // Upgraded before the HTTP connections below are accepted, so it outlives two of their timeouts.
            let socket = try RawWebSocket(port: port, path: "/v1/ws?token=" + token)
            #expect(try await socket.nextText()?.contains(#""type":"hello""#) == true)

            let silent = try RawHTTPConnection(port: port)
            #expect(try await silent.closedByServer())

            let idle = try RawHTTPConnection(port: port)
            try idle.write(
                "GET /healthz HTTP/1.1\r\nHost: chorus\r\n\r\n"
                    + "GET /v1/channels HTTP/1.1\r\nHost: chorus\r\nAuthorization: Bearer \(token)\r\n\r\n")
            #expect(try await idle.response().status == 200)
            #expect(try await idle.response().status == 200)
            #expect(try await idle.closedByServer())

            try socket.sendText("not json")
            #expect(try await socket.nextText()?.contains("INVALID_REQUEST") == true)
        }
    }
}
