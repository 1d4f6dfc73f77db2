import ChorusModel
import Distributed

/// Typing: who is typing in the channel, kept for a TTL on the node's clock and announced as
/// ephemeral events (never logged).
extension ChannelActor {
    /// Marks the caller typing for the configured TTL; announces it unless it was announced less
    /// than 3 s ago (a refresh).
    public distributed func startTyping(by user: UserID) throws {
        _ = try state.requireMember(user)
        try requireEnabled(\.typingEvents, "typing events")
        let now = env.clock.now()
        expireTyping(at: now)
        if typing.start(user, now: now, ttl: env.typingTTL) {
            publish(ChannelEvent(channelID: state.info.id, seq: nil, createdAt: now, payload: .typing(user)))
        }
        armTypingTimer()
    }

    /// Sends a custom event of `type` with `fields` to the channel's watchers (ephemeral, not
    /// logged): for a member (or a server acting as one) when the type allows `custom_events` and
    /// the type's policies and grants allow `send-custom-event`.
    public distributed func sendCustomEvent(_ type: String, fields: [String: JSONValue], by user: UserID, asServer: Bool = false) throws {
        _ = try state.requireMember(user)
        try requireEnabled(\.customEvents, "custom events")
        try requireGranted("send-custom-event", to: user, asServer: asServer)
        publish(ChannelEvent(channelID: state.info.id, seq: nil, createdAt: env.clock.now(), payload: .custom(user: user, type: type, fields: fields)))
    }

    /// The users typing now, in the order they started, for a member.
    public distributed func typingUsers(for user: UserID) throws -> [UserID] {
        _ = try state.requireMember(user)
        let now = env.clock.now()
        expireTyping(at: now)
        return typing.typing(at: now)
    }

    /// Ends the caller's typing at once (Stream's `typing.stop` event).
    public distributed func stopTyping(by user: UserID) throws {
        _ = try state.requireMember(user)
        try requireEnabled(\.typingEvents, "typing events")
        stopTyping(user, at: env.clock.now())
    }

    /// Ends `user`'s typing (they sent a message or left) and announces it.
    func stopTyping(_ user: UserID, at now: Timestamp) {
        if typing.stop(user) {
            publish(ChannelEvent(channelID: state.info.id, seq: nil, createdAt: now, payload: .typingStop(user)))
        }
    }

    /// Drops the typists whose TTL ran out by `now`, announcing each stop.
    private func expireTyping(at now: Timestamp) {
        for user in typing.expire(now: now) {
            publish(ChannelEvent(channelID: state.info.id, seq: nil, createdAt: now, payload: .typingStop(user)))
        }
    }

    /// Sleeps on the node's clock until the next expiry, then expires and re-arms.
    private func armTypingTimer() {
        guard typingTimer == nil, let deadline = typing.nextExpiry else { return }
        let clock = env.clock
        typingTimer = Task {
            do {
                try await clock.sleep(until: deadline)
            } catch {
                return
            }
            self.typingTimer = nil
            self.expireTyping(at: clock.now())
            self.armTypingTimer()
        }
    }
}
