import ChorusWire

/// One cluster connection as a pure state machine: its phase (the ``Handshake``, then
/// established, then closed), the table of calls waiting for replies with their deadlines, and
/// the batching of outgoing frames. It does no I/O and reads no clock (times are a
/// ``TransportClock``'s); ``Connection`` is its shell
/// over a NIO channel, and tests drive it directly.
///
/// Generic over what waits: `Caller` for a call's reply, `Opener` for the handshake to complete
/// (continuations in the shell, plain values in tests).
///
/// - Frames queue in one buffer; only the first frame after a flush asks the shell to schedule
///   one (``enqueue(_:)`` returns `true`), so many sends share one write.
/// - A call gets a fresh id and waits in the table until its reply, its deadline
///   (``expire(now:)``) or the connection's end; a reply for an id not in the table (late, or
///   duplicated) is ignored.
/// - Once established, it sends a `ping` every keepalive interval (``keepalive(now:every:)``)
///   and answers a peer's `ping` with a `pong`; ``heard(at:)`` notes when anything last came, so
///   the node can tell a live peer from a dead one below its actors (``lastHeard``).
/// - Closing fails every waiting call and opener at once, and nothing is accepted afterwards.
struct ConnectionState<Caller, Opener> {
    enum Phase {
        case handshaking(Handshake)
        case established(peer: String)
        case closed(reason: String)
    }

    /// A call waiting for its reply.
    struct Pending {
        var caller: Caller
        var deadline: Duration
        var target: String
    }

    /// What the shell does after an envelope arrived.
    enum Received {
        /// Send these envelopes (handshake steps).
        case send([Wire.Envelope])
        /// The handshake completed with `peer`: send `envelopes`, then resume `openers`.
        case established(peer: String, send: [Wire.Envelope], openers: [Opener])
        /// The handshake was refused: send `envelopes` (the refusal), then close with `reason`.
        case refused(reason: String, send: [Wire.Envelope])
        /// Start this call from `peer`.
        case call(Wire.Call, peer: String)
        /// Resume `caller` with its reply.
        case reply(Caller, Wire.Reply.Result)
        /// Nothing to do (a late reply, or the connection is closed).
        case ignore
    }

    /// What closing leaves the shell to fail.
    struct Closed {
        var callers: [Caller]
        var openers: [Opener]
        var error: RemoteCallError
    }

    private(set) var phase: Phase
    private(set) var helloSent = false
    private var outgoing: [UInt8] = []
    private var openers: [Opener] = []
    private var nextCallID: UInt64 = 0
    private var pending: [UInt64: Pending] = [:]
    /// When the peer last sent anything after the handshake.
    private(set) var lastHeard: Duration?
    /// When this side last wrote anything (a `ping` included): the peer heard from it then.
    private var lastWritten: Duration?

    init(handshake: Handshake) {
        phase = .handshaking(handshake)
    }

    /// A connection that needs no handshake (an in-process link to `peer`).
    init(establishedWith peer: String) {
        phase = .established(peer: peer)
    }

    var isOpen: Bool {
        if case .closed = phase { return false }
        return true
    }

    /// The peer, once the handshake completed (and while the connection is open).
    var peer: String? {
        if case .established(let peer) = phase { return peer }
        return nil
    }

    /// Calls waiting for replies.
    var pendingCalls: Int { pending.count }

    /// The channel became active: the `hello` to send, once.
    mutating func start() -> Wire.Envelope? {
        guard case .handshaking(let handshake) = phase, !helloSent else { return nil }
        helloSent = true
        return handshake.hello
    }

    // MARK: Receiving

    /// One envelope arrived from the peer.
    mutating func receive(_ envelope: Wire.Envelope) -> Received {
        switch phase {
        case .handshaking(var handshake):
            let step = handshake.receive(envelope)
            switch step.state {
            case .pending:
                phase = .handshaking(handshake)
                return .send(step.send)
            case .established(let peer):
                phase = .established(peer: peer)
                defer { openers = [] }
                return .established(peer: peer, send: step.send, openers: openers)
            case .failed(let reason):
                return .refused(reason: reason, send: step.send)
            }
        case .established(let peer):
            switch envelope {
            case .ping:
                return .send([.pong])
            case .call(let call):
                return .call(call, peer: peer)
            case .reply(let reply):
                guard let waiting = pending.removeValue(forKey: reply.id) else { return .ignore }
                return .reply(waiting.caller, reply.result)
            default:
                return .ignore
            }
        case .closed:
            return .ignore
        }
    }

