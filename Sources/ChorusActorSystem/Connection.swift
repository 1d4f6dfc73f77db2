import ChorusWire
import Logging
import NIOCore
import Synchronization

/// One TCP connection to a peer: the handshake, then calls and replies.
///
/// Everything happens on the channel's event loop or is handed to it directly: frames are decoded
/// in the pipeline (``ConnectionHandler``), replies resume their callers from there, and inbound
/// calls start there. Writes are batched: `send` appends a frame to a buffer and, if the buffer
/// was empty, schedules one write-and-flush on the event loop, which takes everything that
/// accumulated meanwhile. Calls wait in a table keyed by call id until their reply or their
/// deadline; one event-loop timer per connection sweeps expired calls every 20 ms (a timer per
/// call would wake the event loop once more per call). When the connection ends, every waiting
/// call fails at once.
final class Connection: Sendable {
    private enum Phase {
        case handshaking(Handshake)
        case established(peer: String)
        case closed(String)
    }

    private struct PendingCall {
        var continuation: CheckedContinuation<Wire.Reply.Result, any Error>
        var deadline: NIODeadline
        var target: String
    }

    /// How often expired calls are swept.
    static let sweepInterval = TimeAmount.milliseconds(20)

    private struct State {
        var phase: Phase
        var helloSent = false
        var outgoing: [UInt8] = []
        var establishedWaiters: [CheckedContinuation<Void, any Error>] = []
        var nextCallID: UInt64 = 0
        var pending: [UInt64: PendingCall] = [:]
        var sweeper: RepeatedTask?
    }

    private let state: Mutex<State>
    /// Inbound calls, in arrival order, for the task that starts them off the event loop.
    private let inbound: AsyncStream<(Wire.Call, String)>.Continuation
    private unowned let transport: ClusterTransport
    let channel: any Channel
    private let logger: Logger

    init(channel: any Channel, transport: ClusterTransport, logger: Logger) {
        self.channel = channel
        self.transport = transport
        self.logger = logger
        self.state = Mutex(State(phase: .handshaking(transport.makeHandshake())))
        let (calls, inbound) = AsyncStream<(Wire.Call, String)>.makeStream()
        self.inbound = inbound
        // One task per connection starts the calls in the order they came (each runs
        // synchronously up to its hop onto the actor), never on the event loop itself.
        Task { [transport] in
            for await (call, peer) in calls {
                transport.handle(call, from: peer, on: self)
            }
        }
    }

    var isOpen: Bool {
        state.withLock { state in
            if case .closed = state.phase { return false }
            return true
        }
    }

    /// Sends `hello`; called once the channel is active.
    func start() {
        let hello = state.withLock { state -> Wire.Envelope? in
            guard case .handshaking(let handshake) = state.phase, !state.helloSent else { return nil }
            state.helloSent = true
            return handshake.hello
        }
        if let hello { send(hello) }
        let sweeper = channel.eventLoop.scheduleRepeatedTask(initialDelay: Self.sweepInterval, delay: Self.sweepInterval) { _ in
            self.expireCalls(now: .now())
        }
        state.withLock { $0.sweeper = sweeper }
    }

    /// Fails the calls whose deadline has passed.
    private func expireCalls(now: NIODeadline) {
        let expired = state.withLock { state -> [PendingCall] in
            let ids = state.pending.filter { $0.value.deadline <= now }.map(\.key)
            return ids.compactMap { state.pending.removeValue(forKey: $0) }
        }
        for call in expired {
            call.continuation.resume(throwing: RemoteCallError(.timeout, "no reply to \(call.target) before its deadline"))
        }
    }

    // MARK: Receiving (on the event loop)

