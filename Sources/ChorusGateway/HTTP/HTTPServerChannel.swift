import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// Each accepted connection: HTTP/1.1 for the router, or, after an upgrade, a WebSocket served
/// by channel handlers on its event loop (``ServerWebSocket``).
///
/// Hummingbird runs a connection's ``handle(value:logger:)`` in a task for as long as it returns
/// nothing; an HTTP connection keeps it (Hummingbird's request loop), an upgraded socket returns
/// at once, so an idle WebSocket costs no task (docs/realtime.md, "How it is built").
struct HTTPServerChannel: ServerChildChannel, HTTPChannelHandler {
    /// Starts serving an upgraded socket (on its event loop, its handlers in place).
    typealias WebSocketService = @Sendable (ServerWebSocket, Logger) -> Void
    /// The service for an upgrade request, or `nil` to refuse the upgrade (400).
    typealias Upgrade = @Sendable (HTTPRequestHead) -> WebSocketService?

    enum Negotiated: Sendable {
        case webSocket
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case refusedUpgrade(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
    }

    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        let channel: any Channel
    }

    let responder: Responder
    let http1: HTTP1Channel.Configuration
    let webSocket: ServerWebSocket.Configuration
    /// `GET /healthz` and `/readyz` answered on the event loop (``HealthCheckHandler``); `nil` routes them.
    let healthCheck: HealthCheckHandler.Configuration?
    let upgrade: Upgrade

    init(
        responder: @escaping Responder, http1: HTTP1Channel.Configuration = .init(), webSocket: ServerWebSocket.Configuration,
        healthCheck: HealthCheckHandler.Configuration? = nil, upgrade: @escaping Upgrade
    ) {
        self.responder = Self.redirectingLateUpgrades(responder)
        self.http1 = http1
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
            let upgradeAttempted = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
            let webSocket = self.webSocket
            let upgrader = WebSocketUpgrader(
                handshake: NIOTypedWebSocketServerUpgrader<Negotiated>(
                    maxFrameSize: webSocket.maxMessageBytes,
                    shouldUpgrade: { [upgrade] channel, head in
                        upgradeAttempted.value = true
                        service.value = upgrade(head)
                        return channel.eventLoop.makeSucceededFuture(service.value == nil ? nil : HTTPHeaders())
                    },
                    upgradePipelineHandler: { channel, _ in channel.eventLoop.makeFailedFuture(WebSocketUpgrader.NotUsed()) }),
                pipeline: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let socket = ServerWebSocket(channel: channel, configuration: webSocket)
                        try channel.pipeline.syncOperations.addHandler(socket.makeHandler())
                        service.value?(socket, logger)
                        service.value = nil
                        return .webSocket
                    }
                })
            let http1 = self.http1
            let healthCheck = self.healthCheck
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<Negotiated>(
                upgradeConfiguration: NIOTypedHTTPServerUpgradeConfiguration(
                    upgraders: [upgrader],
                    notUpgradingCompletionHandler: { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(HTTPServerCodec())
                            try channel.pipeline.syncOperations.addHandlers(http1.additionalChannelHandlers())
                            try channel.pipeline.syncOperations.addHandler(
                                HTTPConnectionStateHandler(idleTimeout: http1.idleTimeout.map { .init($0) }, logger: logger))
                            // After the state handler, which so sees its requests and responses too
                            // (keep-alive, idle timeout, `Connection: close`).
                            if let healthCheck { try channel.pipeline.syncOperations.addHandler(HealthCheckHandler(healthCheck)) }
                            let asyncChannel = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                                wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                            return upgradeAttempted.value ? .refusedUpgrade(asyncChannel) : .http(asyncChannel)
                        }
                    }))
            configuration.enablePipelining = false  // NIOAsyncChannel pipelines HTTP
            configuration.enableErrorHandling = false  // Hummingbird answers errors
            configuration.enableResponseHeaderValidation = false  // HTTPTypes validates headers
            configuration.decoderConfiguration.maxHeaderFieldSize = http1.httpDecoder.maxHeaderFieldSize
            configuration.decoderConfiguration.maxHeaderListSize = http1.httpDecoder.maxHeaderListSize
            configuration.decoderConfiguration.maxHeaderFieldCount = http1.httpDecoder.maxHeaderFieldCount
            let negotiated = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            return Value(negotiated: negotiated, channel: channel)
        }
    }

    static let receiveBuffers = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536)

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .webSocket: return  // its handlers serve it from here on
            case .http(let http): await handleHTTP(asyncChannel: http, logger: logger)
            case .refusedUpgrade(let http): await Self.refuseUpgrade(http)
            }
        } catch {
            logger.debug("connection ended before its first request", metadata: ["error": "\(error)"])
        }
    }

    /// Answers an upgrade no service takes: 400, then close.
    private static func refuseUpgrade(_ http: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>) async {
        try? await http.executeThenClose { _, outbound in
            try await outbound.write(
                contentsOf: [.head(HTTPResponse(status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"])), .end(nil)])
        }
    }

    /// An upgrade request that arrives after other requests on the same connection can no longer
    /// be upgraded (the upgrade handler is gone): it is redirected to the same URI and the
    /// connection closed, so the client retries on a fresh connection.
    private static func redirectingLateUpgrades(_ responder: @escaping Responder) -> Responder {
        struct RedirectedUpgrade: Error {}
        return { request, writer, channel in
            guard request.headers[.upgrade]?.lowercased() == "websocket" else {
                return try await responder(request, writer, channel)
            }
            let location = request.uri.query.map { "\(request.uri.path)?\($0)" } ?? request.uri.path
            try await writer.writeResponse(HTTPResponse(status: .temporaryRedirect, headerFields: [.connection: "close", .location: location]))
            throw RedirectedUpgrade()
        }
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
