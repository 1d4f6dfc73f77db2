import ChorusChat
import ChorusModel
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The edge of one node: its WebSocket sessions, which channels they follow, and this edge's
/// subscriptions at the channel actors.
///
/// The second level of the two-level fan-out: a channel actor hands each event once to
/// ``deliver(_:)``; the hub encodes the frame once and queues the same bytes on every session
/// that follows the channel. The hub subscribes to a channel when its first session follows it
/// and unsubscribes when the last one stops; each call carries a generation so the channel actor
/// can ignore stale ones. As a `Service`, it closes every socket with 1001 when the node stops.
public final class RealtimeHub: EdgeEventSink, Service {
    public let edgeName: String
    let node: ChatNode
    let configuration: ChorusConfiguration.Realtime
    let logger: Logger

    struct State {
        var sessions: [String: RealtimeSession] = [:]
        var sessionsByUser: [UserID: Set<String>] = [:]
        /// Sessions following each channel.
        var followers: [ChannelID: ChannelFollowers] = [:]
        /// This edge's subscription at each followed channel's actor (done or in flight), with the
        /// seq after which events reach the edge.
        var subscriptions: [ChannelID: Task<UInt64, any Error>] = [:]
        /// The newest generation this edge gave a subscribe or unsubscribe call (see
        /// ``firstGeneration(startingAt:)``).
        var generation: UInt64
        /// Sessions a re-subscription found with no resume point (their follow still in flight),
        /// held by that re-subscription's replay, with its generation: each is replayed from its
        /// baseline once its follow returns (``follow(_:_:_:)``).
        var awaitingPoint: [ChannelID: [String: UInt64]] = [:]
        var accepting = true
        /// The newest membership change seen for each user with sessions here, so a change that
        /// arrives late (behind a newer one) never overrides it. Dropped with the user's last session.
        var membership: [UserID: [ChannelID: MembershipChange]] = [:]
        /// The Stream addresses of channels Stream sessions follow (their events carry the cid).
        var addresses: [ChannelID: ChannelAddress] = [:]
        /// The timer that ticks every session's keep-alive, while there are sessions.
        var keepAliveTimer: Task<Void, Never>?

        /// The generation of the next subscribe or unsubscribe call.
        mutating func nextGeneration() -> UInt64 {
            generation += 1
            return generation
        }
    }

    /// Where an edge's generations start: its start time in milliseconds, times 2^20.
    ///
    /// A channel's actor ignores a call of an edge older than the last one it applied, and the actor
    /// outlives the edge's process: an edge that restarted and counted from 0 again had its
    /// subscriptions ignored as stale, yet got the actor's seq back, so its sessions waited for
    /// events that never came. Starting from the start time, a restarted edge is ahead of its
    /// earlier run unless that run made more than 2^20 subscription changes per millisecond it ran
    /// or the clock stepped back by more than that run's uptime (docs/realtime.md).
    static func firstGeneration(startingAt start: Timestamp) -> UInt64 {
        UInt64(max(0, start.milliseconds)) << 20
    }

    /// How many of one channel's sessions an edge replay serves at a time, and how many channels
    /// of one client's `resume` replay at a time.
    static let concurrentReplays = 16

    struct MembershipChange {
        /// The channel log position of the change (its member_add or member_remove).
        var seq: UInt64
        var isMember: Bool
    }
    /// Everything that changes (the extensions in `RealtimeHub+…` files use it too).
    let state: Mutex<State>
    let counters = Counters()

    /// Frames encoded and queued, for tests and metrics.
    final class Counters: Sendable {
        let encodedEvents = Atomic<Int>(0)
        let queuedEvents = Atomic<Int>(0)
        /// Flushes of queued frames onto sockets (one write each, unless a frame is over 64 KiB).
        let socketWrites = Atomic<Int>(0)
        /// `RealtimeSession` objects in memory (registered or not): a leak shows here.
        let sessionObjects = Atomic<Int>(0)
        let slowClosed = Atomic<Int>(0)
    }

    /// Creates the edge of `node` and registers it, so channel actors find it by `edgeName`.
    public init(edgeName: String, node: ChatNode, configuration: ChorusConfiguration.Realtime, logger: Logger) {
        self.edgeName = edgeName
        self.node = node
        self.configuration = configuration
        self.logger = logger
        state = Mutex(State(generation: Self.firstGeneration(startingAt: node.clock.now())))
        node.registerEdge(self)
        // Channels that move to another node need this edge's subscription there.
        node.cluster?.onRingChange { [weak self] _ in self?.resubscribeAll() }
    }

