import ChorusAuth
import ChorusChat
import ChorusModel
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket

/// `GET /v1/ws`: authenticates a WebSocket, runs its session and closes it with the right code.
///
/// A session first follows every channel of its user (buffering their events), then sends
/// `hello`, so everything after `hello` reaches the client. Then it runs at once: a writer that
/// drains the session's queue to the socket, its keep-alive (a `health` frame every
/// `heartbeat_interval` and pings, ticked by the hub on the node's clock), the resume window, and
/// the reader of client frames.
/// Whatever ends the session first (the client leaving, a slow consumer, the node stopping)
/// closes it for all.
struct RealtimeEndpoint: Sendable {
    let hub: RealtimeHub
    let tokens: TokenVerifier
    let rateLimiter: RateLimiter

    var node: ChatNode { hub.node }
    var configuration: ChorusConfiguration.Realtime { hub.configuration }

    /// The server's WebSocket settings: inbound frame limit and close timeout. Pings are the
    /// hub's (``KeepAlive``, on the node's clock), not a task per socket.
    static func webSocketConfiguration(_ realtime: ChorusConfiguration.Realtime) -> WebSocketServerConfiguration {
        WebSocketServerConfiguration(
            maxFrameSize: realtime.maxInboundFrameBytes, autoPing: .disabled, closeTimeout: realtime.closeTimeoutSeconds.secondsDuration)
    }

