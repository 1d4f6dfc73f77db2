import ChorusChat
import ChorusModel

/// Replays: what a session missed of a channel, from the channel's log.
extension RealtimeHub {
    /// Replays `channel`'s logged events after `seq` to `session`, then lets its live events
    /// through (see ``SessionState``). `announce` adds the `resumed` frame after the replay.
    ///
    /// `edge`: the edge's replay with that id, which held the channel when the edge subscribed
    /// again (``resubscribeAll(where:)``); otherwise the client's (a `resume` or a join). With
    /// `subscriptionFailure`, that subscription failed: the session gets `resume_failed` (its events
    /// no longer reach this edge), not a replay.
    func replay(
        _ session: RealtimeSession, _ channel: ChannelID, after seq: UInt64, edge: UInt64? = nil, subscriptionFailure: (any Error)? = nil,
        announce: Bool
    ) async {
        let replayer: SessionState.Replayer
        let start: SessionState.ReplayStart
        if let edge {
            // A newer replay or a new follow may have replaced this one since: its end is then ignored.
            replayer = .edge(edge)
            start = session.follows(channel) ? .started : .notFollowed
        } else {
            (replayer, start) = session.beginClientReplay(channel, after: seq)
        }
        switch start {
        case .started:
            break
        case .notFollowed:
            guard edge == nil else { return }  // the socket left the channel meanwhile
            session.send(RealtimeFrames.resumeFailed(channel, error: ChatError(.notMember, "you do not follow channel \(channel)"), through: nil))
            return
        case .sentLiveAlready:
            let error = ChatError(
                .historyUnavailable,
                "newer events of the channel went out live on this socket before the resume (connect with ?resume=1 to resume); reload the channel's messages over REST")
            session.send(RealtimeFrames.resumeFailed(channel, error: error, through: nil))
            return
        }
        do {
            if let subscriptionFailure { throw subscriptionFailure }
            let replay = try await node.withChannel(channel) { try await $0.replay(after: seq, for: session.user) }
            if session.format == .stream {
                // Stream clients do not resume: they read the channel again. A replay is a join's catch-up.
                let address = try await address(of: channel)
                let audience = session.audience(channel)
                let frames = replay.events.compactMap { event -> SessionState.Frame? in
                    guard StreamEvents.reaches(event, user: session.user, as: audience) else { return nil }
                    return StreamEvents.frame(event, address: address, for: audience).map { SessionState.Frame(seq: event.seq, bytes: $0) }
                }
                session.finishReplay(channel, by: replayer, events: frames, through: replay.through, trailer: nil)
            } else if replay.available {
                let frames = replay.events.map { SessionState.Frame(seq: $0.seq, bytes: RealtimeFrames.event($0)) }
                let trailer = announce ? RealtimeFrames.resumed(channel, through: max(replay.through, seq), replayed: frames.count) : nil
                session.finishReplay(channel, by: replayer, events: frames, through: replay.through, trailer: trailer)
            } else {
                let error = ChatError(
                    .historyUnavailable, "events after seq \(seq) are no longer kept; reload the channel's messages over REST")
                session.finishReplay(
                    channel, by: replayer, events: [], through: 0,
                    trailer: RealtimeFrames.resumeFailed(channel, error: error, through: replay.through))
            }
        } catch {
            let chatError = APIError(classifying: error)?.error ?? ChatError(.clusterUnavailable, "the channel could not be reached")
            session.finishReplay(
                channel, by: replayer, events: [], through: 0, trailer: RealtimeFrames.resumeFailed(channel, error: chatError, through: nil))
        }
    }
}
