import ChorusModel

extension ChannelState {
    /// The event that reports `record`, just applied with `seq`; `nil` for records only their
    /// author sees (`created`, `hidden`, `shown`).
    ///
    /// Called right after ``apply(_:)``, so message events carry the message as it now is.
    public func event(reporting record: ChannelRecord, seq: UInt64) -> ChannelEvent? {
        let (payload, at): (ChannelEvent.Payload, Timestamp)
        switch record {
        case .created, .hidden, .shown, .historyCleared, .expired:
            return nil
        case .updated(_, _, let time), .profileSet(_, _, let time):
            (payload, at) = (.channelUpdate(info), time)
        case .truncated(_, _, _, let time):
            (payload, at) = (.channelTruncate(info), time)
        case .channelDeleted(_, _, _, let time):
            (payload, at) = (.channelDelete(info), time)
        case .memberAdded(let member, _):
            (payload, at) = (.memberAdd(member), member.joinedAt)
        case .roleChanged(let user, _, _, let time):
            guard let member = members[user]?.member else { return nil }
            (payload, at) = (.memberUpdate(member), time)
        case .memberRemoved(let user, _, let time):
            (payload, at) = (.memberRemove(user), time)
        case .messageSent(let new):
            guard let message = message(new.id) else { return nil }
            (payload, at) = (.message(message), new.at)
        case .messageEdited(let id, _, _, let time):
            guard let message = message(id) else { return nil }
            (payload, at) = (.messageUpdate(message), time)
        case .messageDeleted(let id, _, let time):
            (payload, at) = (.messageDelete(id), time)
        case .reactionAdded(let id, let emote, let user, let time):
            (payload, at) = (.reactionAdd(.init(messageID: id, emote: emote, userID: user)), time)
        case .reactionRemoved(let id, let emote, let user, let time):
            (payload, at) = (.reactionRemove(.init(messageID: id, emote: emote, userID: user)), time)
        case .readCursorSet(let user, _, let time):
            guard let cursor = members[user]?.readCursor else { return nil }
            (payload, at) = (.read(user: user, cursor: cursor), time)
        }
        return ChannelEvent(channelID: info.id, seq: seq, createdAt: at, payload: payload)
    }
}