    /// Upgrades `GET /v1/ws` (any other upgrade request is left to the router).
    func shouldUpgrade(_ head: HTTPRequest, channel: any Channel) -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        let uri = URI(head.path ?? "")
        guard uri.path == "/v1/ws" else { return .dontUpgrade }
        let token = uri.queryParameters.get("token") ?? AuthMiddleware.bearerToken(head.headerFields[.authorization])
        let resuming = ["1", "true"].contains(uri.queryParameters.get("resume") ?? "")
        return .upgrade([:]) { inbound, outbound, context in
            await serve(token: token, resuming: resuming, channel: channel, inbound: inbound, outbound: outbound, logger: context.logger)
        }
    }

    // MARK: One session

    /// Serves one socket. `resuming`: the client announced a resume (`?resume=1`): its channels'
    /// events wait for its first frame (or the resume window) so that the channels it resumes are
    /// replayed with no gap; any other client gets live events at once.
    func serve(
        token: String?, resuming: Bool, channel: any Channel, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, logger: Logger
    ) async {
        let opened = await Self.apart { () async -> Result<(RealtimeSession, Logger)?, any Error> in
            do {
                let session = try await open(token: token)
                guard let logger = await attachWriter(session, channel: channel, logger: logger) else { return .success(nil) }
                await setUp(session, logger: logger)
                return .success((session, logger))
            } catch {
                return .failure(error)
            }
        }
        let session: RealtimeSession
        let logger: Logger
        switch opened {
        case .success(nil): return
        case .success(let (opened, openedLogger)?): (session, logger) = (opened, openedLogger)
        case .failure(let error):
            // A bad token gets one error frame, then a normal close; a refused socket 1008 (too
            // many for the user) or 1001 (the node is stopping).
            let chatError = APIError(classifying: error)?.error ?? ChatError(.clusterUnavailable, "the session could not start")
            let code: WebSocketErrorCode =
                switch chatError.code {
                case .rateLimited: .policyViolation
                case .clusterUnavailable: .goingAway
                default: .normalClosure
                }
            try? await outbound.write(.custom(Self.textFrame(RealtimeFrames.error(chatError))))
            try? await outbound.close(code, reason: chatError.message)
            return
        }
        session.send(
            RealtimeFrames.hello(
                connectionID: session.id, userID: session.user, heartbeatInterval: Int(configuration.heartbeatIntervalSeconds.rounded(.down))))
        if !resuming { session.endResumeWindow() }
        startKeepAlive(session) { _ in RealtimeFrames.health }
        logger.debug("WebSocket session opened")

        // The reader runs in this task, the socket's own (a task per socket costs memory): it
        // returns when the client leaves, or when the session closes for another reason, which
        // stops the socket's reading (``SocketWriter/stopReading()``).
        let hold = resuming ? Task { await holdForResume(session) } : nil
        await read(inbound, into: session, logger: logger)
        hold?.cancel()
        let close = await session.closed()
        await finish(session, close, outbound: outbound, logger: logger)
    }

    /// Runs `body` in a task of its own and waits for it. A socket's task lives as long as the
    /// socket, and a task keeps the memory its deepest call needed until it ends (its stack
    /// slabs): a session's setup (the token, the user's actor, following every channel) runs
    /// apart, so what its calls needed is freed when they return (~3 KiB per idle socket,
    /// docs/benchmarks.md).
    static func apart<T: Sendable>(_ body: @escaping @Sendable () async -> T) async -> T {
        await Task { await body() }.value
    }

    /// Installs the session's socket writer; returns the session's logger, or `nil` (the session
    /// forgotten) if the socket closed during the upgrade. Both APIs' sockets start this way.
    func attachWriter(_ session: RealtimeSession, channel: any Channel, logger: Logger) async -> Logger? {
        var logger = logger
        logger[metadataKey: "realtime.connection"] = "\(session.id)"
        logger[metadataKey: "user.id"] = "\(session.user)"
        let writer = SocketWriter(channel: channel, session: session)
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

    /// Writes what the session still has to say (on a drain), then closes the socket with the
    /// close's code, within the close timeout, and forgets the session.
    func finish(_ session: RealtimeSession, _ close: RealtimeSession.Close, outbound: WebSocketOutboundWriter, logger: Logger) async {
        // The hub forgets the session only once its last frames and the close are written: a node
        // that is stopping waits for that (bounded by the close timeout) before its HTTP server stops.
        defer {
            hub.remove(session)
            Task { [hub] in await hub.noteClosed(session) }
        }
        if close == .slowConsumer { hub.noteSlowClose() }
        logger.debug("WebSocket session closing", metadata: ["realtime.close": "\(close.reason)"])
        guard let code = close.code else { return }
        let closeTimeout = configuration.closeTimeoutSeconds.secondsDuration
        await withTimeLimit(closeTimeout) {
            for frame in session.takeDrain() {
                try await outbound.write(.custom(Self.textFrame(frame)))
            }
            try await outbound.close(code, reason: close.reason)
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
    /// window (at once, for a client that does not resume).
    private func setUp(_ session: RealtimeSession, logger: Logger) async {
        let channels: [ChannelID]
        do throws(any Error) {
            channels = try await node.withUser(session.user) { try await $0.channelIDs() }
        } catch {
            logger.warning("cannot list the user's channels", metadata: ["error": "\(error)"])
            return
        }
        await withTaskGroup(of: Void.self) { group in
            for channel in channels {
                group.addTask {
                    do {
                        try await hub.follow(session, channel, .untilResumeWindowEnds)
                    } catch {
                        logger.debug("cannot follow channel", metadata: ["channel.id": "\(channel)", "error": "\(error)"])
                    }
                }
            }
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

    /// A final text frame carrying `bytes` (already JSON).
    static func textFrame(_ bytes: ByteBuffer) -> WebSocketFrame {
        WebSocketFrame(fin: true, opcode: .text, data: bytes)
    }

    // MARK: Client frames

    private func read(_ inbound: WebSocketInboundStream, into session: RealtimeSession, logger: Logger) async {
        var first = true
        do {
            for try await message in inbound.messages(maxSize: configuration.maxInboundFrameBytes) {
                let frame: Result<ClientFrame, ChatError> =
                    switch message {
                    case .text(let text): Result { () throws(ChatError) in try ClientFrame.parse(text) }
                    case .binary: .failure(ChatError(.invalidRequest, "send JSON text frames, not binary"))
                    }
                if first {
                    // The first frame ends the resume window; channels it resumes stay held for their replay.
                    let kept: Set<ChannelID> = if case .success(.resume(let channels)) = frame { Set(channels.keys) } else { [] }
                    session.endResumeWindow(except: kept)
                    first = false
                }
                await handle(frame, session: session)
            }
            session.requestClose(.clientGone)
        } catch {
            // The one error a live connection raises here is a message over the size limit (an
            // oversized single frame is refused below us, by the frame decoder, with the same code).
            logger.debug("WebSocket read ended", metadata: ["error": "\(error)"])
            session.requestClose(.tooLarge)
        }
    }

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

/// Runs `body`, giving up (by cancelling it) after `limit` of real time.
func withTimeLimit(_ limit: Duration, _ body: @escaping @Sendable () async throws -> Void) async {
    await withTaskGroup(of: Void.self) { group in
        group.addTask { try? await body() }
        group.addTask { try? await Task.sleep(for: limit) }
        await group.next()
        group.cancelAll()
    }
}
