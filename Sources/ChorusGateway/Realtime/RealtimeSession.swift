import ChorusModel
import NIOCore
import NIOWebSocket
import Synchronization

/// One client WebSocket: the thin, thread-safe shell around ``SessionState``.
///
/// The hub hands it frames from any thread (synchronously: it only queues); its ``SocketWriter``
/// drains the queue to the socket on the socket's event loop. Closing runs what watches the session
/// (``whenClosed(_:)``).
final class RealtimeSession: Sendable {
    /// Why and how a session ends.
    struct Close: Equatable, Sendable {
        var code: WebSocketErrorCode?
        var reason: String
        /// Write what is still queued before closing (a graceful stop).
        var drain = false

        static let clientGone = Close(code: nil, reason: "client closed")
        static let slowConsumer = Close(code: .policyViolation, reason: "slow consumer: outbound buffer over its limit")
        static let goingAway = Close(code: .goingAway, reason: "node is stopping", drain: true)
        static let tooLarge = Close(code: .messageTooLarge, reason: "frame larger than the limit")
        static let idle = Close(code: .goingAway, reason: "idle timeout: no answer to pings")
    }

    private struct Shell {
        var state: SessionState
        var writer: SocketWriter?
        var close: Close?
        /// Frames still queued when a draining close began.
        var drain: [ByteBuffer] = []
        var closeWatchers: [@Sendable (Close) -> Void] = []
        /// The channels a Stream socket watches, each with whether it asked for presence.
        var watching: [ChannelID: Bool] = [:]
        /// Channels the socket follows only because it watches them (not its user's).
        var followedForWatch: Set<ChannelID> = []
        /// The heartbeat and idle check, once `hello` went out, with the heartbeat frame at a time.
        var keepAlive: KeepAlive?
        var heartbeatFrame: (@Sendable (Timestamp) -> ByteBuffer)?
    }

    /// The `connection_id` of `hello`.
    let id: String
    let user: UserID
    /// Which API's event format the socket speaks.
    let format: EventFormat
    private let clock: any TimeSource
    private let shell: Mutex<Shell>
    private let counters: RealtimeHub.Counters
    /// When the client last sent anything (milliseconds of `clock`): any bytes, a pong included.
    private let heardAt: Atomic<Int64>

    init(
        id: String, user: UserID, format: EventFormat = .v1, bufferLimit: Int, grace: Duration, clock: any TimeSource, counters: RealtimeHub.Counters
    ) {
        self.id = id
        self.user = user
        self.format = format
        self.clock = clock
        self.shell = Mutex(Shell(state: SessionState(limit: bufferLimit, grace: grace)))
        self.counters = counters
        self.heardAt = Atomic(clock.now().milliseconds)
        counters.sessionObjects.add(1, ordering: .relaxed)
    }

    deinit {
        counters.sessionObjects.subtract(1, ordering: .relaxed)
    }

    // MARK: Queueing (any thread)

    /// A live event of `channel`, already encoded, at `now` (read once per event by the hub).
    /// Returns the writer to wake if the frame was queued for writing: the hub wakes the writers of
    /// one event loop together.
    func receive(_ channel: ChannelID, _ frame: SessionState.Frame, now: Timestamp) -> SocketWriter? {
        let (action, writer) = shell.withLock { ($0.state.receive(channel, frame, now: now), $0.writer) }
        if case .write = action { return writer }
        perform(action)
        return nil
    }

    /// A control frame.
    func send(_ bytes: ByteBuffer) {
        let now = clock.now()
        perform(shell.withLock { $0.state.send(bytes, now: now) })
    }

    func follow(_ channel: ChannelID, _ start: SessionState.Following) {
        shell.withLock { $0.state.follow(channel, start) }
    }

    func follows(_ channel: ChannelID) -> Bool {
        shell.withLock { $0.state.follows(channel) }
    }

    func unfollow(_ channel: ChannelID) {
        shell.withLock { $0.state.unfollow(channel) }
    }

