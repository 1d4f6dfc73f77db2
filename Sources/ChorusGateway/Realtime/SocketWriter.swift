import NIOCore
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
/// ``batchBytes``), and writes that through the socket's handler, the only one in its pipeline.
/// The socket's handler wakes the drain when the socket is writable again and tells the session
/// of every read (its keep-alive hears the client): ``ServerWebSocket/attach(_:)``.
final class SocketWriter: Sendable {
    /// The most bytes one drain puts in one write before it checks the socket's writability again.
    static let batchBytes = 64 * 1024

    private let socket: ServerWebSocket
    private let session: RealtimeSession
    private let scheduled = Atomic<Bool>(false)

    init(socket: ServerWebSocket, session: RealtimeSession) {
        self.socket = socket
        self.session = session
    }

    /// Starts hearing from the socket's handler. Throws if the socket is gone.
    func install() async throws {
        try await socket.attach(self)
    }

    /// Pings the client (the keep-alive found it silent).
    func ping() { socket.ping() }

    var eventLoop: any EventLoop { socket.channel.eventLoop }

    /// The client was heard from (on the event loop).
    func heard() { session.heard() }

    /// Schedules a drain unless one is already scheduled.
    func wake() {
        guard claim() else { return }
        eventLoop.execute { self.drain() }
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
        guard let context = socket.handler.value?.context else { return }
        var wrote = false
        while context.channel.isWritable, let first = session.takeFrame() {
            var batch = context.channel.allocator.buffer(capacity: first.readableBytes + WebSocketWire.maxHeaderBytes)
            WebSocketWire.append(first, to: &batch)
            while batch.readableBytes < Self.batchBytes, let frame = session.takeFrame() {
                WebSocketWire.append(frame, to: &batch)
            }
            context.write(NIOAny(batch), promise: nil)
            wrote = true
        }
        if wrote { context.flush() }
    }
}
