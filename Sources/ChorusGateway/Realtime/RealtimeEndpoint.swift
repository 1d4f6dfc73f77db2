import ChorusAuth
import ChorusChat
import ChorusModel
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import Synchronization

/// `GET /v1/ws`: authenticates a WebSocket, runs its session and closes it with the right code.
///
/// A session first follows every channel of its user (buffering their events), then sends
/// `hello`, so everything after `hello` reaches the client. From then on the socket's handlers
/// (``ServerWebSocket``) and the session's ``SocketWriter`` serve it on its event loop: the
/// session's queue drains to the socket, the hub ticks its keep-alive (a `health` frame every
/// `heartbeat_interval` and pings), and client frames are handled one at a time, in order.
/// Whatever ends the session first (the client leaving, a slow consumer, the node stopping)
/// closes it for all.
struct RealtimeEndpoint: Sendable {
    let hub: RealtimeHub
    let tokens: TokenVerifier
    let rateLimiter: RateLimiter

    var node: ChatNode { hub.node }
    var configuration: ChorusConfiguration.Realtime { hub.configuration }

    /// The server's WebSocket settings: inbound message limit and close timeout. Pings are the
    /// hub's (``KeepAlive``, on the node's clock), not a task per socket.
    static func webSocketConfiguration(_ realtime: ChorusConfiguration.Realtime) -> ServerWebSocket.Configuration {
        ServerWebSocket.Configuration(
            maxMessageBytes: realtime.maxInboundFrameBytes, closeTimeout: TimeAmount(realtime.closeTimeoutSeconds.secondsDuration))
    }

    /// Serves upgrades of `GET /v1/ws` (`nil` for any other path).
    func upgrade(_ head: HTTPRequestHead) -> HTTPServerChannel.WebSocketService? {
        let uri = URI(head.uri)
        guard uri.path == "/v1/ws" else { return nil }
        let token = uri.queryParameters.get("token") ?? AuthMiddleware.bearerToken(head.headers.first(name: "authorization"))
        let resuming = ["1", "true"].contains(uri.queryParameters.get("resume") ?? "")
        return { socket, logger in
            start(socket, logger: logger) {
                let session = try await open(token: token)
                guard let logger = await attachWriter(session, socket: socket, logger: logger) else { return nil }
                return (session, logger, try await forgetting(session, ifThrows: { try await setUp(session, logger: logger) }))
            } refused: { error in
                // A bad token gets one error frame, then a normal close; a refused socket 1008 (too
                // many for the user) or 1001 (the node is stopping, or the user's channels could
                // not be listed: reconnect, to another node).
                let chatError = APIError(classifying: error)?.error ?? ChatError(.clusterUnavailable, "the session could not start")
                let code: WebSocketErrorCode =
                    switch chatError.code {
                    case .rateLimited: .policyViolation
                    case .clusterUnavailable: .goingAway
                    default: .normalClosure
                    }
                socket.close(code, reason: chatError.message, after: [RealtimeFrames.error(chatError)])
            } run: { (session: RealtimeSession, unfollowed: [(ChannelID, ChatError)]) in
                // The keep-alive's clock starts before the client can see `hello`.
                startKeepAlive(session) { _ in RealtimeFrames.health }
                session.send(
                    RealtimeFrames.hello(
                        connectionID: session.id, userID: session.user, heartbeatInterval: Int(configuration.heartbeatIntervalSeconds.rounded(.down))))
                // Channels whose events will not reach this socket: the client resumes them on a
                // new connection (docs/realtime.md, "Connecting").
                for (channel, error) in unfollowed { session.send(RealtimeFrames.resumeFailed(channel, error: error, through: nil)) }
                if resuming {
                    let hold = Task { await holdForResume(session) }
                    session.whenClosed { _ in hold.cancel() }
                } else {
                    session.endResumeWindow()
                }
                let first = Atomic(true)
                socket.consume { message in
                    let frame: Result<ClientFrame, ChatError> =
                        switch message {
                        case .text(let text): Result { () throws(ChatError) in try ClientFrame.parse(String(buffer: text)) }
                        case .binary: .failure(ChatError(.invalidRequest, "send JSON text frames, not binary"))
                        }
                    if first.exchange(false, ordering: .relaxed) {
                        // The first frame ends the resume window; channels it resumes stay held for their replay.
                        let kept: Set<ChannelID> = if case .success(.resume(let channels)) = frame { Set(channels.keys) } else { [] }
                        session.endResumeWindow(except: kept)
                    }
                    await handle(frame, session: session)
                }
            }
        }
    }

