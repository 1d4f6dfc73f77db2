import Logging
import NIOCore
import NIOHTTP1
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Answers the health checks, `GET /healthz` and `GET /readyz` of a ready node, on the
/// connection's event loop, before the request reaches Hummingbird.
///
/// A routed request is handed to the connection's task on Swift's cooperative pool and its
/// response back to the event loop. For a health check that was ~90% of its server CPU: 53 µs a
/// request for a bare Hummingbird app, 15–21 µs for NIO's HTTP handlers answering on the loop
/// (docs/benchmarks.md, "REST requests"). Health checks come from every load balancer and
/// orchestrator, every few seconds, forever; answered here they also stay prompt when the
/// pool is saturated, which is when a slow answer would get a busy node taken out of rotation.
/// Neither needs an actor: liveness is a constant, readiness two flags (``NodeHealth``). A node
/// that is not ready leaves `/readyz` to the router, which writes the reasons.
///
/// It sits right after NIO's HTTP/1 handlers (and ``IdleConnectionHandler``), on their request
/// and response parts: a health check does not pass through the conversion to HTTPTypes
/// (``HTTPServerCodec``) and back, nor Hummingbird's connection-state handler, which together
/// were ~3 µs of its ~23 (docs/benchmarks.md). `HTTPServerPipelineHandler` in front of it hands
/// it one request at a time, so pipelined responses keep their order.
///
/// The response is the router's, byte for byte apart from the request id and date: the same body
/// and headers, an `X-Request-Id` (the caller's, or a new one), the request counted in its
/// route's series of `chorus_http_requests_total` and logged like any request. A request that
/// asks to close the connection gets `Connection: close` and the close. Only a plain HTTP/1.1
/// `GET` (no `Upgrade`, no `Expect`) of the path, with or without a trailing slash and a query,
/// is answered here, and only while no routed request on the connection awaits its response;
/// anything else goes to the router unchanged (`HealthCheckHandlerTests`).
final class HealthCheckHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// What every connection's handler shares.
    struct Configuration: Sendable {
        var metrics: NodeMetrics
        var health: NodeHealth
        var logger: Logger
    }

    enum Check {
        /// `/healthz`: the process serves HTTP.
        case alive
        /// `/readyz`: the node should get traffic.
        case ready

        var route: String {
            switch self {
            case .alive: "/healthz"
            case .ready: "/readyz"
            }
        }

        /// The router's body for it (`Gateway.router`; `/readyz`'s when the node is ready).
        var body: ByteBuffer {
            switch self {
            case .alive: HealthCheckHandler.alive
            case .ready: HealthCheckHandler.ready
            }
        }
    }

    static let alive = ByteBuffer(string: #"{"status":"ok"}"#)
    static let ready = ByteBuffer(string: #"{"status":"ready"}"#)
    static let contentType = "application/json; charset=utf-8"

    private let configuration: Configuration
    /// Requests passed on to the router whose response has not ended.
    private var routed = 0
    /// The check being read (with its request id, when it arrived and whether it asked to close
    /// the connection), until its end arrives.
    private var answering: (check: Check, requestID: String, arrived: ContinuousClock.Instant, close: Bool)?

    init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if routed == 0, let check = Self.check(head), check == .alive || configuration.health.reasons().isEmpty {
                answering = (check, APIErrorMiddleware.requestID(given: head.headers.first(name: "X-Request-Id")), .now, !head.isKeepAlive)
                return
            }
            routed += 1
        case .body:
            if answering != nil { return }  // a GET's body, ignored as the router ignores it
        case .end:
            if let answering {
                self.answering = nil
                respond(context, answering.check, requestID: answering.requestID, arrived: answering.arrived, close: answering.close)
                return
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data), routed > 0 { routed -= 1 }
        context.write(data, promise: promise)
    }

    /// The check a plain HTTP/1.1 `GET` (not an upgrade, no `Expect`) asks for, if it is one.
    static func check(_ head: HTTPRequestHead) -> Check? {
        guard head.method == .GET, head.version == .http1_1, !head.headers.contains(name: "Upgrade"), !head.headers.contains(name: "Expect") else {
            return nil
        }
        var path = head.uri.utf8.split(separator: UInt8(ascii: "?"), maxSplits: 1, omittingEmptySubsequences: false)[0]
        if path.count > 1, path.last == UInt8(ascii: "/") { path = path.dropLast() }
        if path.elementsEqual("/healthz".utf8) { return .alive }
        if path.elementsEqual("/readyz".utf8) { return .ready }
        return nil
    }

    private func respond(_ context: ChannelHandlerContext, _ check: Check, requestID: String, arrived: ContinuousClock.Instant, close: Bool) {
        let body = check.body
        var headers = HTTPHeaders([
            ("Content-Type", Self.contentType), ("Content-Length", String(body.readableBytes)), ("X-Request-Id", requestID),
            ("Date", HTTPDate.now()), ("Server", Gateway.serverName),
        ])
        if close { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        if close {
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        let duration = ContinuousClock.now - arrived
        configuration.metrics.recordRequest(route: check.route, method: "GET", status: 200, duration: duration)
        APIErrorMiddleware.logRequest(
            configuration.logger, method: "GET", path: check.route, status: 200, duration: duration, requestID: requestID)
    }
}

/// The `Date` header's value (RFC 9110's IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`), formatted
/// at most once a second.
enum HTTPDate {
    private static let cached = Mutex<(second: Int, text: String)>((-1, ""))

    static func now() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let second = Int(now.tv_sec)
        return cached.withLock { cached in
            if cached.second != second { cached = (second, format(second)) }
            return cached.text
        }
    }

    static func format(_ secondsSince1970: Int) -> String {
        var time = time_t(secondsSince1970)
        var parts = tm()
        gmtime_r(&time, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}
