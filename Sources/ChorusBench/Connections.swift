import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// Where the load generator connects: `http://host:port` for Chorus, `ws://host:port/path` for a peer broker.
public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var path: String

    public init(host: String, port: Int, path: String = "/") {
        self.host = host
        self.port = port
        self.path = path
    }

    /// Parses `http://host:port[/path]` or `ws://…`; TLS schemes are refused (the benchmark speaks plain TCP).
    public init(url: String) throws(BenchError) {
        let schemes = ["http://": 80, "ws://": 80]
        guard let (scheme, defaultPort) = schemes.first(where: { url.lowercased().hasPrefix($0.key) }) else {
            throw BenchError("\(url): the URL must start with http:// or ws:// (TLS is not supported by the load generator)")
        }
        let rest = url.dropFirst(scheme.count)
        let authority = rest.prefix { $0 != "/" }
        path = rest.count > authority.count ? String(rest.dropFirst(authority.count)) : "/"
        if let colon = authority.lastIndex(of: ":") {
            guard let port = Int(authority[authority.index(after: colon)...]), (1...65535).contains(port) else {
                throw BenchError("\(url): the port must be a number from 1 to 65535")
            }
            host = String(authority[..<colon])
            self.port = port
        } else {
            host = String(authority)
            port = defaultPort
        }
        guard !host.isEmpty else { throw BenchError("\(url): the URL has no host") }
    }

    public var description: String { "\(host):\(port)" }
}

/// A benchmark failure with a message for the user.
public struct BenchError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

// MARK: - HTTP/1.1 with pipelining

/// A response: status code and body.
public struct HTTPReply: Sendable {
    public var status: Int
    public var body: ByteBuffer
    /// Whether an earlier attempt of the same request got a 503 (``HTTPConnection/requestRetryingUnavailable(_:_:token:json:)``).
    public var retried = false

    public var text: String { String(buffer: body) }
}

/// Sends requests on one keep-alive connection without waiting for earlier responses (HTTP/1.1
/// pipelining), so an open-loop sender keeps its schedule when the server is slow. Responses come back
/// in order, so each completes the oldest pending request. Lives on its channel's event loop.
final class HTTPClientHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private var context: ChannelHandlerContext?
    private var pending = CircularBuffer<(HTTPReply?) -> Void>()
    private var status = 0
    private var body = ByteBuffer()
    private let host: String

    init(host: String) { self.host = host }

    var outstanding: Int { pending.count }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    /// Writes a request; `completion` runs on the event loop with the reply, or nil if the connection fails.
    func send(method: HTTPMethod, path: String, token: String?, body: ByteBuffer?, flush: Bool = true, completion: @escaping (HTTPReply?) -> Void) {
        guard let context, context.channel.isActive else { return completion(nil) }
        var headers = HTTPHeaders([("Host", host), ("Content-Length", "\(body?.readableBytes ?? 0)")])
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        if body != nil { headers.add(name: "Content-Type", value: "application/json") }
        pending.append(completion)
        context.write(wrapOutboundOut(.head(HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers))), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.write(wrapOutboundOut(.end(nil)), promise: nil)
        if flush { context.flush() }
    }

    func flush() { context?.flush() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            body.clear()
        case .body(var part):
            body.writeBuffer(&part)
        case .end:
            guard !pending.isEmpty else { return }
            pending.removeFirst()(HTTPReply(status: status, body: body))
            body = ByteBuffer()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func failAll() {
        while !pending.isEmpty { pending.removeFirst()(nil) }
    }
}

