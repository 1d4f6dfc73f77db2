import ChorusModel

/// Unread counts: each member's counter, kept as records apply (``ChannelState/UnreadCounter``),
/// and counting from the history when a counter is not known.
extension ChannelState {
    struct LiveCounts: Sendable, Codable, Equatable {
        var total = 0
        var bySender: [UserID: Int] = [:]
    }

    /// A message by `sender` was sent: the channel's sent count moves (every member's counter
    /// with it) and the sender's own message comes off theirs; constant cost, whatever the room's size.
    mutating func countSent(by sender: UserID) {
        sentCount = (sentCount ?? 0) + 1
        members[sender]?.unread?.count -= 1
        liveCounts?.total += 1
        liveCounts?.bySender[sender, default: 0] += 1
    }

    /// `user`'s unread count from their counter, when it is known.
    public func countedUnread(for user: UserID) -> Int? {
        members[user]?.unread.map { $0.count + (sentCount ?? 0) - $0.asOf }
    }

    /// Sets `user`'s counter from the messages in memory, or for a member who has read nothing
    /// and cleared nothing, from the live counts (unknown when neither can tell).
    mutating func recountUnread(_ user: UserID) {
        guard let state = members[user] else { return }
        var count = memoryUnreadCount(for: user)
        if count == nil, state.readCursor == nil, state.clearedThrough == nil, let live = liveCounts {
            count = live.total - live.bySender[user, default: 0]
        }
        members[user]!.unread = count.map { UnreadCounter(count: $0, asOf: sentCount ?? 0) }
    }

    /// Takes message `id` (about to be deleted) off the counters of the members it was unread for.
    /// Deletes are rare next to sends: this visits every member, a send only its sender.
    mutating func uncount(_ id: MessageID) {
        guard let message = message(id) else {
            // Not loaded (callers load a message before deleting it): the counters cannot tell.
            for user in memberOrder { members[user]?.unread = nil }
            liveCounts = nil
            return
        }
        guard !message.deleted, !isErased(id) else { return }
        liveCounts?.total -= 1
        liveCounts?.bySender[message.senderID, default: 0] -= 1
        for user in memberOrder where members[user]?.unread != nil && unreadRule(for: user).counts(message) {
            members[user]!.unread!.count -= 1
        }
    }

    /// The unread rule for `user` at their read cursor.
    func unreadRule(for user: UserID) -> UnreadRule {
        let cursor = members[user]?.readCursor?.lastReadMessageID
        let hidden = hiddenThrough(for: user)
        return UnreadRule(user: user, after: cursor.map { max($0, hidden ?? $0) } ?? hidden)
    }

    /// `user`'s unread count from memory alone, or `nil` when older unread messages may be in the store.
    public func memoryUnreadCount(for user: UserID) -> Int? {
        let rule = unreadRule(for: user)
        if hasOlderInStore, let first = recent.first, rule.after.map({ $0 < first.id }) ?? true { return nil }
        let start = rule.after.map { firstIndex(after: $0, inclusive: false) } ?? 0
        return recent[start...].count(where: rule.counts)
    }

    /// `user`'s unread count: their counter when it is known (the common case: it costs the same
    /// whatever the history's length); else from memory, plus what `stored` counts in the store when their cursor
    /// is older than the memory window (`stored` gets the rule, the first message in memory, and
    /// the older messages whose newer version is in memory, which it must skip).
    public func unreadCount(for user: UserID, stored: (UnreadRule, _ before: MessageID, _ excluding: [MessageID]) throws -> Int) rethrows -> Int {
        if let count = countedUnread(for: user) ?? memoryUnreadCount(for: user) { return count }
        guard let firstRecent = recent.first else { return 0 }
        let rule = unreadRule(for: user)
        let overlay = memoryMessages(after: rule.after, before: firstRecent.id)
        return try stored(rule, firstRecent.id, overlay.map(\.id)) + (overlay + recent).count(where: rule.counts)
    }
}
