import ChorusWire
import Logging
import NIOCore
import Synchronization

/// One TCP connection to a peer: the shell of a pure ``ConnectionState`` (handshake, call table
/// with deadlines, write batching) over a NIO channel.
///
/// Everything happens on the channel's event loop or is handed to it directly: frames are decoded
/// in the pipeline (``ConnectionHandler``), replies resume their callers from there, and inbound
/// calls are handed on from there (``InboundCalls`` decides where each starts). `send` queues a frame and, when the state says so, schedules one
/// write-and-flush on the event loop, which takes everything that accumulated meanwhile. One
/// event-loop timer per connection sweeps expired calls and sends the keepalive `ping` (only when
/// nothing else was written for a keepalive interval). It runs when something falls due: the
/// earliest deadline of a waiting call, or a keepalive interval after the last write (a timer per
/// call would wake the event loop once more per call; a fixed period woke each connection's loop
/// 40–50 times a second, busy or idle). A call whose deadline comes before the next sweep moves
/// the sweep earlier. A `ping` is answered from the event loop too, so neither waits for a busy
/// actor. When the connection ends, every waiting call fails at once.
final class Connection: Sendable {
    private typealias State = ConnectionState<CheckedContinuation<Wire.Reply.Result, any Error>, CheckedContinuation<Void, any Error>>

    private let state: Mutex<State>
    /// The next sweep (on the event loop), and when it runs: nanoseconds on the transport's clock,
    /// `Int64.min` while none is scheduled. Callers on any thread read the time without a lock.
    private let sweeper = Mutex<Scheduled<Void>?>(nil)
    private let sweepAt = Atomic<Int64>(.min)
    private let onCall: @Sendable (Wire.Call, String, Connection) -> Void
    let channel: any Channel
    private let logger: Logger

    private let clock: TransportClock
    private let keepalive: Duration
    private let keepalivesOn: KeepaliveSwitch

    init(
        channel: any Channel, handshake: Handshake, clock: TransportClock, keepalive: Duration, keepalivesOn: KeepaliveSwitch, logger: Logger,
        onCall: @escaping @Sendable (Wire.Call, String, Connection) -> Void
    ) {
        self.channel = channel
        self.clock = clock
        self.keepalive = keepalive
        self.keepalivesOn = keepalivesOn
        self.logger = logger
        self.state = Mutex(State(handshake: handshake))
        self.onCall = onCall
    }

    var isOpen: Bool { state.withLock(\.isOpen) }

    /// The peer (once the handshake completed) and when it last sent anything.
    var heard: (peer: String, at: Duration)? {
        state.withLock { state in state.peer.flatMap { peer in state.lastHeard.map { (peer, $0) } } }
    }

    /// Sends `hello` and starts the sweeper; called once the channel is active.
    func start() {
        guard let hello = state.withLock({ $0.start() }) else { return }
        send(hello)
        let now = clock.now()
        scheduleSweep(at: state.withLock { $0.nextSweep(now: now, keepalive: keepalive) }, now: now)
    }

    /// Fails expired calls and sends a due `ping`, then schedules the next sweep for when
    /// something falls due (on the event loop). The peer hears something at least every keepalive
    /// interval (and the timer's lateness), well inside its suspicion timeout.
    private func sweep() {
        sweepAt.store(.min, ordering: .relaxed)  // this one ran
        let now = clock.now()
        let (expired, ping, next, open) = state.withLock { state in
            let expired = state.expire(now: now)
            let ping = state.keepalive(now: now, every: keepalive)
            return (expired, ping, state.nextSweep(now: now, keepalive: keepalive), state.isOpen)
        }
        for (caller, error) in expired { caller.resume(throwing: error) }
        if let ping, keepalivesOn.enabled { send(ping) }
        if open { scheduleSweep(at: next, now: now) }
    }

    /// Schedules the sweep for `due` (at least a millisecond from `now`), replacing the one
    /// scheduled before (on the event loop).
    private func scheduleSweep(at due: Duration, now: Duration) {
        let delay = max(due - now, .milliseconds(1))
        if sweepAt.load(ordering: .relaxed) != .min { sweeper.withLock { $0 }?.cancel() }
        let task = channel.eventLoop.scheduleTask(in: TimeAmount(delay)) { self.sweep() }
        sweeper.withLock { $0 = task }
        sweepAt.store(Self.nanoseconds(now + delay), ordering: .relaxed)
    }

    /// A call waiting until `deadline` began: the sweep moves earlier if it would run after it.
    /// (While a sweep runs, none is scheduled: checked again on the event loop, after it.)
    private func sweep(before deadline: Duration) {
        let due = Self.nanoseconds(deadline)
        let scheduled = sweepAt.load(ordering: .relaxed)
        if scheduled != .min, scheduled <= due { return }
        channel.eventLoop.execute {
            let at = self.sweepAt.load(ordering: .relaxed)
            guard at == .min || due < at else { return }
            self.scheduleSweep(at: deadline, now: self.clock.now())
        }
    }