    // MARK: Events from channel actors

    public func deliver(_ event: ChorusModel.ChannelEvent) {
        if case .resync = event.payload {
            // The channel's actor replaced its log: events of it never reached this edge.
            resubscribeAll { $0 == event.channelID }
            return
        }
        let (followers, address) = state.withLock { ($0.followers[event.channelID], $0.addresses[event.channelID]) }
        guard let followers else { return }
        let now = node.clock.now()
        var writers: [SocketWriter] = []
        var queued = 0
        func hand(_ frame: SessionState.Frame, to follower: RealtimeSession) {
            queued += 1
            if let writer = follower.receive(event.channelID, frame, now: now) { writers.append(writer) }
        }
        // Encoded once per format that a follower speaks (Stream: once for watchers, once for
        // members that only get notifications).
        if event.reachesV1, !followers.v1.isEmpty {
            let frame = SessionState.Frame(seq: event.seq, bytes: RealtimeFrames.event(event))
            counters.encodedEvents.add(1, ordering: .relaxed)
            for follower in followers.v1 { hand(frame, to: follower) }
        }
        if !followers.stream.isEmpty, reachesStream(event, followers), let address {
            var frames: [Bool: SessionState.Frame?] = [:]
            for follower in followers.stream {
                let audience = follower.audience(event.channelID)
                guard StreamEvents.reaches(event, user: follower.user, as: audience) else { continue }
                let asMember = audience == .member
                if frames[asMember] == nil {
                    frames[asMember] = StreamEvents.frame(event, address: address, for: audience).map { SessionState.Frame(seq: event.seq, bytes: $0) }
                    counters.encodedEvents.add(1, ordering: .relaxed)
                }
                if let frame = frames[asMember] ?? nil { hand(frame, to: follower) }
            }
        }
        counters.queuedEvents.add(queued, ordering: .relaxed)
        SocketWriter.wake(writers)
        // Nothing after a user's removal reaches their sessions.
        if case .memberRemove(let user) = event.payload {
            for session in sessions(of: user) { unfollow(session, event.channelID) }
        }
    }

    /// Whether `event` may reach any Stream follower. A watch change is applied first to the
    /// socket it names, before any later event of the channel reaches that socket; only an
    /// announced one goes out to the other watchers.
    private func reachesStream(_ event: ChorusModel.ChannelEvent, _ followers: ChannelFollowers) -> Bool {
        guard case .watching(let change) = event.payload else { return true }
        followers.streamSession(change.connectionID)?.applyWatch(event.channelID, change)
        return change.announce
    }

    /// A user joined or left `channel` at log position `seq`. Changes may arrive in any order
    /// (from several nodes, over several connections): one older than the newest seen for the
    /// user and channel is ignored, and a join whose follow completes after a newer leave undoes it.
    public func membershipChanged(of user: UserID, in channel: ChannelID, isMember: Bool, seq: UInt64) {
        let sessions = state.withLock { state -> [RealtimeSession] in
            guard let ids = state.sessionsByUser[user], !ids.isEmpty else { return [] }
            if let newest = state.membership[user]?[channel], newest.seq >= seq { return [] }
            state.membership[user, default: [:]][channel] = MembershipChange(seq: seq, isMember: isMember)
            return ids.compactMap { state.sessions[$0] }
        }
        for session in sessions {
            if isMember {
                // Start with the user's own member_add (at `seq`), then everything after it.
                Task { await self.join(session, channel, after: seq - 1) }
            } else {
                unfollow(session, channel)
            }
        }
    }

    private func join(_ session: RealtimeSession, _ channel: ChannelID, after seq: UInt64) async {
        guard !session.follows(channel) else { return }
        do {
            try await follow(session, channel, .untilReplay)
        } catch {
            logger.debug("follow failed", metadata: ["channel.id": "\(channel)", "error": "\(error)"])
            return
        }
        if state.withLock({ $0.membership[session.user]?[channel]?.isMember == false }) {
            // The user left while this join was on its way.
            unfollow(session, channel)
            return
        }
        await replay(session, channel, after: seq, announce: false)
    }

    // MARK: Sessions

