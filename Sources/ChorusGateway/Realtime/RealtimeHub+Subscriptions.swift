import ChorusChat
import ChorusModel

/// This edge's subscriptions at the channel actors: following and unfollowing channels, and
/// subscribing again when channels move or their node restarts (docs/realtime.md, "How it is built").
extension RealtimeHub {
    /// Makes `session` follow `channel` and waits until this edge is subscribed to it (the owner is
    /// retried while it is out of reach, for up to ``followPatience``).
    func follow(_ session: RealtimeSession, _ channel: ChannelID, _ start: SessionState.Following) async throws {
        if session.format == .stream { _ = try await address(of: channel) }
        var subscription = state.withLock { state in
            session.follow(channel, start)
            state.followers[channel, default: ChannelFollowers()].insert(session)
            if let existing = state.subscriptions[channel] { return existing }
            let task = subscribe(to: channel, generation: state.nextGeneration(), patience: Self.followPatience)
            state.subscriptions[channel] = task
            return task
        }
        while true {
            do {
                // Events up to here came before the session followed the channel.
                session.noteFollowing(channel, from: try await subscription.value)
                break
            } catch {
                // A re-subscription that replaced the failed one decides (it holds the session).
                if let newer = forget(subscription, of: channel) {
                    subscription = newer
                    continue
                }
                unfollow(session, channel)
                throw error
            }
        }
        replayIfResubscribed(session, channel)
    }

    /// How long a follow retries an owner out of reach (a failover takes about a second). A client
    /// waits for its follows before `hello`.
    static let followPatience = Duration.seconds(5)
    /// How long a re-subscription retries (its sessions are open and hold the channel meanwhile).
    static let resubscribePatience = Duration.seconds(30)

    /// Subscribes this edge to `channel` at its owner with `generation`. The owner may be hard to
    /// reach for a while (it just restarted, or the ring just changed and the new owner is taking
    /// the channel over): `CLUSTER_UNAVAILABLE` and transport errors are retried, the pause doubling
    /// from 50 ms to 1 s, until `patience` has passed.
    private func subscribe(to channel: ChannelID, generation: UInt64, patience: Duration) -> Task<UInt64, any Error> {
        Task { [node, edgeName] in
            var pause = Duration.milliseconds(50)
            let deadline = ContinuousClock.now + patience
            while true {
                do {
                    return try await node.withChannel(channel) { try await $0.subscribe(edge: edgeName, generation: generation) }
                } catch let error as ChatError where error.code != .clusterUnavailable {
                    throw error
                } catch {
                    guard ContinuousClock.now + pause < deadline, !Task.isCancelled else { throw error }
                    try await Task.sleep(for: pause)
                    pause = min(pause * 2, .seconds(1))
                }
            }
        }
    }

    /// Waits for `subscription` of `channel`: `nil` if it succeeded, else its error (and it is
    /// forgotten, see ``forget(_:of:)``).
    private func outcome(of subscription: Task<UInt64, any Error>, of channel: ChannelID) async -> (any Error)? {
        do {
            _ = try await subscription.value
            return nil
        } catch {
            forget(subscription, of: channel)
            return error
        }
    }

    /// A generation no call of this edge has used, and below every later one (tests use it to act
    /// as this edge at a channel's actor).
    func takeGeneration() -> UInt64 {
        state.withLock { $0.nextGeneration() }
    }

    /// Drops `failed`, if it is still `channel`'s subscription, so the next follow subscribes again
    /// (a failed subscription kept would fail every later follow until the channel's last session
    /// left). Returns the subscription that replaced it, if one did.
    @discardableResult
    private func forget(_ failed: Task<UInt64, any Error>, of channel: ChannelID) -> Task<UInt64, any Error>? {
        state.withLock { state in
            guard let current = state.subscriptions[channel] else { return nil }
            guard current != failed else {
                state.subscriptions[channel] = nil
                return nil
            }
            return current
        }
    }

    /// Replays `channel` to `session` from its resume point if a re-subscription came while its
    /// follow was in flight (``resubscribeAll(where:)`` held the session's stream, but could not
    /// tell where it stood).
    private func replayIfResubscribed(_ session: RealtimeSession, _ channel: ChannelID) {
        let replay = state.withLock { state -> (point: UInt64, generation: UInt64, subscription: Task<UInt64, any Error>?)? in
            guard let generation = state.awaitingPoint[channel]?.removeValue(forKey: session.id) else { return nil }
            if state.awaitingPoint[channel]?.isEmpty == true { state.awaitingPoint[channel] = nil }
            // The follow just noted the baseline, so the point is known. The replay runs whatever
            // happens: it is what lets the held stream go (or tells the client to resume).
            return (session.resumePoint(channel) ?? 0, generation, state.subscriptions[channel])
        }
        guard let replay else { return }
        Task {
            var failure: (any Error)?
            if let subscription = replay.subscription { failure = await self.outcome(of: subscription, of: channel) }
            await self.replay(session, channel, after: replay.point, edge: replay.generation, subscriptionFailure: failure, announce: false)
        }
    }

