import ChorusCluster
import ChorusModel

/// Everything a channel actor knows, rebuilt by applying ``ChannelRecord``s in log order.
///
/// `apply` is pure and total: records are validated by the rules in `ChannelState+Rules.swift`
/// before they are logged, so replaying a log always reproduces the same state.
///
/// **History in memory is bounded.** `recent` holds the newest messages; older ones live in the
/// ``HistoryStore``. `overlay` holds old messages loaded from the store to be changed (edited,
/// deleted, reacted to). A message changed since the last checkpoint is dirty: sent after the
/// seq the last checkpoint covered (`flushedSeq`, no bookkeeping per send), or listed in `dirty`
/// (changed later, or still unwritten when a checkpoint trimmed it out of `recent`); a
/// checkpoint writes them to the store, then ``completeFlush(upTo:keeping:)`` trims `recent`
/// back to the window and drops clean overlay entries. The truth of a channel's history is the
/// store overlaid with memory (memory wins).
public struct ChannelState: Sendable, Codable, Equatable {
    /// Per-member state beyond the public ``Member``.
    public struct MemberState: Sendable, Codable, Equatable {
        public var member: Member
        public var readCursor: ReadCursor?
        public var hidden: Bool
        /// Messages up to this one are hidden from this member (hide with `clear_history`).
        public var clearedThrough: MessageID? = nil
        /// The member's unread count, kept as messages come and go (nil: not known; it is counted
        /// from the history when asked, see ``ChannelState/unreadCount(for:stored:)``).
        public var unread: UnreadCounter? = nil
    }

    /// A member's unread count as of the channel's ``sentCount`` `asOf`: every message sent since
    /// adds one, except their own, which take one off as they come.
    public struct UnreadCounter: Sendable, Codable, Equatable {
        public var count: Int
        public var asOf: Int
    }

    public private(set) var info: ChannelInfo
    /// Members by id (changed by `apply`, and by the unread counters in ChannelState+Unread.swift).
    public internal(set) var members: [UserID: MemberState]
    /// Member ids in the order they joined.
    public private(set) var memberOrder: [UserID]
    /// The newest messages, ascending by id and seq (all of them while `hasOlderInStore` is false).
    public private(set) var recent: [Message]
    /// Messages older than `recent` that are loaded from the store, by id.
    public private(set) var overlay: [MessageID: Message] = [:]
    /// Messages changed since the last checkpoint, with the seq of their last change, besides
    /// those sent after `flushedSeq`.
    public private(set) var dirty: [MessageID: UInt64] = [:]
    /// The seq up to which messages sent here are in the store (optional only so snapshots
    /// stored before it decode; nil counts as 0: everything in `recent` is written again).
    private var flushedSeq: UInt64?
    /// Whether the store holds messages older than `recent.first`.
    public private(set) var hasOlderInStore = false
    /// The seq of the last applied record.
    public private(set) var lastSeq: UInt64
    /// The time of the last message, if any.
    public private(set) var lastMessageAt: Timestamp?
    /// Recent sends with a client message id (optional only so snapshots stored before it decode).
    private var clientSends: RecentSends?
    /// The terms of this replica of the channel's log (nil: never replicated; docs/replication.md).
    public private(set) var replicaTerms: ReplicaTerms?
    /// The channel's type, id within the type and custom data, for channels made or given custom
    /// data through the Stream-compatible API (``ChannelProfile``).
    public private(set) var profile: ChannelProfile?
    /// Messages up to this id are gone for everyone (truncated, or erased by a hard delete).
    public private(set) var erasedThrough: MessageID?
    /// Stored messages up to this id are removed from the store at checkpoints (hard truncates
    /// and deletes only; a soft one keeps them on disk).
    public private(set) var storeErasedThrough: MessageID?
    /// When the channel was deleted; a deleted channel answers every call as not found.
    public private(set) var deletedAt: Timestamp?
    /// How many messages were ever sent here: the clock of the members' unread counters
    /// (optional only so snapshots stored before it decode; ChannelState+Unread.swift).
    var sentCount: Int?
    /// How many messages are not deleted or erased, in all and by sender: a member who joins
    /// has them all unread but their own (nil: not known, as in snapshots stored before it).
    var liveCounts: LiveCounts?

    /// The state right after a `created` record (seq 1).
    public init(info: ChannelInfo, members: [Member], profile: ChannelProfile? = nil) {
        self.info = info
        self.profile = profile
        self.members = [:]
        self.memberOrder = []
        self.recent = []
        self.lastSeq = 1
        self.lastMessageAt = nil
        self.liveCounts = LiveCounts()
        for member in members {
            addMember(member)
        }
    }