    /// Applies a watch change of `channel` that names this connection (a Stream socket).
    func applyWatch(_ channel: ChannelID, _ change: ChorusModel.ChannelEvent.WatchChange) {
        guard change.connectionID == id, change.user == user else { return }
        shell.withLock { $0.watching[channel] = change.watching ? change.presence : nil }
    }

    /// How this Stream socket hears of `channel`: as a watcher (with or without presence) or as
    /// a member only (notification events).
    func audience(_ channel: ChannelID) -> StreamEvents.Audience {
        switch shell.withLock({ $0.watching[channel] }) {
        case nil: .member
        case false?: .watcher
        case true?: .watcherWithPresence
        }
    }

    /// Notes that the socket follows `channel` only to watch it; false (nothing noted) when it
    /// already follows `limit` channels that way.
    func noteFollowedForWatch(_ channel: ChannelID, limit: Int) -> Bool {
        shell.withLock { shell in
            guard shell.followedForWatch.count < limit || shell.followedForWatch.contains(channel) else { return false }
            shell.followedForWatch.insert(channel)
            return true
        }
    }

    /// Whether the socket follows `channel` only because it watched it (and now stops following it).
    func followedForWatch(_ channel: ChannelID) -> Bool {
        shell.withLock { $0.followedForWatch.remove(channel) != nil }
    }

    /// The channels this socket watches.
    var watchedChannels: [(ChannelID, presence: Bool)] {
        shell.withLock { $0.watching.map { ($0.key, $0.value) } }
    }

    /// The session follows `channel` from after `seq` (events up to it came before).
    func noteFollowing(_ channel: ChannelID, from seq: UInt64) {
        shell.withLock { $0.state.noteFollowing(channel, from: seq) }
    }

    /// Where to replay `channel` from after it moved to another node (``SessionState/resumePoint(_:)``).
    func resumePoint(_ channel: ChannelID) -> UInt64? {
        shell.withLock { $0.state.resumePoint(channel) }
    }

    /// The channels this session follows.
    var followedChannels: [ChannelID] {
        shell.withLock { Array($0.state.streams.keys) }
    }

    /// Holds `channel` for a new client replay (a `resume` or a join) after `seq`; returns the
    /// replay's id for ``finishReplay(_:by:events:through:trailer:)``.
    func beginClientReplay(_ channel: ChannelID, after seq: UInt64) -> (SessionState.Replayer, SessionState.ReplayStart) {
        shell.withLock { shell in
            let replayer = shell.state.nextClientReplay()
            return (replayer, shell.state.beginReplay(channel, after: seq, by: replayer))
        }
    }

    /// Holds `channel`'s live events for a replay (see ``SessionState/beginReplay(_:after:by:)``).
    func beginReplay(_ channel: ChannelID, after seq: UInt64, by replayer: SessionState.Replayer) -> SessionState.ReplayStart {
        shell.withLock { $0.state.beginReplay(channel, after: seq, by: replayer) }
    }

    func finishReplay(
        _ channel: ChannelID, by replayer: SessionState.Replayer, events: [SessionState.Frame], through: UInt64, trailer: ByteBuffer?
    ) {
        let now = clock.now()
        perform(shell.withLock { $0.state.finishReplay(channel, by: replayer, events: events, through: through, trailer: trailer, now: now) })
    }

    /// Ends the resume window, once (see ``SessionState/endResumeWindow(except:now:)``).
    func endResumeWindow(except kept: Set<ChannelID> = []) {
        let now = clock.now()
        perform(shell.withLock { $0.state.endResumeWindow(except: kept, now: now) })
    }

    /// Bytes queued and buffered now.
    var bufferedBytes: Int { shell.withLock { $0.state.bytes } }