    /// Adds a session; `RATE_LIMITED` if its user already has the most sockets allowed, and
    /// `CLUSTER_UNAVAILABLE` once the node is stopping.
    func register(_ session: RealtimeSession) throws(ChatError) {
        try state.withLock { state throws(ChatError) in
            guard state.accepting else { throw ChatError(.clusterUnavailable, "this node is stopping; reconnect to another") }
            let open = state.sessionsByUser[session.user, default: []]
            guard open.count < configuration.maxSocketsPerUser else {
                throw ChatError(.rateLimited, "too many open sockets for this user (limit \(configuration.maxSocketsPerUser))")
            }
            state.sessions[session.id] = session
            state.sessionsByUser[session.user, default: []].insert(session.id)
            if state.keepAliveTimer == nil { state.keepAliveTimer = startKeepAliveTimer() }
        }
    }

    /// Ticks every session's keep-alive (``KeepAlive``) on the node's clock, a few times per idle
    /// timeout and at least every second; stops when the last session is gone (``register(_:)``
    /// starts it again).
    private func startKeepAliveTimer() -> Task<Void, Never> {
        let clock = node.clock
        let period = min(.seconds(1), configuration.idleTimeoutSeconds.secondsDuration / 4)
        return Task { [weak self] in
            var next = clock.now().advanced(by: period)
            while !Task.isCancelled {
                try? await clock.sleep(until: next)
                let sessions = self?.state.withLock { state -> [RealtimeSession] in
                    if state.sessions.isEmpty { state.keepAliveTimer = nil }
                    return Array(state.sessions.values)
                }
                guard let sessions, !sessions.isEmpty else { return }
                let now = clock.now()
                for session in sessions { session.tickKeepAlive(now: now) }
                next = next.advanced(by: period)
                if next <= now { next = now.advanced(by: period) }  // late: no burst of ticks
            }
        }
    }

    /// Removes a session and stops it following and watching anything.
    func remove(_ session: RealtimeSession) {
        for (channel, _) in session.watchedChannels {
            Task { [node] in try? await node.withChannel(channel) { try await $0.stopWatching(connection: session.id, by: session.user) } }
        }
        for channel in session.followedChannels { unfollow(session, channel) }
        state.withLock { state in
            state.sessions[session.id] = nil
            state.sessionsByUser[session.user]?.remove(session.id)
            if state.sessionsByUser[session.user]?.isEmpty == true {
                state.sessionsByUser[session.user] = nil
                state.membership[session.user] = nil
            }
        }
    }

    /// This edge's session with connection id `id`, if it has one.
    func session(_ id: String) -> RealtimeSession? {
        state.withLock { $0.sessions[id] }
    }

    private func sessions(of user: UserID) -> [RealtimeSession] {
        state.withLock { state in (state.sessionsByUser[user] ?? []).compactMap { state.sessions[$0] } }
    }

    /// How many sessions are open.
    public var sessionCount: Int { state.withLock { $0.sessions.count } }

    /// The most bytes any one session has queued or buffered right now.
    public var maxBufferedBytes: Int {
        state.withLock { Array($0.sessions.values) }.map(\.bufferedBytes).max() ?? 0
    }

    /// Events encoded, and frames queued to sessions, since start.
    public var deliveryCounts: (encoded: Int, queued: Int) {
        (counters.encodedEvents.load(ordering: .relaxed), counters.queuedEvents.load(ordering: .relaxed))
    }

    /// Open sessions and frames queued since start, for the node's report (the dashboard).
    public var statistics: [String: Int] {
        ["sessions": sessionCount, "deliveries": counters.queuedEvents.load(ordering: .relaxed)]
    }

    /// Sessions closed as slow consumers since start.
    public var slowConsumerCloses: Int { counters.slowClosed.load(ordering: .relaxed) }

    /// Session objects still in memory; 0 once every socket has closed and its session is freed.
    public var sessionObjectsAlive: Int { counters.sessionObjects.load(ordering: .relaxed) }

    func noteSlowClose() { counters.slowClosed.add(1, ordering: .relaxed) }

    // MARK: Lifecycle

    /// Runs until the node stops, then closes every socket with 1001 (see ``shutdown()``).
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Refuses new sockets, closes every open one with 1001 after writing what is queued for it,
    /// and waits (up to the close timeout) for the sessions to end.
    public func shutdown() async {
        let sessions = state.withLock { state in
            state.accepting = false
            return Array(state.sessions.values)
        }
        logger.info("closing WebSocket sessions", metadata: ["realtime.sessions": "\(sessions.count)"])
        for session in sessions { session.requestClose(.goingAway) }
        let deadline = ContinuousClock.now + configuration.closeTimeoutSeconds.secondsDuration + .seconds(1)
        while sessionCount > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}