    /// Records the replica's terms (they change with the log, and are stored with it).
    public mutating func setReplicaTerms(_ terms: ReplicaTerms) {
        replicaTerms = terms
    }

    /// A replica that holds nothing of channel `id` yet (seq 0): it keeps the replica's terms until
    /// the channel's `created` record arrives. Never served to clients.
    public init(placeholder id: ChannelID) {
        self.info = ChannelInfo(id: id, kind: .room, name: "", ownerID: nil, createdAt: Timestamp(milliseconds: 0))
        self.members = [:]
        self.memberOrder = []
        self.recent = []
        self.lastSeq = 0
        self.lastMessageAt = nil
    }

    /// Whether this is a replica's placeholder of a channel it holds nothing of (``init(placeholder:)``).
    public var isPlaceholder: Bool { lastSeq == 0 }

    /// Applies one record and advances `lastSeq`; returns the seq the record got.
    @discardableResult
    public mutating func apply(_ record: ChannelRecord) -> UInt64 {
        lastSeq += 1
        switch record {
        case .created(let info, let members, let profile):
            precondition(lastSeq == 1, "a created record starts a channel; use init(info:members:)")
            self.info = info
            self.profile = profile
            liveCounts = LiveCounts()
            for member in members { addMember(member) }
        case .updated(let name, _, _):
            info.name = name
        case .memberAdded(let member, _):
            addMember(member)
        case .memberRemoved(let userID, _, _):
            members[userID] = nil
            memberOrder.removeAll { $0 == userID }
        case .messageSent(let new):
            countSent(by: new.senderID)
            recent.append(
                Message(
                    id: new.id, channelID: info.id, seq: lastSeq, senderID: new.senderID, senderName: new.senderName,
                    body: new.draft.body, attachments: new.draft.attachments, inlineEmotes: new.draft.inlineEmotes,
                    createdAt: new.at, clientMessageID: new.clientMessageID))
            lastMessageAt = new.at
            if let clientID = new.clientMessageID {
                clientSends = clientSends ?? RecentSends()
                clientSends!.remember(new.id, sentBy: new.senderID, clientID: clientID)
            }
            // A message shows the channel again to members who hid it. Most sends find none: a
            // scan of the values first costs no hashing per member.
            if members.values.contains(where: \.hidden) {
                for userID in memberOrder where members[userID]?.hidden == true {
                    members[userID]?.hidden = false
                }
            }
        case .messageEdited(let id, let body, let emotes, let at):
            updateMessage(id) { message in
                message.body = body
                message.inlineEmotes = emotes
                message.editedAt = at
            }
        case .messageDeleted(let id, _, _):
            uncount(id)
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
            if let newest = newestMessageID, messageID >= newest {
                members[user]?.unread = UnreadCounter(count: 0, asOf: sentCount ?? 0)
            } else {
                recountUnread(user)
            }
        case .hidden(let user, _):
            members[user]?.hidden = true
        case .shown(let user, _):
            members[user]?.hidden = false
        case .profileSet(let profile, _, _):
            self.profile = profile
        case .truncated(let through, let hard, _, _):
            if let through { erase(through: through, fromStore: hard) }
        case .channelDeleted(let hard, let through, _, let at):
            deletedAt = at
            if let through { erase(through: through, fromStore: hard) }
        case .roleChanged(let user, let role, _, _):
            members[user]?.member.role = role
        case .expired(let through, _):
            erase(through: through, fromStore: true)
        case .historyCleared(let user, let through, _):
            let cleared = members[user]?.clearedThrough
            members[user]?.clearedThrough = max(cleared ?? through, through)
            recountUnread(user)
        }
        return lastSeq
    }

    private mutating func erase(through id: MessageID, fromStore: Bool) {
        defer { for user in memberOrder { recountUnread(user) } }
        // Everything erased: nothing is live. Part of the history: the store knows what is left.
        liveCounts = newestMessageID.map { $0 <= id } ?? true ? LiveCounts() : nil
        erasedThrough = max(erasedThrough ?? id, id)
        guard fromStore else { return }
        storeErasedThrough = max(storeErasedThrough ?? id, id)
        recent.removeAll { $0.id <= id }
        overlay = overlay.filter { $0.key > id }
        dirty = dirty.filter { $0.key > id }
    }

