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
/// **Write interval.** A socket is written at most once per ``interval``: a wake within the interval
/// after the last write schedules the drain for the interval's end, and everything queued by then
/// goes out in one write. A socket that hears less often than that is written at once, so only busy
/// sockets wait, and never longer than the interval (`realtime.write_interval_ms`, docs/realtime.md).
/// Time is the event loop's (`EventLoop.now`), so a testing loop's virtual time drives it.
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
    private let counters: RealtimeHub.Counters
    /// The least time between two writes (zero: every wake drains at once).
    let interval: TimeAmount
    private let scheduled = Atomic<Bool>(false)
    /// When the last drain wrote (`NIODeadline.uptimeNanoseconds` of the event loop's clock;
    /// `UInt64.max` before the first). Written on the event loop, read by wakes on any thread.
    private let lastWrite = Atomic<UInt64>(.max)

    init(socket: ServerWebSocket, session: RealtimeSession, interval: TimeAmount, counters: RealtimeHub.Counters) {
        self.socket = socket
        self.session = session
        self.interval = interval
        self.counters = counters
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

    /// Schedules a drain unless one is already scheduled: now, or at the end of the write interval.
    func wake() { Self.wake([self]) }

    /// Wakes many writers (the fan-out of one event) with at most two tasks per event loop: one now
    /// for the writers whose interval has passed, one at the latest interval end of the others.
    static func wake(_ writers: [SocketWriter]) {
        var loops: [ObjectIdentifier: (loop: any EventLoop, writers: [SocketWriter])] = [:]
        for writer in writers where writer.claim() {
            loops[ObjectIdentifier(writer.eventLoop), default: (writer.eventLoop, [])].writers.append(writer)
        }
        for (loop, writers) in loops.values {
            let now = loop.now
            var ready: [SocketWriter] = []
            var waiting: [SocketWriter] = []
            var latest = now
            for writer in writers {
                if let due = writer.due(now: now) {
                    waiting.append(writer)
                    latest = max(latest, due)
                } else {
                    ready.append(writer)
                }
            }
            if !ready.isEmpty { loop.execute { [ready] in for writer in ready { writer.drain() } } }
            if !waiting.isEmpty { loop.scheduleTask(deadline: latest) { [waiting] in for writer in waiting { writer.drain() } } }
        }
    }

    /// When a drain woken at `now` may write, if that is later than `now`.
    private func due(now: NIODeadline) -> NIODeadline? {
        guard interval > .zero else { return nil }
        let last = lastWrite.load(ordering: .relaxed)
        guard last != .max else { return nil }
        let due = NIODeadline.uptimeNanoseconds(last) + interval
        return due > now ? due : nil
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
        if wrote {
            context.flush()
            counters.socketWrites.add(1, ordering: .relaxed)
            if interval > .zero { lastWrite.store(context.eventLoop.now.uptimeNanoseconds, ordering: .relaxed) }
        }
    }
}
