import NIOCore
import NIOWebSocket
import Synchronization

/// Writes a session's queued frames straight onto its socket, on the socket's event loop.
///
/// Waking it from any thread schedules at most one drain at a time; the drain writes every queued
/// frame while the socket is writable and flushes once. When the socket's buffer is full (the client
/// reads slowly), frames stay in the session's queue, where the slow-consumer limit sees them, and
/// the drain resumes when the socket is writable again. A delivery therefore costs one closure on
/// the event loop (less when frames arrive together) instead of a task wake-up and an async write.
///
/// The drain frames the queued text frames itself, copied into one buffer per drain (up to
/// ``batchBytes``), and writes that from the pipeline's first handler, straight to the socket: the
/// frames skip the WebSocket frame encoder (a header buffer and two writes per frame) and the
/// walk through every other outbound handler. Control frames (pings, the close) still go through
/// the pipeline.
final class SocketWriter: Sendable {
    /// The most bytes one drain puts in one write before it checks the socket's writability again.
    static let batchBytes = 64 * 1024

    private let channel: any Channel
    fileprivate let session: RealtimeSession
    private let scheduled = Atomic<Bool>(false)
    /// The first handler's context, set on the event loop while the handler is in the pipeline.
    fileprivate let context: NIOLoopBoundBox<ChannelHandlerContext?>

    init(channel: any Channel, session: RealtimeSession) {
        self.channel = channel
        self.session = session
        self.context = .makeEmptyBox(valueType: ChannelHandlerContext.self, eventLoop: channel.eventLoop)
    }

    /// Adds the handler that resumes draining when the socket is writable again and notes every
    /// read (the session's keep-alive hears the client); the drain writes through its context.
    func install() async throws {
        try await channel.pipeline.addHandler(SocketHandler(writer: self), position: .first)
    }

    /// Pings the client (the keep-alive found it silent).
    func ping() {
        let channel = self.channel
        channel.eventLoop.execute {
            channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer()), promise: nil)
        }
    }

    var eventLoop: any EventLoop { channel.eventLoop }

    /// Schedules a drain unless one is already scheduled.
    func wake() {
        guard claim() else { return }
        channel.eventLoop.execute { self.drain() }
    }

    /// Wakes many writers with one task per event loop (the fan-out of one event).
    static func wake(_ writers: [SocketWriter]) {
        var loops: [ObjectIdentifier: (loop: any EventLoop, writers: [SocketWriter])] = [:]
        for writer in writers where writer.claim() {
            loops[ObjectIdentifier(writer.eventLoop), default: (writer.eventLoop, [])].writers.append(writer)
        }
        for (loop, writers) in loops.values {
            loop.execute { for writer in writers { writer.drain() } }
        }
    }

    /// True if the caller must schedule the drain (none was scheduled).
    private func claim() -> Bool {
        !scheduled.exchange(true, ordering: .acquiringAndReleasing)
    }

    /// On the event loop: writes what is queued while the socket takes it.
    private func drain() {
        scheduled.store(false, ordering: .releasing)
        // No context: the socket closed (the handler left the pipeline); frames stay queued for the close.
        guard let context = context.value else { return }
        var wrote = false
        while context.channel.isWritable, let first = session.takeFrame() {
            var batch = context.channel.allocator.buffer(capacity: first.readableBytes + WebSocketText.maxHeaderBytes)
            WebSocketText.append(first, to: &batch)
            while batch.readableBytes < Self.batchBytes, let frame = session.takeFrame() {
                WebSocketText.append(frame, to: &batch)
            }
            context.write(NIOAny(batch), promise: nil)
            wrote = true
        }
        if wrote { context.flush() }
    }

    /// Resumes the drain when the socket's buffer empties below its low-water mark; notes reads.
    private final class SocketHandler: ChannelInboundHandler, Sendable {
        typealias InboundIn = NIOAny
        let writer: SocketWriter

        init(writer: SocketWriter) { self.writer = writer }

        func handlerAdded(context: ChannelHandlerContext) { writer.context.value = context }

        func handlerRemoved(context: ChannelHandlerContext) { writer.context.value = nil }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            writer.session.heard()
            context.fireChannelRead(data)
        }

        func channelWritabilityChanged(context: ChannelHandlerContext) {
            if context.channel.isWritable { writer.wake() }
            context.fireChannelWritabilityChanged()
        }
    }
}

/// Server-to-client WebSocket text frames (RFC 6455, section 5.2): final, unmasked.
enum WebSocketText {
    /// Two bytes, plus eight for a payload of 64 KiB or more.
    static let maxHeaderBytes = 10

    /// Appends `payload` as one text frame to `buffer`.
    static func append(_ payload: ByteBuffer, to buffer: inout ByteBuffer) {
        let length = payload.readableBytes
        buffer.writeInteger(UInt8(0x81))  // FIN, opcode 1 (text)
        if length < 126 {
            buffer.writeInteger(UInt8(length))
        } else if length <= Int(UInt16.max) {
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(length))
        } else {
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(length))
        }
        var payload = payload
        buffer.writeBuffer(&payload)
    }
}