    /// The newest message id `user` cannot see (truncation, cleared history); `nil` for none.
    public func hiddenThrough(for user: UserID?) -> MessageID? {
        let cleared = user.flatMap { members[$0]?.clearedThrough }
        switch (erasedThrough, cleared) {
        case (let erased?, let cleared?): return max(erased, cleared)
        case (let erased, let cleared): return erased ?? cleared
        }
    }

    /// The newest message's id, if the channel has any.
    public var newestMessageID: MessageID? { recent.last?.id }

    private mutating func addMember(_ member: Member) {
        if members[member.userID] == nil {
            memberOrder.append(member.userID)
        }
        members[member.userID] = MemberState(member: member, readCursor: nil, hidden: false)
        recountUnread(member.userID)
    }

    private mutating func updateMessage(_ id: MessageID, _ change: (inout Message) -> Void) {
        if let index = messageIndex(of: id) {
            change(&recent[index])
        } else if overlay[id] != nil {
            change(&overlay[id]!)
        } else {
            return  // callers load a message before deciding on it; replay loads it too
        }
        dirty[id] = lastSeq
    }

    // MARK: Memory window

    /// Adds a message loaded from the store (older than `recent`) so it can be changed.
    public mutating func load(_ message: Message) {
        if self.message(message.id) == nil { overlay[message.id] = message }
    }

    /// The message `sender` posted with client message id `clientID`, if the channel remembers it.
    public func message(sentBy sender: UserID, clientID: String) -> MessageID? {
        clientSends?.message(sentBy: sender, clientID: clientID)
    }

    /// Whether message `id` may be in the store but not in memory.
    public func mayBeInStore(_ id: MessageID) -> Bool {
        message(id) == nil && !isErased(id) && hasOlderInStore && id < (recent.first?.id ?? MessageID(rawValue: .max))
    }

    /// Whether message `id` is gone for everyone (a truncation or a hard delete).
    public func isErased(_ id: MessageID) -> Bool {
        erasedThrough.map { id <= $0 } ?? false
    }

    /// The state to store as the channel's snapshot: everything but the messages (stored apart).
    public var metadata: ChannelState {
        var copy = self
        copy.recent = []
        copy.overlay = [:]
        copy.dirty = [:]
        copy.hasOlderInStore = false
        return copy
    }

    /// A channel read back from the store: its metadata and its newest messages.
    public init(metadata: ChannelState, recent: [Message], hasOlderInStore: Bool) {
        self = metadata
        self.recent = recent
        self.hasOlderInStore = hasOlderInStore
        self.flushedSeq = lastSeq
    }

    /// The messages a checkpoint must write: every dirty one.
    public var dirtyMessages: [Message] {
        dirty.keys.compactMap { message($0) } + unflushedSends.filter { dirty[$0.id] == nil }
    }

    /// The messages in `recent` sent after the seq the last checkpoint covered (the newest ones).
    private var unflushedSends: ArraySlice<Message> {
        let flushed = flushedSeq ?? 0
        let start = recent.lastIndex { $0.seq <= flushed }.map { $0 + 1 } ?? recent.startIndex
        return recent[start...]
    }

    /// After a checkpoint wrote every change up to `seq`: forgets those changes, trims `recent` to
    /// its newest `window` messages and drops overlay entries that are now clean.
    public mutating func completeFlush(upTo seq: UInt64, keeping window: Int) {
        dirty = dirty.filter { $0.value > seq }
        flushedSeq = max(flushedSeq ?? 0, seq)
        if recent.count > window {
            let cut = recent.count - window
            for message in recent[..<cut] where dirty[message.id] != nil || message.seq > seq {
                // Sent after what this checkpoint wrote: listed, since it leaves `recent`.
                if dirty[message.id] == nil { dirty[message.id] = message.seq }
                overlay[message.id] = message
            }
            recent.removeFirst(cut)
            hasOlderInStore = true
        }
        overlay = overlay.filter { dirty[$0.key] != nil }
    }

    // MARK: Queries

    /// The index of message `id` in ``recent`` (binary search: ids ascend).
    public func messageIndex(of id: MessageID) -> Int? {
        let index = firstIndex(after: id, inclusive: true)
        return index < recent.count && recent[index].id == id ? index : nil
    }

    /// The index of the first message with an id `>= id` (`inclusive`) or `> id`.
    func firstIndex(after id: MessageID, inclusive: Bool) -> Int {
        var low = 0
        var high = recent.count
        while low < high {
            let mid = (low + high) / 2
            if recent[mid].id < id || (!inclusive && recent[mid].id == id) {
                low = mid + 1
            } else {
                high = mid
            }
        }
        return low
    }

