import ChorusChat
import ChorusModel

/// Replays: what a session missed of a channel, from the channel's log.
extension RealtimeHub {
    /// Replays `channel`'s logged events after `seq` to `session`, then lets its live events
    /// through (see ``SessionState``). `announce` adds the `resumed` frame after the replay.
    func replay(_ session: RealtimeSession, _ channel: ChannelID, after seq: UInt64, by replayer: SessionState.Replayer = .client, announce: Bool) async {
        let start: SessionState.ReplayStart =
            switch replayer {
            case .client: session.beginReplay(channel, after: seq, by: replayer)
            // The hub held the channel when it subscribed again (a newer replay may have let it go
            // since: then this one adds only what is newer).
            case .edge: session.follows(channel) ? .started : .notFollowed
            }
        switch start {
        case .started:
            break
        case .notFollowed:
            guard replayer == .client else { return }  // the socket left the channel meanwhile
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
