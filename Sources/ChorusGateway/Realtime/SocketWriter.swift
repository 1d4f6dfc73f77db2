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
final class SocketWriter: Sendable {
    private let channel: any Channel
    fileprivate let session: RealtimeSession
    private let scheduled = Atomic<Bool>(false)

    init(channel: any Channel, session: RealtimeSession) {
        self.channel = channel
        self.session = session
    }

    /// Adds the handler that resumes draining when the socket is writable again and notes every
    /// read (the session's keep-alive hears the client).
    func install() async throws {
        try await channel.pipeline.addHandler(SocketHandler(writer: self), position: .first)
    }

    /// Stops reading the socket: its session is closing, and the session's reader (which waits
    /// on the socket) sees its inbound stream end. Writing goes on (the close frame).
    func stopReading() {
        channel.close(mode: .input, promise: nil)
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
        var wrote = false
        while channel.isWritable, let frame = session.takeFrame() {
            channel.write(RealtimeEndpoint.textFrame(frame), promise: nil)
            wrote = true
        }
        if wrote { channel.flush() }
    }

    /// Resumes the drain when the socket's buffer empties below its low-water mark; notes reads.
    private final class SocketHandler: ChannelInboundHandler, Sendable {
        typealias InboundIn = NIOAny
        let writer: SocketWriter

        init(writer: SocketWriter) { self.writer = writer }

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
