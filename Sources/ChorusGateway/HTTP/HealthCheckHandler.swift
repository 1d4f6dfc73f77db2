import Logging
import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Answers the health checks, `GET /healthz` and `GET /readyz` of a ready node, on the
/// connection's event loop, straight from the connection's bytes: in front of NIO's HTTP/1
/// decoder, on a connection that has carried nothing but health checks.
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
/// Probes use connections of their own (a new one per check, or one kept alive for checks), so
/// this handler sits first in a new connection's pipeline and answers the plainest form of a
/// check (``HealthCheckRequest``) without NIO's decoder, encoder and HTTP handlers, which were
/// ~6 µs of the ~19 a check cost after them (docs/benchmarks.md). The first bytes that are not a
/// whole check go on to the decoder, and the handler leaves the pipeline: every byte before them
/// was a check it answered, so the decoder starts at a request's start, and from then on every
/// request, checks included, is the router's. Nothing else is in flight on the connection while
/// it answers, so responses keep their order; several checks in one read get one write.
///
/// The response is the router's, byte for byte apart from the request id and date: the same body
/// and headers, an `X-Request-Id` (the caller's, or a new one), the request counted in its
/// route's series of `chorus_http_requests_total` and logged like any request. A check that asks
/// to close the connection gets `Connection: close` and the close. Each answer tells the
/// pipeline's ``IdleConnectionHandler`` (``Answered``), so a connection kept alive for checks is
/// not idle (`HealthCheckHandlerTests`).
final class HealthCheckHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What every connection's handler shares.
    struct Configuration: Sendable {
        var metrics: NodeMetrics
        var health: NodeHealth
        var logger: Logger
    }

    /// The user event each answered check sends down the pipeline: the connection was in use.
    struct Answered: Sendable {}

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
        var body: String {
            switch self {
            case .alive: HealthCheckHandler.alive
            case .ready: HealthCheckHandler.ready
            }
        }
    }

    static let alive = #"{"status":"ok"}"#
    static let ready = #"{"status":"ready"}"#
    static let contentType = "application/json; charset=utf-8"

    private let configuration: Configuration

    init(_ configuration: Configuration) {
        self.configuration = configuration
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        let arrived = ContinuousClock.now
        var answered = false
        // An unwritable socket means a client that does not read: the rest waits in NIO's
        // pipeline handler, which stops reading until responses drain.
        while context.channel.isWritable, let request = bytes.withUnsafeReadableBytes(HealthCheckRequest.parse),
            request.check == .alive || configuration.health.reasons().isEmpty
        {
            bytes.moveReaderIndex(forwardBy: request.length)
            if request.close {
                let (channel, written) = (context.channel, context.eventLoop.makePromise(of: Void.self))
                respond(context, request, arrived: arrived, promise: written)
                context.flush()
                written.futureResult.whenComplete { _ in channel.close(promise: nil) }
                return  // what follows a request that closes the connection is ignored, as NIO ignores it
            }
            respond(context, request, arrived: arrived, promise: nil)
            answered = true
        }
        if answered {
            context.flush()
            context.fireUserInboundEventTriggered(Answered())
        }
        guard bytes.readableBytes > 0 else { return }
        context.fireChannelRead(answered ? wrapInboundOut(bytes) : data)
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func respond(
        _ context: ChannelHandlerContext, _ request: HealthCheckRequest, arrived: ContinuousClock.Instant, promise: EventLoopPromise<Void>?
    ) {
        let requestID = APIErrorMiddleware.requestID(given: request.requestID)
        let body = request.check.body
        var response = context.channel.allocator.buffer(capacity: 256)
        response.writeString("HTTP/1.1 200 OK\r\nContent-Type: \(Self.contentType)\r\nContent-Length: \(body.utf8.count)\r\n")
        response.writeString("X-Request-Id: \(requestID)\r\nDate: \(HTTPDate.now())\r\nServer: \(Gateway.serverName)\r\n")
        if request.close { response.writeString("Connection: close\r\n") }
        response.writeString("\r\n")
        response.writeString(body)
        context.write(wrapOutboundOut(response), promise: promise)
        let duration = ContinuousClock.now - arrived
        configuration.metrics.recordRequest(route: request.check.route, method: "GET", status: 200, duration: duration)
        APIErrorMiddleware.logRequest(
            configuration.logger, method: "GET", path: request.check.route, status: 200, duration: duration, requestID: requestID)
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
