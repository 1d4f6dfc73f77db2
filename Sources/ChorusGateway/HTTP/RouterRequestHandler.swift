import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Serves a connection's HTTP/1.1 requests to the router: each request is read whole on the
/// connection's event loop and handed, as one job, to the connection's task (``serve(_:)``),
/// which routes it and hands the response back to the loop in one hop.
///
/// It replaces Hummingbird's own request loop (`HTTPChannelHandler.handleHTTP`), which reads a
/// connection's parts in that task through `NIOAsyncChannel`'s async sequence and writes
/// responses through its async writer: two back-pressured bridges between threads, ~10 µs of
/// server CPU a request (docs/benchmarks.md, "REST requests"). Requests still run in the
/// connection's task, a child of the server's, so they see its task-locals (a graceful shutdown
/// ends a stream of server-sent events) and its cancellation.
///
/// - **Order.** NIO's `HTTPServerPipelineHandler`, earlier in the pipeline, holds a pipelined
///   request back until the response before it has ended, so one request at a time is here.
/// - **Bodies** are collected up to `maxBodyBytes` (every route's limit, `limits.max_body_bytes`).
///   A longer one — by its `Content-Length`, or once more has arrived — goes to the router at
///   once with what has arrived, so the route answers 413 in its own API's format; the
///   connection closes after that response, without reading the rest.
/// - **`Expect: 100-continue`** is answered with `100 Continue` when the body is within the limit.
/// - **Responses** of known length (every JSON response) go out with their head in one hop to
///   the event loop, which the task does not wait for; a streamed body (server-sent events) is
///   sent as it is written (``ResponseOutput``).
/// - **Closing.** After a request or response that says `Connection: close` (a request's close,
///   or a body over the limit, puts `Connection: close` in the response too); when the client
///   closes its side (at once if idle, else after the response); on an error (bytes that are not
///   HTTP get NIO's 400 first). Graceful shutdown is NIO's pipeline handler's and Hummingbird's
///   `HTTPConnectionStateHandler`'s: they close each connection once its response has ended. A
///   connection with no request in progress is closed by ``IdleConnectionHandler``.
final class RouterRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    /// Answers one request (errors are answers too: it never throws).
    typealias Respond = @Sendable (Request, any Channel) async -> Response
    /// One request to route and answer, run by the connection's task.
    typealias Job = @Sendable () async -> Void

    private enum State {
        /// Between requests.
        case idle
        /// Reading a request's body, to route it at its end.
        case reading(HTTPRequest, body: ByteBuffer)
        /// The router has the request. `overLimit`: its body is too long, the rest is skipped and
        /// the connection closes after the response. `inputClosed`: the client closed its side.
        case responding(overLimit: Bool, inputClosed: Bool)
    }

    private let respond: Respond
    private let jobs: AsyncStream<Job>.Continuation
    private let maxBodyBytes: Int
    private let logger: Logger
    private var state = State.idle
    /// Set once the handler has left the pipeline; late responses are dropped.
    private var removed = false

    /// Hands requests to `jobs`, which the connection's task runs (``serve(_:)``).
    init(maxBodyBytes: Int, logger: Logger, respond: @escaping Respond, jobs: AsyncStream<Job>.Continuation) {
        self.respond = respond
        self.jobs = jobs
        self.maxBodyBytes = maxBodyBytes
        self.logger = logger
    }

    /// Runs a connection's requests, one at a time, until the connection closes.
    static func serve(_ jobs: AsyncStream<Job>) async {
        for await job in jobs { await job() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        removed = true
        jobs.finish()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .idle):
            if let length = head.headerFields[.contentLength].flatMap(Int.init), length > maxBodyBytes {
                route(head, body: ByteBuffer(), overLimit: true, context: context)
                return
            }
            if head.headerFields[.expect]?.lowercased() == "100-continue" {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponse(status: .continue))), promise: nil)
            }
            state = .reading(head, body: ByteBuffer())
        case (.body(let part), .reading(let head, var body)):
            state = .idle  // not to copy `body` on write
            body.writeImmutableBuffer(part)
            if body.readableBytes > maxBodyBytes {
                route(head, body: body, overLimit: true, context: context)
            } else {
                state = .reading(head, body: body)
            }
        case (.end, .reading(let head, let body)):
            route(head, body: body, overLimit: false, context: context)
        case (.body, .responding(overLimit: true, _)), (.end, .responding(overLimit: true, _)):
            break  // the rest of a body over the limit
        case (let part, _):
            // NIO's pipeline handler passes one request at a time, so this is a bug, not input.
            logger.error("HTTP request part out of order; closing the connection", metadata: ["part": "\(part)"])
            context.close(promise: nil)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            switch state {
            case .idle, .reading: context.close(promise: nil)
            case .responding(let overLimit, _): state = .responding(overLimit: overLimit, inputClosed: true)
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // NIO's HTTPServerProtocolErrorHandler has answered bytes that are not HTTP with 400 (once
        // the response before them ended); it leaves the close to us.
        logger.debug("HTTP connection error; closing it", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    /// Hands the request to the connection's task; its response comes back through ``send(_:ended:closeAfter:context:promise:)``.
    private func route(_ head: HTTPRequest, body: ByteBuffer, overLimit: Bool, context: ChannelHandlerContext) {
        state = .responding(overLimit: overLimit, inputClosed: false)
        let request = Request(head: head, body: RequestBody(buffer: body))
        let closeAfter = overLimit || saysClose(head.headerFields)
        let loop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: loop)
        let boundContext = NIOLoopBound(context, eventLoop: loop)
        jobs.yield { [respond, channel = context.channel] in
            var response = await respond(request, channel)
            // RFC 9112 §9.6: a server closing after a response says so in it.
            if closeAfter, !saysClose(response.headers) { response.headers[.connection] = "close" }
            let close = closeAfter || saysClose(response.headers)
            let written = await writeResponse(response) { parts, ended, wait in
                let promise = wait ? loop.makePromise(of: Void.self) : nil
                loop.execute {
                    handler.value.send(parts, ended: ended, closeAfter: close, context: boundContext.value, promise: promise)
                }
                return promise?.futureResult
            }
            // A body that failed part-way: the response cannot be completed, only cut off.
            if !written { loop.execute { boundContext.value.close(promise: nil) } }
        }
    }

    /// Writes a response's parts (on the event loop); after its end, reads the next request or closes.
    private func send(
        _ parts: [HTTPResponsePart], ended: Bool, closeAfter: Bool, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?
    ) {
        guard !removed else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        var close = false
        if ended, case .responding(_, let inputClosed) = state {
            // Before the end is written: writing it lets NIO's pipeline handler pass on the next request.
            state = .idle
            close = closeAfter || inputClosed
        }
        for part in parts.dropLast() { context.write(wrapOutboundOut(part), promise: nil) }
        if let last = parts.last { context.writeAndFlush(wrapOutboundOut(last), promise: promise) }
        if close { context.close(promise: nil) }
    }
}