    // MARK: One session

    /// Runs one socket's session, both APIs alike. `open` (in a task of its own, which ends with
    /// it) authenticates, registers and sets up the session (with what `run` needs of the
    /// set-up), or returns `nil` if the socket closed meanwhile; `refused` answers its error; `run`
    /// sends the first frames and starts the session's keep-alive and its reading of client frames. From then on the session lives in the socket's
    /// handlers and the hub, with no task: it ends when the client leaves or the session closes.
    func start<Setup: Sendable>(
        _ socket: ServerWebSocket, logger: Logger, open: @escaping @Sendable () async throws -> (RealtimeSession, Logger, Setup)?,
        refused: @escaping @Sendable (any Error) -> Void, run: @escaping @Sendable (RealtimeSession, Setup) -> Void
    ) {
        Task {
            let opened: (session: RealtimeSession, logger: Logger, setup: Setup)?
            do {
                opened = try await open()
            } catch {
                return refused(error)
            }
            guard let (session, sessionLogger, setup) = opened else { return }
            run(session, setup)
            sessionLogger.debug("WebSocket session opened")
            socket.whenEnded { end in session.requestClose(end == .tooLarge ? .tooLarge : .clientGone) }
            // The base logger, not the session's: its metadata would be kept (~0.5 KiB) as long as the socket.
            session.whenClosed { close in finish(session, close, socket: socket, logger: logger) }
        }
    }

    /// Installs the session's socket writer; returns the session's logger, or `nil` (the session
    /// forgotten) if the socket closed during the upgrade. Both APIs' sockets start this way.
    func attachWriter(_ session: RealtimeSession, socket: ServerWebSocket, logger: Logger) async -> Logger? {
        let logger = Self.logger(logger, of: session)
        let writer = SocketWriter(socket: socket, session: session, interval: .milliseconds(Int64(configuration.writeIntervalMilliseconds)), counters: hub.counters)
        do {
            try await writer.install()
        } catch {
            hub.remove(session)
            return nil
        }
        session.attach(writer)
        await hub.noteOpened(session)
        return logger
    }

    /// Runs `setUp` of a registered session that has not said `hello` yet; if it throws, the
    /// session is forgotten (the socket is refused). Both APIs' sockets start this way.
    func forgetting<Setup>(_ session: RealtimeSession, ifThrows setUp: () async throws -> Setup) async throws -> Setup {
        do {
            return try await setUp()
        } catch {
            hub.remove(session)
            Task { await hub.noteClosed(session) }
            throw error
        }
    }

    /// `base` with the session's connection and user.
    static func logger(_ base: Logger, of session: RealtimeSession) -> Logger {
        var logger = base
        logger[metadataKey: "realtime.connection"] = "\(session.id)"
        logger[metadataKey: "user.id"] = "\(session.user)"
        return logger
    }

    /// Writes what the session still has to say (on a drain), then closes the socket with the
    /// close's code (the connection closes when the client answers, or after the close timeout),
    /// and forgets the session once the close is written.
    func finish(_ session: RealtimeSession, _ close: RealtimeSession.Close, socket: ServerWebSocket, logger: Logger) {
        if close == .slowConsumer { hub.noteSlowClose() }
        if logger.logLevel <= .debug {
            Self.logger(logger, of: session).debug("WebSocket session closing", metadata: ["realtime.close": "\(close.reason)"])
        }
        // A node that is stopping waits until every session is forgotten (bounded by the close
        // timeout) before its HTTP server stops.
        socket.close(close.code, reason: close.reason, after: session.takeDrain()).whenComplete { [hub] _ in
            hub.remove(session)
            Task { await hub.noteClosed(session) }
        }
    }