    /// The Stream address of `channel` (asked of its actor once, then remembered).
    func address(of channel: ChannelID) async throws -> ChannelAddress {
        if let known = state.withLock({ $0.addresses[channel] }) { return known }
        let address = try await node.withChannel(channel) { try await $0.address() }
        state.withLock { $0.addresses[channel] = address }
        return address
    }

    /// Remembers the address of a channel whose view a Stream session already read.
    func noteAddress(_ address: ChannelAddress, of channel: ChannelID) {
        state.withLock { $0.addresses[channel] = address }
    }

    /// Stops `session` following `channel`; the last session out unsubscribes the edge.
    func unfollow(_ session: RealtimeSession, _ channel: ChannelID) {
        session.unfollow(channel)
        let generation = state.withLock { state -> UInt64? in
            state.awaitingPoint[channel]?[session.id] = nil
            guard state.followers[channel]?.remove(session) == true, state.followers[channel]!.isEmpty else { return nil }
            state.followers[channel] = nil
            state.awaitingPoint[channel] = nil
            state.subscriptions[channel] = nil
            state.addresses[channel] = nil
            return state.nextGeneration()
        }
        guard let generation else { return }
        Task { [node, edgeName] in
            try? await node.withChannel(channel) { try await $0.unsubscribe(edge: edgeName, generation: generation) }
        }
    }

    // MARK: Subscribing again

    /// Subscribes again to the followed channels that `node` owns: it restarted, and its
    /// channel actors came back without this edge's subscription.
    public func resubscribe(ownedBy owner: String) {
        guard let cluster = node.cluster else { return }
        resubscribeAll { cluster.owner(of: ChannelActor.identity(of: $0)) == owner }
    }

    /// Subscribes again to every followed channel (or those `filter` picks) at its owner under the
    /// current ring, then replays to each session what it may have missed meanwhile.
    ///
    /// Each session's stream of the channel is held (buffered) and its resume point taken before
    /// the new subscription is made: a live event that arrives through it before the replay must
    /// not move the resume point past the events the session missed. The replay is the edge's
    /// (``SessionState/Replayer/edge(_:)``, by the subscription's generation): a newer one
    /// supersedes it, and it does not decide what a client still setting up needs. A session whose
    /// follow is still in flight has no resume point yet: it is held the same way, and replayed
    /// from its baseline when the follow returns (the old subscription's seq may predate events
    /// that only the new one's owner has).
    func resubscribeAll(where filter: (ChannelID) -> Bool = { _ in true }) {
        state.withLock { state in
            for channel in state.followers.keys where filter(channel) {
                let generation = state.nextGeneration()
                let held = (state.followers[channel]?.all ?? []).compactMap { session -> (RealtimeSession, UInt64)? in
                    let point = session.resumePoint(channel)
                    // (An edge replay's start does not depend on the point: 0 is a placeholder.)
                    guard session.beginReplay(channel, after: point ?? 0, by: .edge(generation)) == .started else { return nil }
                    guard let point else {
                        state.awaitingPoint[channel, default: [:]][session.id] = generation
                        return nil
                    }
                    state.awaitingPoint[channel]?[session.id] = nil
                    return (session, point)
                }
                let subscription = subscribe(to: channel, generation: generation, patience: Self.resubscribePatience)
                state.subscriptions[channel] = subscription
                let watchers = (state.followers[channel]?.stream ?? []).filter { $0.audience(channel) != .member }
                Task {
                    // Events published at the owner before the subscription landed are only in its
                    // log. If the subscription failed, the sessions are told (`resume_failed`), so
                    // their clients resume elsewhere. The sessions' replays run side by side (each
                    // holds its channel until it finishes), a bounded number at a time: a busy
                    // channel's followers would otherwise all ask its owner at once.
                    let failure = await self.outcome(of: subscription, of: channel)
                    await withTaskGroup(of: Void.self) { group in
                        for (index, (session, point)) in held.enumerated() {
                            if index >= Self.concurrentReplays { await group.next() }
                            group.addTask {
                                await self.replay(session, channel, after: point, edge: generation, subscriptionFailure: failure, announce: false)
                            }
                        }
                    }
                    // The owner's watcher list is ephemeral: register this edge's watches again.
                    for session in watchers {
                        let presence = session.audience(channel) == .watcherWithPresence
                        try? await self.node.withChannel(channel) {
                            try await $0.watch(session.user, connection: session.id, presence: presence, announce: false)
                        }
                    }
                }
            }
        }
    }
}
