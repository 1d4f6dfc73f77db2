import NIOCore
import NIOWebSocket
import Synchronization

/// A client's WebSocket, served on its event loop by a channel handler (``Handler``): an idle
/// socket has no task, only its channel, its pipeline and this object.
///
/// The handler keeps RFC 6455's rules: it answers pings, joins fragments (up to
/// ``Configuration/maxMessageBytes``), refuses what a client must not send with 1002
/// (``WebSocketWire/Reader``) and oversized messages with 1009, answers the client's close
/// and closes the connection, and ends a close the server starts once the client answers or
/// after ``Configuration/closeTimeout``.
///
/// Whole messages queue in an inbox that one consumer (``consume(_:)``) takes in order, in a task
/// that runs only while there is something to take. While a few messages wait, the socket stops
/// reading, so a client that sends faster than its messages are handled is held back by TCP.
final class ServerWebSocket: Sendable {
    struct Configuration: Sendable {
        /// The largest message a client may send, its fragments joined (and the largest frame).
        var maxMessageBytes: Int
        /// How long a close the server starts waits for the client's close before closing the connection.
        var closeTimeout: TimeAmount
    }

    /// A whole message from the client.
    typealias Message = WebSocketWire.Message

    /// How the client's side ended.
    enum End: Sendable, Equatable {
        /// The client closed (a close frame, or the connection went away).
        case closed
        /// The client sent a message over the limit (closed with 1009).
        case tooLarge
        /// The client broke the protocol (closed with 1002).
        case protocolError
    }

    /// Messages that may wait in the inbox before the socket stops reading.
    static let inboxLimit = 8

    let channel: any Channel
    let configuration: Configuration
    private let inbox: Mutex<Inbox>
    /// The handler, while it is in the pipeline (on the event loop).
    let handler: NIOLoopBoundBox<Handler?>

    fileprivate struct Inbox {
        var messages: [Message] = []
        var consumer: (@Sendable (Message) async -> Void)?
        var consuming = false
        var readingPaused = false
        var end: End?
        var endWatchers: [@Sendable (End) -> Void] = []
    }

    init(channel: any Channel, configuration: Configuration) {
        self.channel = channel
        self.configuration = configuration
        self.inbox = Mutex(Inbox())
        self.handler = .makeEmptyBox(valueType: Handler.self, eventLoop: channel.eventLoop)
    }

    /// The handler that serves the socket: the only one in its pipeline once it is upgraded.
    func makeHandler() -> Handler { Handler(socket: self) }

    /// Attaches the session's writer (on the event loop): the handler tells it when the client
    /// is heard from and when the socket takes writes again, and it writes through the handler.
    /// Throws if the socket is gone.
    func attach(_ writer: SocketWriter) async throws {
        try await channel.eventLoop.submit { [handler] in
            guard let handler = handler.value else { throw ChannelError.ioOnClosedChannel }
            handler.writer = writer
        }.get()
    }

    /// Pings the client.
    func ping() {
        channel.eventLoop.execute { [handler] in handler.value?.ping() }
    }

    // MARK: Messages (any thread)

    /// From now on `consumer` takes the client's messages, one at a time, in order (those that
    /// arrived before included).
    func consume(_ consumer: @escaping @Sendable (Message) async -> Void) {
        let start = inbox.withLock { inbox in
            inbox.consumer = consumer
            return inbox.claimConsumer()
        }
        if start { startConsuming() }
    }

    /// Runs `body` once the client's side ends (at once if it has).
    func whenEnded(_ body: @escaping @Sendable (End) -> Void) {
        let end = inbox.withLock { inbox -> End? in
            if inbox.end == nil { inbox.endWatchers.append(body) }
            return inbox.end
        }
        if let end { body(end) }
    }

    /// Starts the server's close: writes `frames` (text), then a close frame with `code` and
    /// `reason`, unless a close went out already; the connection closes when the client answers,
    /// or after the close timeout. With no code it closes the connection at once. The future
    /// completes once the close frame is written or the connection is gone.
    @discardableResult
    func close(_ code: WebSocketErrorCode?, reason: String = "", after frames: [ByteBuffer] = []) -> EventLoopFuture<Void> {
        let eventLoop = channel.eventLoop
        return eventLoop.flatSubmit { [channel, handler] in
            guard let handler = handler.value else { return channel.close().recover { _ in } }
            guard let code else { return handler.closeConnection() }
            return handler.startClose(code, reason: reason, after: frames)
        }
    }

