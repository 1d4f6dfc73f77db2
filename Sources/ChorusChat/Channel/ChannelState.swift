import ChorusModel

/// Everything a channel actor knows, rebuilt by applying ``ChannelRecord``s in log order.
///
/// `apply` is pure and total: records are validated by the rules in `ChannelState+Rules.swift`
/// before they are logged, so replaying a log always reproduces the same state.
public struct ChannelState: Sendable, Codable, Equatable {
    /// Per-member state beyond the public ``Member``.
    public struct MemberState: Sendable, Codable, Equatable {
        public var member: Member
        public var readCursor: ReadCursor?
        public var hidden: Bool
    }

    public private(set) var info: ChannelInfo
    /// Members by id.
    public private(set) var members: [UserID: MemberState]
    /// Member ids in the order they joined.
    public private(set) var memberOrder: [UserID]
    /// All messages, ascending by id and seq.
    public private(set) var messages: [Message]
    /// The seq of the last applied record.
    public private(set) var lastSeq: UInt64
    /// The time of the last message, if any.
    public private(set) var lastMessageAt: Timestamp?

    /// The state right after a `created` record (seq 1).
    public init(info: ChannelInfo, members: [Member]) {
        self.info = info
        self.members = [:]
        self.memberOrder = []
        self.messages = []
        self.lastSeq = 1
        self.lastMessageAt = nil
        for member in members {
            addMember(member)
        }
    }

    /// Applies one record and advances `lastSeq`; returns the seq the record got.
    @discardableResult
    public mutating func apply(_ record: ChannelRecord) -> UInt64 {
        lastSeq += 1
        switch record {
        case .created:
            preconditionFailure("a created record starts a channel; use init(info:members:)")
        case .updated(let name, _, _):
            info.name = name
        case .memberAdded(let member, _):
            addMember(member)
        case .memberRemoved(let userID, _, _):
            members[userID] = nil
            memberOrder.removeAll { $0 == userID }
        case .messageSent(let new):
            messages.append(
                Message(
                    id: new.id, channelID: info.id, seq: lastSeq, senderID: new.senderID, senderName: new.senderName,
                    body: new.draft.body, attachments: new.draft.attachments, inlineEmotes: new.draft.inlineEmotes,
                    createdAt: new.at))
            lastMessageAt = new.at
            for userID in memberOrder where members[userID]?.hidden == true {
                members[userID]?.hidden = false
            }
        case .messageEdited(let id, let body, let emotes, let at):
            updateMessage(id) { message in
                message.body = body
                message.inlineEmotes = emotes
                message.editedAt = at
            }
        case .messageDeleted(let id, _, _):
            updateMessage(id) { message in
                message.deleted = true
                message.body = ""
                message.attachments = []
                message.inlineEmotes = []
                message.reactions = []
            }
        case .reactionAdded(let id, let emote, let user, _):
            updateMessage(id) { message in
                if let index = message.reactions.firstIndex(where: { $0.emoteAssetID == emote }) {
                    message.reactions[index].userIDs.append(user)
                } else {
                    message.reactions.append(Reaction(emoteAssetID: emote, userIDs: [user]))
                }
            }
        case .reactionRemoved(let id, let emote, let user, _):
            updateMessage(id) { message in
                guard let index = message.reactions.firstIndex(where: { $0.emoteAssetID == emote }) else { return }
                message.reactions[index].userIDs.removeAll { $0 == user }
                if message.reactions[index].userIDs.isEmpty {
                    message.reactions.remove(at: index)
                }
            }
        case .readCursorSet(let user, let messageID, let at):
            members[user]?.readCursor = ReadCursor(channelID: info.id, lastReadMessageID: messageID, updatedAt: at)
        case .hidden(let user, _):
            members[user]?.hidden = true
        case .shown(let user, _):
            members[user]?.hidden = false
        }
        return lastSeq
    }

    private mutating func addMember(_ member: Member) {
        if members[member.userID] == nil {
            memberOrder.append(member.userID)
        }
        members[member.userID] = MemberState(member: member, readCursor: nil, hidden: false)
    }

    private mutating func updateMessage(_ id: MessageID, _ change: (inout Message) -> Void) {
        guard let index = messageIndex(of: id) else { return }
        change(&messages[index])
    }

    // MARK: Queries

    /// The index of message `id` in ``messages`` (binary search: ids ascend).
    public func messageIndex(of id: MessageID) -> Int? {
        let index = firstIndex(after: id, inclusive: true)
        return index < messages.count && messages[index].id == id ? index : nil
    }

    /// The index of the first message with an id `>= id` (`inclusive`) or `> id`.
    func firstIndex(after id: MessageID, inclusive: Bool) -> Int {
        var low = 0
        var high = messages.count
        while low < high {
            let mid = (low + high) / 2
            if messages[mid].id < id || (!inclusive && messages[mid].id == id) {
                low = mid + 1
            } else {
                high = mid
            }
        }
        return low
    }

    /// The message `id`, if it exists (deleted messages included).
    public func message(_ id: MessageID) -> Message? {
        messageIndex(of: id).map { messages[$0] }
    }

    /// The members in join order.
    public var memberList: [Member] {
        memberOrder.compactMap { members[$0]?.member }
    }

    /// The role of `user`, if they are a member.
    public func role(of user: UserID) -> MemberRole? {
        members[user]?.member.role
    }

    /// Non-deleted messages after `user`'s read cursor that others sent.
    public func unreadCount(for user: UserID) -> Int {
        let start = members[user]?.readCursor.map { firstIndex(after: $0.lastReadMessageID, inclusive: false) } ?? 0
        return messages[start...].count { !$0.deleted && $0.senderID != user }
    }

    /// One page of history, oldest first.
    public func page(_ request: MessagePageRequest) -> MessagePage {
        switch request {
        case .latest(let limit):
            let start = max(messages.count - limit, 0)
            return MessagePage(messages: Array(messages[start...]), hasMore: start > 0)
        case .before(let id, let limit):
            let end = firstIndex(after: id, inclusive: true)
            let start = max(end - limit, 0)
            return MessagePage(messages: Array(messages[start..<end]), hasMore: start > 0)
        case .after(let id, let limit):
            let start = firstIndex(after: id, inclusive: false)
            let end = min(start + limit, messages.count)
            return MessagePage(messages: Array(messages[start..<end]), hasMore: end < messages.count)
        }
    }

    /// What `user` sees of this channel in their channel list; `nil` if they are not a member.
    public func summary(for user: UserID) -> ChannelSummary? {
        guard let state = members[user] else { return nil }
        let other = info.kind == .dm ? memberOrder.first { $0 != user } : nil
        return ChannelSummary(
            info: info, unreadCount: unreadCount(for: user), lastActivityAt: lastMessageAt ?? info.createdAt,
            hidden: state.hidden, otherUserID: other)
    }
}
