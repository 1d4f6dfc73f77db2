import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// Each accepted connection: HTTP/1.1 for the router (``RouterRequestHandler``), or, after an
/// upgrade, a WebSocket served by channel handlers on its event loop (``ServerWebSocket``).
///
/// Hummingbird runs a connection's ``handle(value:logger:)`` in a task and, at a graceful
/// shutdown, waits for it: an HTTP connection's routes the requests its handlers read until the
/// connection closes; an upgraded socket's returns at once, so an idle WebSocket costs no task
/// (docs/realtime.md, "How it is built").
struct HTTPServerChannel: ServerChildChannel {
    /// Starts serving an upgraded socket (on its event loop, its handlers in place).
    typealias WebSocketService = @Sendable (ServerWebSocket, Logger) -> Void
    /// The service for an upgrade request, or `nil` to refuse the upgrade (400).
    typealias Upgrade = @Sendable (HTTPRequestHead) -> WebSocketService?

    enum Negotiated: Sendable {
        case webSocket
        case http
    }

    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        let channel: any Channel
        /// The requests of an HTTP connection (``RouterRequestHandler``).
        let requests: AsyncStream<RouterRequestHandler.Job>
    }

    let respond: RouterRequestHandler.Respond
    /// The longest request body read (``RouterRequestHandler``).
    let maxBodyBytes: Int
    let http1: HTTP1Channel.Configuration
    /// How long a connection may go without a request in progress (``IdleConnectionHandler``); `nil`: forever.
    let idleTimeout: Duration?
    let webSocket: ServerWebSocket.Configuration
    /// `GET /healthz` and `/readyz` answered on the event loop (``HealthCheckHandler``); `nil` routes them.
    let healthCheck: HealthCheckHandler.Configuration?
    let upgrade: Upgrade

    init(
        respond: @escaping RouterRequestHandler.Respond, maxBodyBytes: Int, http1: HTTP1Channel.Configuration = .init(),
        idleTimeout: Duration? = nil, webSocket: ServerWebSocket.Configuration, healthCheck: HealthCheckHandler.Configuration? = nil, upgrade: @escaping Upgrade
    ) {
        self.respond = Self.redirectingLateUpgrades(respond)
        self.maxBodyBytes = maxBodyBytes
        self.http1 = http1
        self.idleTimeout = idleTimeout
        self.webSocket = webSocket
        self.healthCheck = healthCheck
        self.upgrade = upgrade
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            // A connection keeps its receive buffer between reads: start it small (chat requests
            // and client frames are small; it grows for a connection whose reads fill it), so an
            // idle socket holds 512 bytes, not NIO's default 2 KiB.
            try channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: Self.receiveBuffers)
            // Between the upgrade's decision and its pipeline (both on the event loop).
            let service = NIOLoopBoundBox<WebSocketService?>(nil, eventLoop: channel.eventLoop)
            // The first request named a WebSocket in its `Upgrade` (FirstRequestUpgrade).
            let askedForWebSocket = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
            // Until the first request: bytes that are not HTTP get NIO's 400, and then a close.
            let closeOnError = NIOLoopBound(CloseOnParseError(), eventLoop: channel.eventLoop)
            let idle = idleTimeout.map { NIOLoopBound(IdleConnectionHandler(timeout: .init($0), logger: logger), eventLoop: channel.eventLoop) }
            let webSocket = self.webSocket
            let upgrader = WebSocketUpgrader(
                handshake: NIOTypedWebSocketServerUpgrader<Negotiated>(
                    maxFrameSize: webSocket.maxMessageBytes,
                    shouldUpgrade: { [upgrade] channel, head in
                        service.value = upgrade(head)
                        return channel.eventLoop.makeSucceededFuture(service.value == nil ? nil : HTTPHeaders())
                    },
                    upgradePipelineHandler: { channel, _ in channel.eventLoop.makeFailedFuture(WebSocketUpgrader.NotUsed()) }),
                pipeline: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        channel.pipeline.syncOperations.removeHandler(closeOnError.value, promise: nil)
                        if let idle { channel.pipeline.syncOperations.removeHandler(idle.value, promise: nil) }
                        let socket = ServerWebSocket(channel: channel, configuration: webSocket)
                        try channel.pipeline.syncOperations.addHandler(socket.makeHandler())
                        service.value?(socket, logger)
                        service.value = nil
                        return .webSocket
                    }
                })
            let http1 = self.http1
            let healthCheck = self.healthCheck
            let (respond, maxBodyBytes) = (self.respond, self.maxBodyBytes)
            let (requests, jobs) = AsyncStream.makeStream(of: RouterRequestHandler.Job.self)
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<Negotiated>(
                upgradeConfiguration: NIOTypedHTTPServerUpgradeConfiguration(
                    upgraders: [upgrader],
                    notUpgradingCompletionHandler: { channel in
                        channel.eventLoop.makeCompletedFuture {
                            channel.pipeline.syncOperations.removeHandler(closeOnError.value, promise: nil)
                            try channel.pipeline.syncOperations.addHandler(HTTPServerCodec())
                            try channel.pipeline.syncOperations.addHandlers(http1.additionalChannelHandlers())
                            // Its idle timeout stays off: IdleConnectionHandler's covers the first request too.
                            try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(logger: logger))
                            if askedForWebSocket.value {
                                jobs.finish()
                                try channel.pipeline.syncOperations.addHandler(RefusedUpgradeHandler())
                            } else {
                                try channel.pipeline.syncOperations.addHandler(
                                    RouterRequestHandler(maxBodyBytes: maxBodyBytes, logger: logger, respond: respond, jobs: jobs))
                            }
                            return .http
                        }
                    }))
            configuration.enablePipelining = true  // one request at a time reaches RouterRequestHandler
            configuration.enableErrorHandling = true  // 400 for bytes that are not HTTP
            configuration.enableResponseHeaderValidation = false  // HTTPTypes validates headers
            configuration.decoderConfiguration.maxHeaderFieldSize = http1.httpDecoder.maxHeaderFieldSize
            configuration.decoderConfiguration.maxHeaderListSize = http1.httpDecoder.maxHeaderListSize
            configuration.decoderConfiguration.maxHeaderFieldCount = http1.httpDecoder.maxHeaderFieldCount
            let negotiated = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            let pipelining = try channel.pipeline.syncOperations.handler(type: HTTPServerPipelineHandler.self)
            try channel.pipeline.syncOperations.addHandler(FirstRequestUpgrade(askedForWebSocket), position: .before(pipelining))
            try channel.pipeline.syncOperations.addHandler(closeOnError.value)
            if let idle { try channel.pipeline.syncOperations.addHandler(idle.value) }
            // In front of the decoder, until the first bytes that are not a health check.
            if let healthCheck { try channel.pipeline.syncOperations.addHandler(HealthCheckHandler(healthCheck), position: .first) }
            return Value(negotiated: negotiated, channel: channel, requests: requests)
        }
    }

    static let receiveBuffers = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536)

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .webSocket: return  // its handlers serve it from here on
            case .http:
                let channel = value.channel
                await withTaskCancellationHandler {
                    await RouterRequestHandler.serve(value.requests)
                } onCancel: {
                    channel.close(mode: .input, promise: nil)
                }
            }
        } catch {
            logger.debug("connection ended before its first request", metadata: ["error": "\(error)"])
        }
    }

    /// An upgrade request that arrives after other requests on the same connection can no longer
    /// be upgraded (the upgrade handler is gone): it is redirected to the same URI and the
    /// connection closed, so the client retries on a fresh connection.
    private static func redirectingLateUpgrades(_ respond: @escaping RouterRequestHandler.Respond) -> RouterRequestHandler.Respond {
        return { request, channel in
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                return await respond(request, channel)
            }
            let location = request.uri.query.map { "\(request.uri.path)?\($0)" } ?? request.uri.path
            return Response(status: .temporaryRedirect, headers: [.connection: "close", .location: location])
        }
    }
}