    /// Whether the socket stopped reading because messages wait for the consumer.
    var isReadingPaused: Bool { inbox.withLock { $0.readingPaused } }

    // MARK: From the handler (the event loop)

    fileprivate func received(_ message: Message) {
        let (start, pause) = inbox.withLock { inbox -> (Bool, Bool) in
            guard inbox.end == nil else { return (false, false) }
            inbox.messages.append(message)
            let pause = !inbox.readingPaused && inbox.messages.count >= Self.inboxLimit
            if pause { inbox.readingPaused = true }
            return (inbox.claimConsumer(), pause)
        }
        if pause { channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in } }
        if start { startConsuming() }
    }

    fileprivate func ended(_ end: End) {
        let watchers = inbox.withLock { inbox -> [@Sendable (End) -> Void] in
            guard inbox.end == nil else { return [] }
            inbox.end = end
            inbox.messages = []
            defer { inbox.endWatchers = [] }
            return inbox.endWatchers
        }
        for watcher in watchers { watcher(end) }
    }

    /// Takes the inbox's messages until it is empty; the task ends there.
    private func startConsuming() {
        Task {
            while let (message, consumer, resume) = nextMessage() {
                if resume { channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in } }
                await consumer(message)
            }
        }
    }

    private func nextMessage() -> (Message, @Sendable (Message) async -> Void, resumeReading: Bool)? {
        inbox.withLock { inbox in
            guard !inbox.messages.isEmpty, let consumer = inbox.consumer else {
                inbox.consuming = false
                return nil
            }
            let message = inbox.messages.removeFirst()
            let resume = inbox.readingPaused && inbox.messages.isEmpty
            if resume { inbox.readingPaused = false }
            return (message, consumer, resume)
        }
    }
}

extension ServerWebSocket.Inbox {
    /// True if the caller must start the consumer's task (it has messages and none runs).
    fileprivate mutating func claimConsumer() -> Bool {
        guard consumer != nil, !consuming, !messages.isEmpty else { return false }
        consuming = true
        return true
    }
}

extension ServerWebSocket {
    /// The socket's one channel handler, on its event loop: it reads the client's frames
    /// (``WebSocketWire/Reader``), keeps the protocol's rules, writes the server's frames itself
    /// and tells the session's ``SocketWriter`` when the client was heard from and when the
    /// socket takes writes again. One handler, not a decoder, an encoder and an aggregator
    /// besides: an idle socket's pipeline is this handler and NIO's head and tail.
    final class Handler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private let socket: ServerWebSocket
        private(set) var context: ChannelHandlerContext?
        private var reader: WebSocketWire.Reader
        /// The session's writer, once the session is attached.
        var writer: SocketWriter?
        /// The client's side ended (its close, or a violation): its further bytes are ignored.
        private var inputEnded = false
        /// A close frame went out: nothing more is written but the close.
        private var closeSent = false
        private var closeTimer: Scheduled<Void>?

        init(socket: ServerWebSocket) {
            self.socket = socket
            self.reader = WebSocketWire.Reader(maxMessageBytes: socket.configuration.maxMessageBytes)
        }

        func handlerAdded(context: ChannelHandlerContext) {
            self.context = context
            socket.handler.value = self
        }

        func handlerRemoved(context: ChannelHandlerContext) {
            self.context = nil
            socket.handler.value = nil
            writer = nil
            closeTimer?.cancel()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            writer?.heard()
            guard !inputEnded else { return }
            reader.append(unwrapInboundIn(data))
            do {
                while !inputEnded, let frame = try reader.next() { received(frame, context: context) }
            } catch {
                fail(error)
            }
        }

        private func received(_ frame: WebSocketWire.Frame, context: ChannelHandlerContext) {
            switch frame {
            case .message(let message): socket.received(message)
            case .ping(let payload):
                guard !closeSent else { return }
                write(payload, opcode: .pong, context: context, flush: true)
            case .pong: break
            case .close(let payload): receivedClose(payload, context: context)
            }
        }

