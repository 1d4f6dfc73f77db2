import HTTPTypes
import Logging
import NIOHTTPTypes
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Answers `GET /healthz` on the connection's event loop, before the request reaches Hummingbird.
///
/// A routed request is handed to the connection's task on Swift's cooperative pool and its
/// response back to the event loop. For a health check that was ~90% of its server CPU: 53 µs a
/// request for a bare Hummingbird app, 15–21 µs for NIO's HTTP handlers answering on the loop
/// (docs/benchmarks.md, "REST requests"). Health checks come from every load balancer and
/// orchestrator, every few seconds, forever; answered here they also stay prompt when the
/// pool is saturated, which is when a slow answer would get a busy node taken out of rotation.
/// (`/readyz`, the check of the node's state, goes through the router.)
///
/// The response is the router's, byte for byte apart from the request id and date: the same body
/// and headers, an `X-Request-Id` (the caller's, or a new one), the request counted in the
/// `/healthz` series of `chorus_http_requests_total` and logged like any request. Only a plain
/// `GET` of `/healthz` or `/healthz/` (any query) is answered here, and only while no routed
/// request on the connection awaits its response, so that responses keep the order of their
/// requests; anything else goes to the router unchanged (`HealthCheckHandlerTests`).
final class HealthCheckHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// What every connection's handler shares.
    struct Configuration: Sendable {
        var metrics: NodeMetrics
        var logger: Logger
    }

    /// The router's answer (`Gateway.router`) and this handler's.
    static let body = ByteBuffer(string: #"{"status":"ok"}"#)
    static let contentType = "application/json; charset=utf-8"

    private let configuration: Configuration
    /// Requests passed on to the router whose response has not ended.
    private var routed = 0
    /// The health check being read (its request id and when it arrived), until its end arrives.
    private var answering: (requestID: String, arrived: ContinuousClock.Instant)?

    init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if routed == 0, Self.isHealthCheck(head) {
                answering = (APIErrorMiddleware.requestID(from: head.headerFields), .now)
                return
            }
            routed += 1
        case .body:
            if answering != nil { return }  // a GET's body, ignored as the router ignores it
        case .end:
            if let answering {
                self.answering = nil
                respond(context, requestID: answering.requestID, arrived: answering.arrived)
                return
            }
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { routed -= 1 }
        context.write(data, promise: promise)
    }

    /// A plain `GET /healthz` (or `/healthz/`, any query): not an upgrade, no `Expect`.
    static func isHealthCheck(_ head: HTTPRequest) -> Bool {
        guard head.method == .get, head.headerFields[.upgrade] == nil, head.headerFields[.expect] == nil, let target = head.path else {
            return false
        }
        let path = target.utf8.split(separator: UInt8(ascii: "?"), maxSplits: 1, omittingEmptySubsequences: false)[0]
        return path.elementsEqual("/healthz".utf8) || path.elementsEqual("/healthz/".utf8)
    }

    private func respond(_ context: ChannelHandlerContext, requestID: String, arrived: ContinuousClock.Instant) {
        let head = HTTPResponse(
            status: .ok,
            headerFields: [
                .contentType: Self.contentType, .contentLength: String(Self.body.readableBytes), .requestID: requestID,
                .date: HTTPDate.now(), .server: "chorus",
            ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(Self.body)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        let duration = ContinuousClock.now - arrived
        configuration.metrics.recordRequest(route: "/healthz", method: "GET", status: 200, duration: duration)
        APIErrorMiddleware.logRequest(
            configuration.logger, method: "GET", path: "/healthz", status: 200, duration: duration, requestID: requestID)
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