/// One pipelined HTTP connection; its handler is used on the connection's event loop only.
final class HTTPConnection: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<HTTPClientHandler>

    private init(channel: any Channel, handler: NIOLoopBound<HTTPClientHandler>) {
        self.channel = channel
        self.handler = handler
    }

    static func connect(to endpoint: Endpoint, on loop: any EventLoop) async throws -> HTTPConnection {
        let host = endpoint.description
        let channel = try await ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(HTTPClientHandler(host: host))
                }
            }
            .connect(host: endpoint.host, port: endpoint.port).get()
        let handler = try await channel.eventLoop.submit {
            NIOLoopBound(try channel.pipeline.syncOperations.handler(type: HTTPClientHandler.self), eventLoop: channel.eventLoop)
        }.get()
        return HTTPConnection(channel: channel, handler: handler)
    }

    /// One request from any thread. A server that does not answer within `timeout` has the
    /// connection closed on it (and every request pending on it fails).
    func request(_ method: HTTPMethod, _ path: String, token: String?, json: String? = nil, timeout: TimeAmount = .seconds(30)) async throws -> HTTPReply {
        let loop = channel.eventLoop
        let handler = self.handler
        let channel = self.channel
        let body = json.map { ByteBuffer(string: $0) }
        let reply = try await loop.flatSubmit { () -> EventLoopFuture<HTTPReply?> in
            let promise = loop.makePromise(of: HTTPReply?.self)
            let deadline = loop.scheduleTask(in: timeout) { channel.close(promise: nil) }
            handler.value.send(method: method, path: path, token: token, body: body) { reply in
                deadline.cancel()
                promise.succeed(reply)
            }
            return promise.futureResult
        }.get()
        guard let reply else {
            throw BenchError("\(method) \(path): no answer from \(channel.remoteAddress.map { "\($0)" } ?? "the server") (connection closed, or no reply within \(timeout.nanoseconds / 1_000_000_000) s)")
        }
        return reply
    }

    /// ``request(_:_:token:json:timeout:)``, tried again after a 503 (a cluster still settling its
    /// ring, or a node busy past its call timeout, answers 503 "retry"), as a client would: up to
    /// five attempts, 100 ms apart and doubling. The reply says whether it came from a retry.
    func requestRetryingUnavailable(_ method: HTTPMethod, _ path: String, token: String?, json: String? = nil) async throws -> HTTPReply {
        var pause = Duration.milliseconds(100)
        var attempt = 1
        while true {
            var reply = try await request(method, path, token: token, json: json)
            reply.retried = attempt > 1
            guard reply.status == 503, attempt < 5 else { return reply }
            try await Task.sleep(for: pause)
            pause *= 2
            attempt += 1
        }
    }

    func close() async {
        try? await channel.close()
    }
}

// MARK: - WebSocket

/// Opens a WebSocket (HTTP/1.1 upgrade) and puts `makeHandler()` behind the frame codec.
enum WebSocketDialer {
    static func connect(
        to endpoint: Endpoint, path: String, subprotocol: String?, on loop: any EventLoop,
        makeHandler: @escaping @Sendable () -> any ChannelHandler
    ) async throws -> any Channel {
        let upgraded = loop.makePromise(of: Void.self)
        let host = endpoint.description
        let bootstrap = ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                let upgrader = NIOWebSocketClientUpgrader(maxFrameSize: 1 << 24) { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(makeHandler())
                        upgraded.succeed()
                        let request = try channel.pipeline.syncOperations.context(handlerType: UpgradeRequestHandler.self)
                        channel.pipeline.syncOperations.removeHandler(context: request, promise: nil)
                    }
                }
                let upgrade: NIOHTTPClientUpgradeSendableConfiguration = (upgraders: [upgrader], completionHandler: { _ in })
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(leftOverBytesStrategy: .forwardBytes, withClientUpgrade: upgrade)
                    try channel.pipeline.syncOperations.addHandler(
                        UpgradeRequestHandler(host: host, path: path, subprotocol: subprotocol, upgraded: upgraded))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: endpoint.host, port: endpoint.port).get()
        } catch {
            upgraded.fail(error)  // every promise is completed, whatever happens
            throw error
        }
        do {
            try await upgraded.futureResult.get()
        } catch {
            try? await channel.close()
            throw error
        }
        return channel
    }
}

/// Writes the upgrade request once connected; fails the upgrade if the server answers plain HTTP or hangs up.
private final class UpgradeRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let host: String
    let path: String
    let subprotocol: String?
    let upgraded: EventLoopPromise<Void>

    init(host: String, path: String, subprotocol: String?, upgraded: EventLoopPromise<Void>) {
        self.host = host
        self.path = path
        self.subprotocol = subprotocol
        self.upgraded = upgraded
    }

    func channelActive(context: ChannelHandlerContext) {
        var headers = HTTPHeaders([("Host", host), ("Content-Length", "0")])
        if let subprotocol { headers.add(name: "Sec-WebSocket-Protocol", value: subprotocol) }
        context.write(wrapOutboundOut(.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Only a refused upgrade reaches here as HTTP; after an upgrade, frames pass through.
        if case .head(let head) = unwrapInboundIn(data) {
            upgraded.fail(BenchError("WebSocket upgrade of \(path) refused: HTTP \(head.status.code)"))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        upgraded.fail(BenchError("the server closed the connection during the WebSocket upgrade"))
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // After a successful upgrade this does nothing (a completed promise stays as it is).
        upgraded.fail(BenchError("the WebSocket upgrade did not complete"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        upgraded.fail(error)
        context.close(promise: nil)
    }
}

extension ChannelHandlerContext {
    /// Writes a masked client frame (RFC 6455 requires clients to mask).
    func writeClientFrame(_ opcode: WebSocketOpcode, _ data: ByteBuffer, flush: Bool = true) {
        let frame = WebSocketFrame(fin: true, opcode: opcode, maskKey: .random(), data: data)
        if flush {
            writeAndFlush(NIOAny(frame), promise: nil)
        } else {
            write(NIOAny(frame), promise: nil)
        }
    }
}