        func channelWritabilityChanged(context: ChannelHandlerContext) {
            if context.channel.isWritable { writer?.wake() }
            context.fireChannelWritabilityChanged()
        }

        func channelInactive(context: ChannelHandlerContext) {
            closeTimer?.cancel()
            socket.ended(.closed)
            context.fireChannelInactive()
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            // The client half-closed: it will send nothing more, not even a close frame.
            if let event = event as? ChannelEvent, event == .inputClosed {
                socket.ended(.closed)
                context.close(promise: nil)
            }
            context.fireUserInboundEventTriggered(event)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // A connection error: nothing more can be said to this client.
            socket.ended(.closed)
            context.close(promise: nil)
        }

        /// Writes one frame of the server's.
        private func write(
            _ payload: ByteBuffer, opcode: WebSocketOpcode, context: ChannelHandlerContext, flush: Bool = false,
            promise: EventLoopPromise<Void>? = nil
        ) {
            var frame = context.channel.allocator.buffer(capacity: payload.readableBytes + WebSocketWire.maxHeaderBytes)
            WebSocketWire.append(payload, opcode: opcode, to: &frame)
            if flush {
                context.writeAndFlush(wrapOutboundOut(frame), promise: promise)
            } else {
                context.write(wrapOutboundOut(frame), promise: promise)
            }
        }

        /// The client's close: the answer to ours (the handshake is done), or its own, which is
        /// echoed with its code before the connection closes (the server closes TCP).
        private func receivedClose(_ payload: ByteBuffer, context: ChannelHandlerContext) {
            inputEnded = true
            socket.ended(.closed)
            guard !closeSent else { return context.close(promise: nil) }
            closeSent = true
            var payload = payload
            var echo = context.channel.allocator.buffer(capacity: 2)
            if let code = payload.readWebSocketErrorCode() { echo.write(webSocketErrorCode: code) }
            let closed = context.eventLoop.makePromise(of: Void.self)
            write(echo, opcode: .connectionClose, context: context, flush: true, promise: closed)
            let channel = context.channel
            closed.futureResult.whenComplete { _ in channel.close(promise: nil) }
        }

        /// Closes with the code that `violation` calls for and tells the socket.
        private func fail(_ violation: WebSocketWire.Violation) {
            inputEnded = true
            startClose(violation == .tooLarge ? .messageTooLarge : .protocolError, reason: "", after: [])
            socket.ended(violation == .tooLarge ? .tooLarge : .protocolError)
        }

        /// Pings the client, unless a close went out.
        func ping() {
            guard let context, !closeSent else { return }
            write(ByteBuffer(), opcode: .ping, context: context, flush: true)
        }

        @discardableResult
        func startClose(_ code: WebSocketErrorCode, reason: String, after frames: [ByteBuffer]) -> EventLoopFuture<Void> {
            guard let context else { return socket.channel.eventLoop.makeSucceededVoidFuture() }
            guard !closeSent else { return context.eventLoop.makeSucceededVoidFuture() }
            closeSent = true
            for frame in frames { write(frame, opcode: .text, context: context) }
            // A close frame's body is at most 125 bytes: the code and 123 of reason.
            var reason = reason
            while reason.utf8.count > 123 { reason.removeLast() }
            var data = context.channel.allocator.buffer(capacity: 2 + reason.utf8.count)
            data.write(webSocketErrorCode: code)
            data.writeString(reason)
            let written = context.eventLoop.makePromise(of: Void.self)
            write(data, opcode: .connectionClose, context: context, flush: true, promise: written)
            let channel = context.channel
            closeTimer = context.eventLoop.scheduleTask(in: socket.configuration.closeTimeout) { channel.close(promise: nil) }
            return written.futureResult.recover { _ in }
        }

        func closeConnection() -> EventLoopFuture<Void> {
            guard let context else { return socket.channel.eventLoop.makeSucceededVoidFuture() }
            return context.close().recover { _ in }
        }
    }
}

@available(*, unavailable)
extension ServerWebSocket.Handler: Sendable {}
