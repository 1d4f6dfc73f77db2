import ChorusModel
import Distributed

/// Reading a channel's history: pages from memory, or the store overlaid with memory, as a
/// viewer sees them (truncations and cleared history hidden).
extension ChannelActor {
    /// A page of history, oldest first, for a member: from memory, or the store overlaid with memory.
    public distributed func messages(_ request: MessagePageRequest, for user: UserID) throws -> MessagePage {
        _ = try state.requireMember(user)
        return try page(request, for: user)
    }

    /// A page of history as `viewer` sees it (`nil`: everyone's view): messages a truncation or
    /// the viewer's cleared history hides are left out, and nothing is older than them.
    func page(_ request: MessagePageRequest, for viewer: UserID?) throws -> MessagePage {
        guard let hidden = state.hiddenThrough(for: viewer) else { return try page(request) }
        var request = request
        if case .after(let id, let limit) = request, id < hidden { request = .after(hidden, limit: limit) }
        var page = try page(request)
        if let first = page.messages.first, first.id <= hidden {
            page.messages.removeAll { $0.id <= hidden }
            if case .after = request {} else { page.hasMore = false }
        }
        return page
    }

    /// A page of history, oldest first: from memory, or the store overlaid with memory.
    fileprivate func page(_ request: MessagePageRequest) throws -> MessagePage {
        if let page = state.memoryPage(request) { return page }
        guard let store = env.store else { return MessagePage(messages: [], hasMore: false) }
        let (after, before, limit, fromNewest): (MessageID?, MessageID?, Int, Bool) =
            switch request {
            case .latest(let limit): (nil, nil, limit, true)
            case .before(let id, let limit): (nil, id, limit, true)
            case .after(let id, let limit): (id, nil, limit, false)
            }
        // The store's limit + 1 nearest messages plus every message in memory in the range contain
        // the true limit + 1 nearest (memory has the newest version of any message it holds).
        var merged: [MessageID: Message] = [:]
        for message in try store.messages(in: state.info.id, after: after, before: before, limit: limit + 1, fromNewest: fromNewest) {
            merged[message.id] = message
        }
        for message in state.memoryMessages(after: after, before: before) {
            merged[message.id] = message
        }
        let sorted = merged.values.sorted { $0.id < $1.id }
        let page = fromNewest ? Array(sorted.suffix(limit)) : Array(sorted.prefix(limit))
        return MessagePage(messages: page, hasMore: sorted.count > limit)
    }
}