    /// Handles one envelope; `false` once the connection is closing.
    func receive(_ envelope: Wire.Envelope) -> Bool {
        enum Next {
            case send([Wire.Envelope])
            case established(String, [Wire.Envelope])
            case failed(String, [Wire.Envelope])
            case call(Wire.Call, peer: String)
            case reply(PendingCall?, Wire.Reply.Result)
            case ignore
        }
        let next = state.withLock { state -> Next in
            switch state.phase {
            case .handshaking(var handshake):
                let step = handshake.receive(envelope)
                switch step.state {
                case .pending:
                    state.phase = .handshaking(handshake)
                    return .send(step.send)
                case .established(let peer):
                    state.phase = .established(peer: peer)
                    return .established(peer, step.send)
                case .failed(let reason):
                    return .failed(reason, step.send)
                }
            case .established(let peer):
                switch envelope {
                case .call(let call): return .call(call, peer: peer)
                case .reply(let reply): return .reply(state.pending.removeValue(forKey: reply.id), reply.result)
                default: return .ignore
                }
            case .closed:
                return .ignore
            }
        }
        switch next {
        case .send(let envelopes):
            for envelope in envelopes { send(envelope) }
        case .established(let peer, let envelopes):
            for envelope in envelopes { send(envelope) }
            logger.debug("cluster connection established", metadata: ["cluster.peer": "\(peer)"])
            let waiters = state.withLock { state in
                defer { state.establishedWaiters = [] }
                return state.establishedWaiters
            }
            for waiter in waiters { waiter.resume() }
        case .failed(let reason, let envelopes):
            for envelope in envelopes { send(envelope) }
            logger.warning("cluster handshake refused", metadata: ["cluster.reason": "\(reason)"])
            close(reason: reason, refused: true)
            return false
        case .call(let call, let peer):
            inbound.yield((call, peer))
        case .reply(let pending, let result):
            pending?.continuation.resume(returning: result)
        case .ignore:
            break
        }
        return true
    }

    /// Waits until the handshake completes; throws `refused` (or `unreachable` on a timeout).
    func waitEstablished(timeout: Duration) async throws {
        let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)) {
            self.close(reason: "handshake timed out after \(timeout)")
        }
        defer { timer.cancel() }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let result: Result<Void, any Error>? = state.withLock { state in
                switch state.phase {
                case .established: return .success(())
                case .closed(let reason): return .failure(RemoteCallError(.refused, reason))
                case .handshaking:
                    state.establishedWaiters.append(continuation)
                    return nil
                }
            }
            if let result { continuation.resume(with: result) }
        }
    }

    // MARK: Writing

    /// Queues an envelope; the first frame after a flush schedules the next one.
    func send(_ envelope: Wire.Envelope) {
        let frame = envelope.frame()
        let scheduleFlush = state.withLock { state -> Bool in
            if case .closed = state.phase { return false }
            let wasEmpty = state.outgoing.isEmpty
            state.outgoing += frame
            return wasEmpty
        }
        if scheduleFlush { channel.eventLoop.execute { self.flush() } }
    }

    /// Writes everything queued as one buffer (on the event loop).
    private func flush() {
        let bytes = state.withLock { state in
            defer { state.outgoing = [] }
            return state.outgoing
        }
        guard !bytes.isEmpty else { return }
        var buffer = channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        channel.writeAndFlush(buffer, promise: nil)
    }

    // MARK: Calls

    /// Sends a call built with a fresh id and waits for its reply or its deadline.
    func call(_ makeCall: (UInt64) -> Wire.Call, timeout: Duration) async throws -> Wire.Reply.Result {
        let id = state.withLock { state in
            state.nextCallID += 1
            return state.nextCallID
        }
        let call = makeCall(id)
        let nanoseconds = Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        let deadline = NIODeadline.now() + .nanoseconds(nanoseconds)
        return try await withCheckedThrowingContinuation { continuation in
            let accepted = state.withLock { state -> Bool in
                if case .closed = state.phase { return false }
                state.pending[id] = PendingCall(continuation: continuation, deadline: deadline, target: call.target)
                return true
            }
            guard accepted else {
                continuation.resume(throwing: RemoteCallError(.unreachable, "the connection closed"))
                return
            }
            send(.call(call))
        }
    }

    /// Closes the connection: pending calls fail with `unreachable` (or `refused`).
    func close(reason: String = "closed", refused: Bool = false) {
        let (pending, waiters, sweeper) = state.withLock { state -> ([PendingCall], [CheckedContinuation<Void, any Error>], RepeatedTask?) in
            if case .closed = state.phase { return ([], [], nil) }
            state.phase = .closed(reason)
            defer {
                state.pending = [:]
                state.establishedWaiters = []
                state.sweeper = nil
            }
            return (Array(state.pending.values), state.establishedWaiters, state.sweeper)
        }
        sweeper?.cancel()
        inbound.finish()
        let error = RemoteCallError(refused ? .refused : .unreachable, reason)
        for call in pending {
            call.continuation.resume(throwing: error)
        }
        for waiter in waiters { waiter.resume(throwing: error) }
        // Let a final `refused` frame (already queued) go out before the socket closes.
        let channel = self.channel
        channel.eventLoop.execute {
            self.flush()
            channel.close(promise: nil)
        }
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
