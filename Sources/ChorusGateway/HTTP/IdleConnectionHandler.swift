import Logging
import NIOCore
import NIOHTTP1

/// Closes an HTTP/1.1 connection that has no request in progress for `timeout`: from the
/// accept until its first request's head has been read (a client that connects and sends
/// nothing, or a head that never ends), and after each response until the next request's head.
/// A request being read or answered, a stream of server-sent events included, stops the clock.
///
/// It sits after NIO's HTTP handlers, so it sees one request at a time (pipelined ones wait in
/// `HTTPServerPipelineHandler` until the response before them has ended). An upgraded WebSocket
/// removes it: its own pings and `realtime.idle_timeout_seconds` take over
/// (``HTTPServerChannel``).
///
/// A busy keep-alive connection does not schedule a timer per request: a request only notes
/// when the connection went idle, and the one timer, when it fires early, is set again for the
/// rest. Time is the event loop's (`EventLoop.now`), so tests drive it with an embedded loop.
final class IdleConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart

    private let timeout: TimeAmount
    private let logger: Logger
    /// When the connection last went idle; `nil` while a request is in progress.
    private var idleSince: NIODeadline?
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount, logger: Logger) {
        self.timeout = timeout
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { becameIdle(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        becameIdle(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { idleSince = nil }
        context.fireChannelRead(data)
    }

    /// A health check answered in front of the decoder (``HealthCheckHandler``) was a request too.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is HealthCheckHandler.Answered { becameIdle(context) }
        context.fireUserInboundEventTriggered(event)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let isEnd = if case .end = unwrapOutboundIn(data) { true } else { false }
        context.write(data, promise: promise)
        if isEnd { becameIdle(context) }
    }

    private func becameIdle(_ context: ChannelHandlerContext) {
        let now = context.eventLoop.now
        idleSince = now
        if timer == nil { setTimer(context, at: now + timeout) }
    }

    private func setTimer(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = bound.value
            handler.timer = nil
            handler.timerFired(context)
        }
    }

    private func timerFired(_ context: ChannelHandlerContext) {
        guard let idleSince, context.channel.isActive else { return }  // busy: its response's end sets the timer
        let deadline = idleSince + timeout
        if context.eventLoop.now < deadline {
            setTimer(context, at: deadline)
        } else {
            logger.debug("closing an idle HTTP connection", metadata: ["http.idle_timeout": "\(timeout)"])
            context.close(promise: nil)
        }
    }
}
