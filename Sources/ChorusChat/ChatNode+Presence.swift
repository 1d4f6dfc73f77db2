import ChorusModel

extension ChatNode {
    /// `user` came online (their first socket opened) or went offline (their last closed): tells
    /// the actors of their channels, on every node, which tell their watchers that asked for
    /// presence. Only active channels hear of it: an inactive channel has no watchers, and a
    /// presence change must not load every channel of the user.
    public func announcePresence(of user: UserID, online: Bool) async {
        guard let channels = try? await channelIDs(of: user), !channels.isEmpty else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.presenceChanged(of: user, online: online, in: channels) }
            for peer in cluster?.peers ?? [] {
                guard let actor = try? chatNodeActor(on: peer) else { continue }
                group.addTask { try? await actor.presenceChanged(of: user, online: online, in: channels) }
            }
        }
    }

    /// ``announcePresence(of:online:)`` on this node: the channels of `channels` it owns and has active.
    func presenceChanged(of user: UserID, online: Bool, in channels: [ChannelID]) async {
        for id in channels {
            guard cluster?.remoteOwner(of: ChannelActor.identity(of: id)) == nil, directory.channel(id) != nil else { continue }
            try? await withLocalChannel(id) { try await $0.presenceChanged(user, online: online) }
        }
    }
}
