import ChorusWire
import Logging
import NIOCore
import Synchronization

/// One TCP connection to a peer: the handshake, then calls and replies.
///
/// Writes are batched: `send` appends a frame to a buffer, and one writer task writes everything
/// that accumulated since its last write as a single buffer (one flush for many frames under
/// load). Calls wait in a table keyed by call id until their reply or their deadline; when the
/// connection ends, every waiting call fails with `unreachable` at once.
final class Connection: Sendable {
    enum Direction: Sendable {
        case inbound
        case outbound(String)
    }

    private enum Phase {
        case handshaking(Handshake)
        case established(peer: String)
        case closed(String)
    }

    private struct PendingCall {
        var continuation: CheckedContinuation<Wire.Reply.Result, any Error>
        var timer: Task<Void, Never>?
    }

    private struct State {
        var phase: Phase
        var outgoing: [UInt8] = []
        var writer: CheckedContinuation<Bool, Never>?
        var establishedWaiters: [CheckedContinuation<Void, any Error>] = []
        var nextCallID: UInt64 = 0
        var pending: [UInt64: PendingCall] = [:]
        var channel: (any Channel)?
    }

    private let state: Mutex<State>
    private unowned let transport: ClusterTransport
    let direction: Direction
    private let maxFrameBytes: Int
    private let logger: Logger

    init(transport: ClusterTransport, direction: Direction, maxFrameBytes: Int, logger: Logger) {
        self.transport = transport
        self.direction = direction
        self.maxFrameBytes = maxFrameBytes
        self.logger = logger
        self.state = Mutex(State(phase: .handshaking(transport.makeHandshake())))
    }

    var isOpen: Bool {
        state.withLock { state in
            if case .closed = state.phase { return false }
            return true
        }
    }

    // MARK: Running

    /// Runs the connection until it closes.
    func run(_ channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>) async {
        let hello = state.withLock { state -> Wire.Envelope? in
            state.channel = channel.channel
            guard case .handshaking(let handshake) = state.phase else { return nil }
            return handshake.hello
        }
        if let hello { send(hello) }
        do {
            try await channel.executeThenClose { inbound, outbound in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        while let bytes = await self.nextOutgoing() {
                            try await outbound.write(ByteBuffer(bytes: bytes))
                        }
                    }
                    var decoder = WireFrameDecoder(maxFrameBytes: maxFrameBytes)
                    for try await buffer in inbound {
                        decoder.append(buffer.readableBytesView)
                        while let envelope = try decoder.next() {
                            guard receive(envelope) else { break }
                        }
                        if !isOpen { break }
                    }
                    close(reason: "the peer closed the connection")
                    try await group.waitForAll()
                }
            }
        } catch {
            close(reason: "connection failed: \(error)")
        }
    }

    /// Handles one envelope; `false` once the connection is closing.
    private func receive(_ envelope: Wire.Envelope) -> Bool {
        enum Next {
            case send([Wire.Envelope])
            case established(String, [Wire.Envelope])
            case failed(String, [Wire.Envelope])
            case call(Wire.Call, peer: String)
            case reply(Wire.Reply)
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
                case .reply(let reply): return .reply(reply)
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
            transport.handle(call, from: peer, on: self)
        case .reply(let reply):
            let pending = state.withLock { $0.pending.removeValue(forKey: reply.id) }
            pending?.timer?.cancel()
            pending?.continuation.resume(returning: reply.result)
        case .ignore:
            break
        }
        return true
    }

    /// Waits until the handshake completes; throws `refused` or `timeout`.
    func waitEstablished(timeout: Duration) async throws {
        let timer = Task {
            // Cancelled (the handshake finished first): nothing to do.
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
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

    /// Queues an envelope for the writer.
    func send(_ envelope: Wire.Envelope) {
        let frame = envelope.frame()
        let writer = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            if case .closed = state.phase { return nil }
            state.outgoing += frame
            defer { state.writer = nil }
            return state.writer
        }
        writer?.resume(returning: true)
    }

    /// Everything queued since the last write; `nil` once closed and drained.
    private func nextOutgoing() async -> [UInt8]? {
        while true {
            let ready = state.withLock { state -> [UInt8]?? in
                if !state.outgoing.isEmpty {
                    defer { state.outgoing = [] }
                    return .some(state.outgoing)
                }
                if case .closed = state.phase { return .some(nil) }
                return nil
            }
            if let ready { return ready }
            let wake = await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if !state.outgoing.isEmpty { return true }
                    if case .closed = state.phase { return true }
                    state.writer = continuation
                    return false
                }
                if now { continuation.resume(returning: true) }
            }
            _ = wake
        }
    }

    // MARK: Calls

    /// Sends a call built with a fresh id and waits for its reply.
    func call(_ makeCall: (UInt64) -> Wire.Call, timeout: Duration) async throws -> Wire.Reply.Result {
        let id = state.withLock { state in
            state.nextCallID += 1
            return state.nextCallID
        }
        let call = makeCall(id)
        return try await withCheckedThrowingContinuation { continuation in
            let accepted = state.withLock { state -> Bool in
                if case .closed = state.phase { return false }
                state.pending[id] = PendingCall(continuation: continuation, timer: nil)
                return true
            }
            guard accepted else {
                continuation.resume(throwing: RemoteCallError(.unreachable, "the connection closed"))
                return
            }
            let timer = Task {
                guard (try? await Task.sleep(for: timeout)) != nil else { return }
                let expired = self.state.withLock { $0.pending.removeValue(forKey: id) }
                expired?.continuation.resume(throwing: RemoteCallError(.timeout, "no reply to \(call.target) within \(timeout)"))
            }
            state.withLock { state in state.pending[id]?.timer = timer }
            send(.call(call))
        }
    }

    /// Closes the connection: pending calls fail with `unreachable` (or `refused`).
    func close(reason: String = "closed", refused: Bool = false) {
        let (pending, waiters, channel) = state.withLock { state -> ([PendingCall], [CheckedContinuation<Void, any Error>], (any Channel)?) in
            if case .closed = state.phase { return ([], [], nil) }
            state.phase = .closed(reason)
            defer {
                state.pending = [:]
                state.establishedWaiters = []
            }
            return (Array(state.pending.values), state.establishedWaiters, state.channel)
        }
        let writer = state.withLock { state in
            defer { state.writer = nil }
            return state.writer
        }
        writer?.resume(returning: false)
        let error = RemoteCallError(refused ? .refused : .unreachable, reason)
        for call in pending {
            call.timer?.cancel()
            call.continuation.resume(throwing: error)
        }
        for waiter in waiters { waiter.resume(throwing: error) }
        // Let the writer flush a final `refused` frame before the socket goes.
        if let channel {
            channel.eventLoop.scheduleTask(in: .milliseconds(refused ? 50 : 0)) { channel.close(promise: nil) }
        }
    }
}