    private func perform(_ action: SessionState.Action) {
        switch action {
        case .none:
            return
        case .write:
            wakeWriter()
        case .armSlowTimer(let deadline):
            wakeWriter()
            let clock = self.clock
            Task { [weak self] in
                try? await clock.sleep(until: deadline)
                guard let self else { return }
                let now = clock.now()
                self.perform(self.shell.withLock { $0.state.checkSlow(now: now) })
            }
        case .closeSlow:
            requestClose(.slowConsumer)
        }
    }

    // MARK: Keep-alive

    /// When the client last sent anything.
    var lastHeard: Timestamp { Timestamp(milliseconds: heardAt.load(ordering: .relaxed)) }

    /// The client sent something (called on the socket's event loop for every read).
    func heard() {
        heardAt.store(clock.now().milliseconds, ordering: .relaxed)
    }

    /// Starts the heartbeat and the idle check (after `hello`); the hub's timer ticks them from now on.
    func startKeepAlive(heartbeat: Duration, idleTimeout: Duration, frame: @escaping @Sendable (Timestamp) -> ByteBuffer) {
        let now = clock.now()
        heard()
        shell.withLock { shell in
            shell.keepAlive = KeepAlive(heartbeat: heartbeat, idleTimeout: idleTimeout, start: now)
            shell.heartbeatFrame = frame
        }
    }

    /// One tick of the hub's timer: sends the heartbeat frame or a ping if due, or closes a
    /// client silent for the idle timeout.
    func tickKeepAlive(now: Timestamp) {
        let heard = lastHeard
        let (actions, frame, writer) = shell.withLock { shell -> (KeepAlive.Actions, (@Sendable (Timestamp) -> ByteBuffer)?, SocketWriter?) in
            guard shell.close == nil, var keepAlive = shell.keepAlive else { return (KeepAlive.Actions(), nil, nil) }
            let actions = keepAlive.tick(now: now, heard: heard)
            shell.keepAlive = keepAlive
            return (actions, shell.heartbeatFrame, shell.writer)
        }
        if actions.close { return requestClose(.idle) }
        if actions.heartbeat, let frame { send(frame(now)) }
        if actions.ping { writer?.ping() }
    }

    // MARK: Writer and closing

    private func wakeWriter() {
        shell.withLock { $0.writer }?.wake()
    }

    /// From now on `writer` drains the queue (it is woken for what is queued already).
    func attach(_ writer: SocketWriter) {
        let closing = shell.withLock { shell in
            if shell.close == nil { shell.writer = writer }
            return shell.close != nil
        }
        if !closing { writer.wake() }
    }

    /// The next frame to write; `nil` if none is queued or the session is closing.
    func takeFrame() -> ByteBuffer? {
        shell.withLock { shell in shell.close == nil ? shell.state.next() : nil }
    }

    /// Starts closing the session (the first reason wins). A draining close keeps what is queued
    /// for ``takeDrain()``.
    func requestClose(_ close: Close) {
        let watchers = shell.withLock { shell -> [@Sendable (Close) -> Void] in
            guard shell.close == nil else { return [] }
            shell.close = close
            let remaining = shell.state.close()
            if close.drain { shell.drain = remaining }
            shell.writer = nil  // the writer holds the session: break the cycle
            defer { shell.closeWatchers = [] }
            return shell.closeWatchers
        }
        for watcher in watchers { watcher(close) }
    }

    /// The frames a draining close must still write.
    func takeDrain() -> [ByteBuffer] {
        shell.withLock { shell in
            defer { shell.drain = [] }
            return shell.drain
        }
    }

    /// Runs `body` once the session starts closing, with why (at once if it has).
    func whenClosed(_ body: @escaping @Sendable (Close) -> Void) {
        let close = shell.withLock { shell -> Close? in
            if shell.close == nil { shell.closeWatchers.append(body) }
            return shell.close
        }
        if let close { body(close) }
    }
}

/// The event format of a WebSocket: the v1 API's frames or the Stream-compatible API's events.
enum EventFormat: Sendable, Equatable {
    case v1
    case stream
}