    /// Authenticates the token, creates the user if new, and registers the session.
    private func open(token: String?) async throws -> RealtimeSession {
        guard let token else { throw ChatError(.missingToken, "pass the token as ?token=<JWT> or Authorization: Bearer <JWT>") }
        let claims = try tokens.verify(token, now: node.clock.now())
        guard let rawUserID = claims.userID, let userID = UserID(rawUserID) else {
            throw ChatError(.invalidToken, "a WebSocket needs a user token (with user_id), not a server token")
        }
        if let retryAfter = rateLimiter.acquire(userID) {
            throw ChatError(.rateLimited, "too many requests; retry in \(retryAfter) s")
        }
        _ = try await node.ensureUser(userID, displayName: claims.name)
        let session = RealtimeSession(
            id: Self.connectionID(), user: userID, bufferLimit: configuration.outboundBufferBytes,
            grace: configuration.slowConsumerGraceSeconds.secondsDuration, clock: node.clock, counters: hub.counters)
        try hub.register(session)
        return session
    }

    static func connectionID() -> String {
        randomHex(bytes: 16)
    }

    /// Follows every channel of the user, buffering until the client's first frame or the resume
    /// window (at once, for a client that does not resume). Returns the channels it could not
    /// follow, with why (their owner stayed out of reach); throws if the user's channels cannot be
    /// listed (the socket is refused: it would get no events at all).
    private func setUp(_ session: RealtimeSession, logger: Logger) async throws -> [(ChannelID, ChatError)] {
        let channels = try await node.withUser(session.user) { try await $0.channelIDs() }
        return await withTaskGroup(of: (ChannelID, ChatError)?.self) { group in
            for channel in channels {
                group.addTask {
                    do {
                        try await hub.follow(session, channel, .untilResumeWindowEnds)
                        return nil
                    } catch {
                        logger.warning("cannot follow channel", metadata: ["channel.id": "\(channel)", "error": "\(error)"])
                        return (channel, APIError(classifying: error)?.error ?? ChatError(.clusterUnavailable, "the channel could not be reached"))
                    }
                }
            }
            var unfollowed: [(ChannelID, ChatError)] = []
            for await failure in group {
                if let failure { unfollowed.append(failure) }
            }
            return unfollowed
        }
    }

    /// Lets buffered events through once the resume window after `hello` has passed.
    private func holdForResume(_ session: RealtimeSession) async {
        let clock = node.clock
        do {
            try await clock.sleep(for: .milliseconds(configuration.resumeWindowMilliseconds))
        } catch {
            return
        }
        session.endResumeWindow()
    }

    /// Starts `session`'s heartbeat (`frame` every heartbeat interval) and idle check; the
    /// hub's timer runs them (``KeepAlive``).
    func startKeepAlive(_ session: RealtimeSession, frame: @escaping @Sendable (Timestamp) -> ByteBuffer) {
        session.startKeepAlive(
            heartbeat: configuration.heartbeatIntervalSeconds.secondsDuration, idleTimeout: configuration.idleTimeoutSeconds.secondsDuration,
            frame: frame)
    }

    // MARK: Client frames

    private func handle(_ parsed: Result<ClientFrame, ChatError>, session: RealtimeSession) async {
        let frame: ClientFrame
        switch parsed {
        case .success(let parsed): frame = parsed
        case .failure(let error):
            session.send(RealtimeFrames.error(error))
            return
        }
        if case .resume(let channels) = frame {
            // Each channel is held until its own replay ends, so they run side by side (a bounded
            // number at a time): one slow channel must not keep the others waiting.
            await withTaskGroup(of: Void.self) { group in
                for (index, (channel, seq)) in channels.sorted(by: { $0.key < $1.key }).enumerated() {
                    if index >= RealtimeHub.concurrentReplays { await group.next() }
                    group.addTask { await self.hub.replay(session, channel, after: seq, announce: true) }
                }
            }
            return
        }
        if let retryAfter = rateLimiter.acquire(session.user) {
            session.send(RealtimeFrames.error(ChatError(.rateLimited, "too many requests; retry in \(retryAfter) s")))
            return
        }
        guard case .typing(let channel) = frame else { return }
        do {
            try await node.withChannel(channel) { try await $0.startTyping(by: session.user) }
        } catch {
            let chatError = APIError(classifying: error)?.error ?? ChatError(.clusterUnavailable, "the channel could not be reached")
            session.send(RealtimeFrames.error(chatError, channelID: channel))
        }
    }
}