    /// The message `id` if it is in memory (deleted messages included); see ``mayBeInStore(_:)``.
    public func message(_ id: MessageID) -> Message? {
        messageIndex(of: id).map { recent[$0] } ?? overlay[id]
    }

    /// The members in join order.
    public var memberList: [Member] {
        memberOrder.compactMap { members[$0]?.member }
    }

    /// The role of `user`, if they are a member.
    public func role(of user: UserID) -> MemberRole? {
        members[user]?.member.role
    }

    /// One page of history from memory, oldest first; `nil` when the page reaches into the store.
    public func memoryPage(_ request: MessagePageRequest) -> MessagePage? {
        switch request {
        case .latest(let limit):
            let start = max(recent.count - limit, 0)
            guard recent.count >= limit || !hasOlderInStore else { return nil }
            return MessagePage(messages: Array(recent[start...]), hasMore: start > 0 || hasOlderInStore)
        case .before(let id, let limit):
            let end = firstIndex(after: id, inclusive: true)
            let start = end - limit
            guard start >= 0 || !hasOlderInStore else { return nil }
            return MessagePage(messages: Array(recent[max(start, 0)..<end]), hasMore: start > 0 || (start == 0 && hasOlderInStore))
        case .after(let id, let limit):
            guard !hasOlderInStore || recent.first.map({ id >= $0.id }) == true else { return nil }
            let start = firstIndex(after: id, inclusive: false)
            let end = min(start + limit, recent.count)
            return MessagePage(messages: Array(recent[start..<end]), hasMore: end < recent.count)
        }
    }

    /// The messages in memory (recent and overlay) with ids strictly between `after` and `before`.
    public func memoryMessages(after: MessageID?, before: MessageID?) -> [Message] {
        let inRange = { (id: MessageID) in (after.map { id > $0 } ?? true) && (before.map { id < $0 } ?? true) }
        return overlay.values.filter { inRange($0.id) } + recent.filter { inRange($0.id) }
    }

    /// What `user` sees of this channel in their channel list, given their unread count; `nil` if
    /// they are not a member.
    public func summary(for user: UserID, unreadCount: Int) -> ChannelSummary? {
        guard let state = members[user], deletedAt == nil else { return nil }
        let other = info.kind == .dm ? memberOrder.first { $0 != user } : nil
        return ChannelSummary(
            info: info, unreadCount: unreadCount, lastActivityAt: lastMessageAt ?? info.createdAt,
            hidden: state.hidden, otherUserID: other)
    }
}

/// What a replica of a channel's (or a user's) log has promised and whose log it holds, kept
/// with the state so that checkpoints and restarts keep it.
public struct ReplicaTerms: Sendable, Codable, Equatable {
    /// The newest term this replica promised.
    public var promisedTerm: UInt64
    /// The term of the primary whose log this replica's log is a prefix of.
    public var logTerm: UInt64
    /// The log's durable claims in older terms (``KeyReplica/Durable/lineage``): where it stood
    /// at each switch of its term, and those of a log it installed.
    public var lineage: [LogPosition]

    public init(promisedTerm: UInt64 = 0, logTerm: UInt64 = 0, lineage: [LogPosition] = []) {
        self.promisedTerm = promisedTerm
        self.logTerm = logTerm
        self.lineage = lineage
    }

    /// The terms once a batch of `promisedTerm` and `logTerm` is logged on a log that ends at
    /// `lastSeq`: a batch of a newer log term claims where the log stood (as the replica's machine
    /// did when it switched).
    public func logging(promisedTerm: UInt64, logTerm: UInt64, after lastSeq: UInt64) -> ReplicaTerms {
        ReplicaTerms(
            promisedTerm: promisedTerm, logTerm: logTerm,
            lineage: lineage.switching(from: LogPosition(logTerm: self.logTerm, seq: lastSeq), to: logTerm))
    }

    private enum CodingKeys: String, CodingKey {
        case promisedTerm, logTerm, lineage
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        promisedTerm = try container.decode(UInt64.self, forKey: .promisedTerm)
        logTerm = try container.decode(UInt64.self, forKey: .logTerm)
        // Checkpoints written before lineages existed have none.
        lineage = try container.decodeIfPresent([LogPosition].self, forKey: .lineage) ?? []
    }
}
