import ChorusAuth
import ChorusActorSystem
import ChorusChat
import ChorusModel
import Crypto
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore

/// Builds the client-facing HTTP application of one node.
public enum Gateway {
    /// Everything the gateway needs besides configuration.
    public struct Dependencies: Sendable {
        public var node: ChatNode
        /// The HS256 secret for client tokens.
        public var jwtSecret: [UInt8]
        /// The key that signs attachment URLs.
        public var cdnKey: [UInt8]
        /// The cluster transport's fault switch (`cluster.fault_injection`), for `/v1/admin/faults`.
        public var faults: FaultInjectingTransport?
        /// Where channel exports are written (default: a directory of this node's in the system's
        /// temporary directory).
        public var exportDirectory: String
        /// `GET /metrics`.
        public var metrics: NodeMetrics
        /// `GET /readyz`.
        public var health: NodeHealth

        public init(
            node: ChatNode, jwtSecret: [UInt8], cdnKey: [UInt8], faults: FaultInjectingTransport? = nil, exportDirectory: String? = nil,
            metrics: NodeMetrics = NodeMetrics(), health: NodeHealth = NodeHealth()
        ) {
            self.node = node
            self.jwtSecret = jwtSecret
            self.cdnKey = cdnKey
            self.faults = faults
            self.exportDirectory = exportDirectory ?? NSTemporaryDirectory() + "chorus-exports-" + node.actorSystem.nodeName
            self.metrics = metrics
            self.health = health
        }
    }

    /// The per-user rate limit shared by REST requests and WebSocket frames.
    static func rateLimiter(configuration: ChorusConfiguration, node: ChatNode) -> RateLimiter {
        RateLimiter(rate: configuration.limits.userRequestsPerSecond, burst: configuration.limits.userRequestBurst, clock: node.clock)
    }

    /// The `Server` header of every response (Hummingbird's, and ``HealthCheckHandler``'s).
    static let serverName = "chorus"

    /// The level of the one log line per HTTP request: `debug`, because at `info` it cost ~6 µs of
    /// server CPU per request (~8% of a `GET /healthz`; docs/operations.md, "Logging").
    public static let requestLogLevel = Logger.Level.debug

    /// The router with every route and middleware of the v1 API.
    public static func router(
        configuration: ChorusConfiguration, dependencies: Dependencies, logger: Logger = Logger(label: "chorus")
    ) -> Router<ChorusRequestContext> {
        router(
            configuration: configuration, dependencies: dependencies,
            rateLimiter: rateLimiter(configuration: configuration, node: dependencies.node),
            tokens: TokenVerifier(secret: dependencies.jwtSecret), logger: logger)
    }