/// Whether a `Connection` header asks to close.
func saysClose(_ fields: HTTPFields) -> Bool {
    fields[values: .connection].contains { value in
        value.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "close" }
    }
}

extension RouterRequestHandler {
    /// Routes requests with `responder` as Hummingbird's application does: a fresh context for
    /// each, a 500 for anything that escapes the middleware, and the `Date` and `Server` headers.
    static func responding<Responder: HTTPResponder>(with responder: Responder, logger: Logger) -> Respond
    where Responder.Context == ChorusRequestContext {
        { request, channel in
            let context = ChorusRequestContext(source: ApplicationRequestContextSource(channel: channel, logger: logger))
            var response: Response
            do {
                response = try await responder.respond(to: request, context: context)
            } catch {
                logger.debug("unrecognised error", metadata: ["error": "\(String(reflecting: error))"])
                response = Response(status: .internalServerError)
            }
            response.headers[.date] = HTTPDate.now()
            response.headers[.server] = Gateway.serverName
            return response
        }
    }
}

/// Writes `response` through `send` (``ResponseOutput``); `false` if its body failed before its end.
private func writeResponse(_ response: Response, send: @escaping ResponseOutput.Send) async -> Bool {
    let output = ResponseOutput(head: response.head, streaming: response.body.contentLength == nil, send: send)
    do {
        try await response.body.write(output)
        if !output.ended { try await output.finish(nil) }
        return true
    } catch {
        return false
    }
}

/// A response on its way from the request's task to the connection.
///
/// A body of known length (every JSON response, one buffer) is gathered with its head and handed
/// to the event loop at its end, in one hop the task does not wait for; were it written in
/// pieces, what waits is sent before a further piece once 64 KiB wait. A body of unknown length
/// (`streaming`: server-sent events) is sent piece by piece as it is written. The task waits for
/// each write but the last, so a slow reader holds back its writer.
final class ResponseOutput: ResponseBodyWriter {
    /// Hands parts to the connection; with `wait`, returns a future of their write.
    typealias Send = @Sendable (_ parts: [HTTPResponsePart], _ ended: Bool, _ wait: Bool) -> EventLoopFuture<Void>?

    static let eagerBytes = 64 * 1024

    private let send: Send
    private let streaming: Bool
    private var parts: [HTTPResponsePart]
    private var waitingBytes = 0
    private(set) var ended = false

    init(head: HTTPResponse, streaming: Bool, send: @escaping Send) {
        self.parts = [.head(head)]
        self.streaming = streaming
        self.send = send
    }

    func write(_ buffer: ByteBuffer) async throws {
        if waitingBytes >= Self.eagerBytes { try await sendWaiting() }
        parts.append(.body(buffer))
        waitingBytes += buffer.readableBytes
        if streaming { try await sendWaiting() }
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {
        guard !ended else { return }
        ended = true
        parts.append(.end(trailingHeaders))
        _ = send(parts, true, false)
        parts = []
    }

    /// Sends what waits and returns once it is written.
    private func sendWaiting() async throws {
        let written = send(parts, false, true)
        parts = []
        waitingBytes = 0
        try await written?.get()
    }
}