/// Closes a connection whose first bytes are not HTTP, once NIO's `HTTPServerProtocolErrorHandler`
/// has answered them with 400 (it leaves the close to a later handler). Removed when the first
/// request's head has been read (``RouterRequestHandler`` closes on later errors, a WebSocket's
/// handler on its own).
private final class CloseOnParseError: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError { context.close(promise: nil) }
        context.fireErrorCaught(error)
    }
}

/// Answers an upgrade no service takes: 400, then close. The request's head went to NIO's
/// upgrade handler, which decided; its end (or anything after it) comes here.
private final class RefusedUpgradeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    private var answered = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        answered = true
        let head = HTTPResponse(status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.close(promise: nil)
    }
}

/// Right after NIO's decoder, for a connection's first request: NIO's upgrade handler keeps
/// nothing of a request that asks for an upgrade until an upgrader has taken it, so the head of
/// one it does not take is lost and the router would get the request's end alone.
///
/// - An `Upgrade` that does not name `websocket` (`h2c`, say) is ignored, as RFC 9110 lets a
///   server do: the request is served as plain HTTP, and then the connection closes, because
///   NIO's decoder parses nothing after a request it took for an upgrade.
/// - One that names it stays. If the handshake is refused (a bad key or version, or a path
///   without a WebSocket) the request gets 400 and a close (``RefusedUpgradeHandler``), as RFC
///   6455 asks.
private final class FirstRequestUpgrade: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    private let askedForWebSocket: NIOLoopBoundBox<Bool>

    init(_ askedForWebSocket: NIOLoopBoundBox<Bool>) {
        self.askedForWebSocket = askedForWebSocket
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else { return context.fireChannelRead(data) }
        let protocols = head.headers[canonicalForm: "upgrade"]
        if protocols.contains(where: { $0.lowercased() == "websocket" }) {
            askedForWebSocket.value = true
            context.fireChannelRead(data)
        } else if !protocols.isEmpty {
            head.headers.remove(name: "Upgrade")
            head.headers.replaceOrAdd(name: "Connection", value: "close")
            context.fireChannelRead(wrapInboundOut(.head(head)))
        } else {
            context.fireChannelRead(data)
        }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

/// NIO's WebSocket handshake (it checks the request's key and version and answers with the
/// accept key), followed by our own pipeline: the socket's one handler (``ServerWebSocket/Handler``)
/// in place of the frame decoder and encoder NIO's upgrader would add.
private struct WebSocketUpgrader: NIOTypedHTTPServerProtocolUpgrader {
    /// NIO's upgrader's own pipeline step, which this upgrader never calls.
    struct NotUsed: Error {}

    let handshake: NIOTypedWebSocketServerUpgrader<HTTPServerChannel.Negotiated>
    let pipeline: @Sendable (any Channel) -> EventLoopFuture<HTTPServerChannel.Negotiated>

    var supportedProtocol: String { handshake.supportedProtocol }
    var requiredUpgradeHeaders: [String] { handshake.requiredUpgradeHeaders }

    func buildUpgradeResponse(channel: any Channel, upgradeRequest: HTTPRequestHead, initialResponseHeaders: HTTPHeaders) -> EventLoopFuture<HTTPHeaders> {
        handshake.buildUpgradeResponse(channel: channel, upgradeRequest: upgradeRequest, initialResponseHeaders: initialResponseHeaders)
    }

    func upgrade(channel: any Channel, upgradeRequest: HTTPRequestHead) -> EventLoopFuture<HTTPServerChannel.Negotiated> {
        pipeline(channel)
    }
}