    static func router(
        configuration: ChorusConfiguration, dependencies: Dependencies, rateLimiter: RateLimiter, tokens: TokenVerifier,
        realtime: RealtimeHub? = nil, logger: Logger
    ) -> Router<ChorusRequestContext> {
        let router = Router(context: ChorusRequestContext.self)
        router.add(middleware: MetricsMiddleware(metrics: dependencies.metrics))
        router.add(middleware: APIErrorMiddleware(logger: logger, requestLogLevel: requestLogLevel))
        // Connections answer these two on their event loop (HealthCheckHandler); the router
        // answers the rest (on a connection that carried other requests first, a node that is
        // not ready, a check in an unusual form, or requests made without a connection).
        router.get("healthz") { _, _ in
            Response(
                status: .ok, headers: [.contentType: HealthCheckHandler.contentType], body: .init(byteBuffer: ByteBuffer(string: HealthCheckHandler.alive)))
        }
        // Ready: 200 {"status": "ready"}; else 503 {"status": "not_ready", "reasons": [...]}.
        router.get("readyz") { [health = dependencies.health] _, _ in
            let reasons = health.reasons()
            return try JSONBody.response(ReadinessBody(reasons: reasons), status: reasons.isEmpty ? .ok : .serviceUnavailable)
        }
        router.get("metrics") { [metrics = dependencies.metrics, node = dependencies.node, health = dependencies.health] _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.scrape(node: node, hub: realtime, health: health))))
        }
        // The API descriptions and the dashboard: static documents, no token (docs/operations.md).
        for (name, text) in [("v1", OpenAPIDocuments.v1), ("stream", OpenAPIDocuments.stream)] {
            let document = ByteBuffer(string: text)
            router.get("openapi/\(name).yaml") { _, _ in
                Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"], body: .init(byteBuffer: document))
            }
        }
        let dashboard = ByteBuffer(string: DashboardPage.html)
        router.get("dashboard") { _, _ in
            Response(status: .ok, headers: DashboardPage.headers, body: .init(byteBuffer: dashboard))
        }
        // Upgrades of /v1/ws never reach the router; a plain GET gets a clear error.
        router.get("v1/ws") { _, _ -> Response in
            throw ChatError(.invalidRequest, "GET /v1/ws needs a WebSocket upgrade (Connection: Upgrade, Upgrade: websocket)")
        }

        let node = dependencies.node
        let maxBody = configuration.limits.maxBodyBytes
        let v1 = router.group("v1").add(middleware: AuthMiddleware(tokens: tokens, node: node, rateLimiter: rateLimiter))
        ChannelRoutes(node: node, maxBodyBytes: maxBody).register(on: v1)
        MessageRoutes(
            node: node, maxBodyBytes: maxBody,
            signer: AttachmentURLSigner(baseURL: configuration.cdn.baseURL, key: dependencies.cdnKey, ttlSeconds: configuration.cdn.urlTTLSeconds)
        ).register(on: v1)
        UserRoutes(node: node, maxBodyBytes: maxBody).register(on: v1)
        AdminRoutes(node: node, faults: dependencies.faults, health: dependencies.health).register(on: v1)

        // The Stream-compatible API, at the root (docs/stream-api.md).
        let stream = router.group().add(
            middleware: StreamMiddleware(
                apiKey: configuration.stream.apiKey, tokens: tokens, node: node, rateLimiter: rateLimiter, logger: logger))
        let watch = StreamWatch(node: node, hub: realtime)
        StreamChannelRoutes(node: node, maxBodyBytes: maxBody, watch: watch).register(on: stream)
        StreamQueryRoutes(node: node, maxBodyBytes: maxBody, watch: watch).register(on: stream)
        StreamReadRoutes(node: node, maxBodyBytes: maxBody, configuration: configuration).register(on: stream)
        StreamMuteRoutes(node: node, maxBodyBytes: maxBody).register(on: stream)
        StreamMessageRoutes(node: node, maxBodyBytes: maxBody).register(on: stream)
        StreamChannelTypeRoutes(node: node, maxBodyBytes: maxBody).register(on: stream)
        StreamTaskRoutes(node: node, maxBodyBytes: maxBody).register(on: stream)
        StreamSegmentRoutes(node: node, maxBodyBytes: maxBody).register(on: stream)
        StreamCampaignRoutes(node: node, maxBodyBytes: maxBody).register(on: stream)
        StreamExportRoutes(
            node: node, maxBodyBytes: maxBody, directory: dependencies.exportDirectory, key: SymmetricKey(data: dependencies.cdnKey),
            ttlSeconds: configuration.cdn.urlTTLSeconds
        ).register(on: stream, files: router)
        // Upgrades of /connect never reach the router; a plain GET gets a clear error.
        stream.get("connect") { _, _ -> Response in
            throw StreamError.input("GET /connect needs a WebSocket upgrade (Connection: Upgrade, Upgrade: websocket)")
        }
        return router
    }

    /// The HTTP and WebSocket application, listening on `configuration.node.host:port`; `realtime`
    /// is the node's edge (run it as a service after the application, so it closes sockets first).
    ///
    /// `onServerRunning` gets the bound port (useful with port 0).
    public static func application(
        configuration: ChorusConfiguration, dependencies: Dependencies, realtime: RealtimeHub, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let rateLimiter = rateLimiter(configuration: configuration, node: dependencies.node)
        let tokens = TokenVerifier(secret: dependencies.jwtSecret)
        let endpoint = RealtimeEndpoint(hub: realtime, tokens: tokens, rateLimiter: rateLimiter)
        let streamEndpoint = StreamRealtimeEndpoint(v1: endpoint, apiKey: configuration.stream.apiKey)
        let responder = router(
            configuration: configuration, dependencies: dependencies, rateLimiter: rateLimiter, tokens: tokens, realtime: realtime,
            logger: logger
        ).buildResponder()
        let respond = RouterRequestHandler.responding(with: responder, logger: logger)
        return Application(
            responder: responder,
            // Requests reach `responder` through our own handlers (RouterRequestHandler), not Hummingbird's loop.
            server: HTTPServerBuilder { _ in
                HTTPServerChannel(
                    respond: respond, maxBodyBytes: configuration.limits.maxBodyBytes,
                    idleTimeout: configuration.limits.httpIdleTimeoutSeconds.secondsDuration,
                    webSocket: RealtimeEndpoint.webSocketConfiguration(configuration.realtime),
                    healthCheck: HealthCheckHandler.Configuration(metrics: dependencies.metrics, health: dependencies.health, logger: logger),
                    upgrade: { head in streamEndpoint.upgrade(head) ?? endpoint.upgrade(head) })
            },
            configuration: .init(
                address: .hostname(configuration.node.host, port: configuration.node.port),
                serverName: serverName),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }
}