    /// Someone waits for the handshake: `.success` at once if it completed, `.failure` if the
    /// connection closed, `nil` if `opener` now waits.
    mutating func waitEstablished(_ opener: Opener) -> Result<Void, RemoteCallError>? {
        switch phase {
        case .established: return .success(())
        case .closed(let reason): return .failure(RemoteCallError(.refused, reason))
        case .handshaking:
            openers.append(opener)
            return nil
        }
    }

    // MARK: Keepalive

    /// Something arrived from the peer at `now` (counts once the handshake completed).
    mutating func heard(at now: Duration) {
        if case .established = phase { lastHeard = now }
    }

    /// The `ping` to send at `now`, if nothing was written for `interval` or more (or nothing
    /// yet): any frame tells the peer this side is alive, so a busy connection sends no pings.
    mutating func keepalive(now: Duration, every interval: Duration) -> Wire.Envelope? {
        guard case .established = phase, lastWritten.map({ now - $0 >= interval }) ?? true else { return nil }
        lastWritten = now
        return .ping
    }

    // MARK: Calls

    /// Registers a call to `target` that waits until `deadline`; returns its id, or the error to
    /// fail it with when the connection is closed.
    mutating func beginCall(_ caller: Caller, target: String, deadline: Duration) -> Result<UInt64, RemoteCallError> {
        guard isOpen else { return .failure(RemoteCallError(.unreachable, "the connection closed")) }
        nextCallID += 1
        pending[nextCallID] = Pending(caller: caller, deadline: deadline, target: target)
        return .success(nextCallID)
    }

    /// Whether any call waits for its reply.
    var hasPendingCalls: Bool { !pending.isEmpty }

    /// When the shell's sweeper must run next, seen at `now`: the earliest deadline of a waiting
    /// call, or when a keepalive falls due (`interval` after the last write), whichever is first.
    func nextSweep(now: Duration, keepalive interval: Duration) -> Duration {
        pending.values.reduce((lastWritten ?? now) + interval) { min($0, $1.deadline) }
    }

    /// Removes the calls whose deadline is at or before `now`; each fails with `timeout`.
    mutating func expire(now: Duration) -> [(Caller, RemoteCallError)] {
        let expired = pending.filter { $0.value.deadline <= now }.sorted { $0.key < $1.key }
        for (id, _) in expired { pending[id] = nil }
        return expired.map { ($0.value.caller, RemoteCallError(.timeout, "no reply to \($0.value.target) before its deadline")) }
    }

    // MARK: Writing

    /// Queues a frame; `true` when the shell must schedule a flush (the buffer was empty).
    /// Nothing is queued once the connection is closed.
    mutating func enqueue(_ frame: [UInt8]) -> Bool {
        guard isOpen else { return false }
        let wasEmpty = outgoing.isEmpty
        outgoing += frame
        return wasEmpty
    }

    /// Everything queued since the last flush, as one write made at `now`.
    mutating func takeOutgoing(now: Duration) -> [UInt8] {
        defer { outgoing = [] }
        if !outgoing.isEmpty { lastWritten = now }
        return outgoing
    }

    // MARK: Closing

    /// Closes the connection; `nil` if it was closed already. (Frames queued before, such as a
    /// refusal, are still flushed by the shell.)
    mutating func close(reason: String, refused: Bool) -> Closed? {
        guard isOpen else { return nil }
        phase = .closed(reason: reason)
        defer {
            pending = [:]
            openers = []
        }
        let callers = pending.sorted { $0.key < $1.key }.map(\.value.caller)
        return Closed(callers: callers, openers: openers, error: RemoteCallError(refused ? .refused : .unreachable, reason))
    }
}

extension ConnectionState: Sendable where Caller: Sendable, Opener: Sendable {}
extension ConnectionState.Pending: Sendable where Caller: Sendable {}
