import ChorusChat
import ChorusModel

extension ChatNode {
    /// The views of channels `ids` as `viewer` sees them (`nil`: a server), with their newest
    /// `messages`, read in parallel. A channel that is gone, or that the viewer cannot read (an
    /// index entry older than a removal), is left out.
    func views(of ids: [ChannelID], for viewer: UserID?, messages: Int) async throws -> [ChannelView] {
        try await withThrowingTaskGroup(of: ChannelView?.self) { group in
            for id in ids {
                group.addTask {
                    do {
                        return try await self.withChannel(id) { try await $0.view(for: viewer, messages: .latest(limit: messages)) }
                    } catch let error as ChatError where [.channelNotFound, .notMember].contains(error.code) {
                        return nil
                    }
                }
            }
            var views: [ChannelView] = []
            for try await view in group {
                if let view { views.append(view) }
            }
            return views
        }
    }
}