    private static func nanoseconds(_ time: Duration) -> Int64 {
        let (seconds, attoseconds) = time.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    // MARK: Receiving (on the event loop)

    /// Handles one envelope; `false` once the connection is closing.
    func receive(_ envelope: Wire.Envelope) -> Bool {
        if envelope == .ping, !keepalivesOn.enabled { return true }
        let now = clock.now()
        let received = state.withLock { state in
            state.heard(at: now)
            return state.receive(envelope)
        }
        switch received {
        case .send(let envelopes):
            for envelope in envelopes { send(envelope) }
        case .established(let peer, let envelopes, let openers):
            for envelope in envelopes { send(envelope) }
            logger.debug("cluster connection established", metadata: ["cluster.peer": "\(peer)"])
            for opener in openers { opener.resume() }
        case .refused(let reason, let envelopes):
            for envelope in envelopes { send(envelope) }
            logger.warning("cluster handshake refused", metadata: ["cluster.reason": "\(reason)"])
            close(reason: reason, refused: true)
            return false
        case .call(let call, let peer):
            onCall(call, peer, self)  // in arrival order; it must not block (``InboundCalls``)
        case .reply(let caller, let result):
            caller.resume(returning: result)
        case .ignore:
            break
        }
        return true
    }

    /// Waits until the handshake completes; throws `refused` (or `unreachable` on a timeout).
    func waitEstablished(timeout: Duration) async throws {
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            self.close(reason: "handshake timed out after \(timeout)")
        }
        defer { timer.cancel() }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            if let result = state.withLock({ $0.waitEstablished(continuation) }) { continuation.resume(with: result) }
        }
    }

    // MARK: Writing

    /// Queues an envelope; the first frame after a flush schedules the next one.
    func send(_ envelope: Wire.Envelope) {
        let frame = envelope.frame()
        if state.withLock({ $0.enqueue(frame) }) { channel.eventLoop.execute { self.flush() } }
    }

    /// Writes everything queued as one buffer (on the event loop).
    private func flush() {
        let now = clock.now()
        let bytes = state.withLock { $0.takeOutgoing(now: now) }
        guard !bytes.isEmpty else { return }
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        channel.writeAndFlush(buffer, promise: nil)
    }

    // MARK: Calls

    /// Sends a call built with a fresh id and waits for its reply or its deadline.
    func call(_ makeCall: (UInt64) -> Wire.Call, target: String, timeout: Duration) async throws -> Wire.Reply.Result {
        let deadline = clock.now() + timeout
        return try await withCheckedThrowingContinuation { continuation in
            switch state.withLock({ $0.beginCall(continuation, target: target, deadline: deadline) }) {
            case .success(let id):
                send(.call(makeCall(id)))
                sweep(before: deadline)
            case .failure(let error): continuation.resume(throwing: error)
            }
        }
    }

    /// Sends a one-way call (no reply comes); `unreachable` if the connection is closed.
    func send(_ call: Wire.Call) throws {
        guard state.withLock({ $0.isOpen }) else { throw RemoteCallError(.unreachable, "the connection closed") }
        send(.call(call))
    }

    /// Closes the connection: pending calls fail with `unreachable` (or `refused`).
    func close(reason: String = "closed", refused: Bool = false) {
        guard let closed = state.withLock({ $0.close(reason: reason, refused: refused) }) else { return }
        sweeper.withLock { $0 }?.cancel()
        for caller in closed.callers { caller.resume(throwing: closed.error) }
        for opener in closed.openers { opener.resume(throwing: closed.error) }
        // Let a final `refused` frame (already queued) go out before the socket closes.
        let channel = self.channel
        channel.eventLoop.execute {
            self.flush()
            channel.close(promise: nil)
        }
    }
}

/// Whether a transport's connections send and answer keepalives (off during a drill's partition).
final class KeepaliveSwitch: Sendable {
    private let flag = Atomic<Bool>(true)

    var enabled: Bool {
        get { flag.load(ordering: .relaxed) }
        set { flag.store(newValue, ordering: .relaxed) }
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

/// The pipeline end of a ``Connection``: cuts the byte stream into envelopes on the event loop.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let connection: Connection
    private var decoder: WireFrameDecoder
    private let onClose: @Sendable () -> Void

    init(connection: Connection, maxFrameBytes: Int, onClose: @escaping @Sendable () -> Void = {}) {
        self.connection = connection
        self.decoder = WireFrameDecoder(maxFrameBytes: maxFrameBytes)
        self.onClose = onClose
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { connection.start() }
    }

    func channelActive(context: ChannelHandlerContext) {
        connection.start()
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        decoder.append(buffer.readableBytesView)
        do {
            while let envelope = try decoder.next() {
                guard connection.receive(envelope) else { return }
            }
        } catch {
            connection.close(reason: "bad frame from the peer: \(error)")
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.close(reason: "the peer closed the connection")
        onClose()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        connection.close(reason: "connection failed: \(error)")
    }
}
