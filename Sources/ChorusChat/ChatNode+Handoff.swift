import ChorusActorSystem
import ChorusCluster
import ChorusModel
import ChorusStorage
import Foundation

/// The chat side of a hand-off (``ClusterMember/handOff(to:)`` runs it once calls on the moving
/// keys have finished): checkpoint, so the store holds every acknowledged change, then, in the
/// order the pure ``HandoffTransfer`` gives, send each moving channel's messages in pages and then
/// its metadata, and each moving user's state, to the key's owner under the new ring, which
/// stores them durably before answering. A channel's event
/// log does not move: resumes from before the move get `resume_failed`. With replication, nothing
/// is copied: the new owner recovers each key from its replicas (see below).
extension ChatNode: KeyTransfer {
    /// Messages per adoption call.
    static let handoffPage = 500

    public func transferKeys(towards target: HashRing, newOwner: (ActorIdentity) -> String?) async throws -> [String: Int] {
        guard let store else { throw RemoteCallError(.unreachable, "only a node with a store can hand keys over") }
        _ = try await checkpoint(into: store)
        // What moves, in order: channels (their messages in pages, then their metadata), then users.
        var moves: [HandoffTransfer<MessageID>.Move] = []
        var channels: [String: ChannelID] = [:]
        var users: [String: Data] = [:]
        for id in try store.channelIDs() {
            let identity = ChannelActor.identity(of: id)
            guard let owner = newOwner(identity) else { continue }
            moves.append(.init(key: identity.description, owner: owner))
            channels[identity.description] = id
        }
        for (id, data, _) in try store.userSnapshots() {
            let identity = UserActor.identity(of: id)
            guard let owner = newOwner(identity) else { continue }
            moves.append(.init(key: identity.description, owner: owner))
            users[identity.description] = data
        }
        // Replicated keys move without a copy: their new owner is one of their replicas, and it
        // recovers each from a majority of the replicas (of the new ring and the old) before it
        // serves, as after a failover. A copy stored beside the replica's own log would race the
        // records still arriving through replication: two writers of one channel on one node, and
        // a store row whose state is ahead of the write-ahead log frames it claims to include.
        if replication != nil { return [ChannelActor.kind: channels.count, UserActor.kind: users.count] }
        // A step that throws fails the hand-off; the caller (ClusterMember.handOff) aborts it.
        var transfer = HandoffTransfer<MessageID>(moves: moves)
        var next = transfer.start()
        while let action = next {
            switch action {
            case .sendPage(let key, let after, let owner):
                // Users have no pages: their state is their final step.
                guard let channel = channels[key] else {
                    next = transfer.pageStored(key: key, after: after, last: nil)
                    continue
                }
                let page = try store.messages(in: channel, after: after, limit: Self.handoffPage, fromNewest: false)
                if !page.isEmpty { try await chatNodeActor(on: owner).adoptMessages(page) }
                next = transfer.pageStored(key: key, after: after, last: page.last?.id)
            case .sendFinal(let key, let owner):
                if let channel = channels[key] {
                    guard let (data, _) = try store.channelSnapshot(channel) else { throw ChatError.channelNotFound(channel) }
                    try await chatNodeActor(on: owner).adoptChannel(try JSONDecoder().decode(ChannelState.self, from: data))
                } else if let data = users[key] {
                    try await chatNodeActor(on: owner).adoptUser(try JSONDecoder().decode(UserState.self, from: data))
                }
                next = transfer.finalStored(key: key)
            case .finished:
                return [ChannelActor.kind: channels.count, UserActor.kind: users.count]
            case .abort(let reason):
                throw RemoteCallError(.unreachable, reason)
            }
        }
        throw RemoteCallError(.unreachable, "the hand-off stopped before it finished")
    }

    /// Stores messages of a channel handed to this node.
    func adoptMessages(_ messages: [Message]) async throws {
        guard let store else { throw RemoteCallError(.unreachable, "this node has no store to adopt into") }
        try await store.importMessages(messages)
    }

    /// Takes over a channel handed to this node (its messages are stored already): stores its
    /// metadata as of this node's current LSN and drops any stale local actor of it.
    func adoptChannel(_ metadata: ChannelState) async throws {
        guard let store else { throw RemoteCallError(.unreachable, "this node has no store to adopt into") }
        let lsn = journal.nextLSN - 1
        let id = metadata.info.id
        try await store.importChannel(
            id, snapshot: try JSONEncoder().encode(metadata.metadata), index: try metadata.indexEntry(), appliedLSN: lsn)
        directory.withEntries { _ = $0.channels.removeValue(forKey: id) }
        // An actor of the channel may still be alive (a replica here, busy): it takes the adopted
        // state over, and the next activation registers it again rather than making a second one.
        if let live = actorSystem.localActor(ChannelActor.identity(of: id)) as? ChannelActor,
            let snapshot = try store.channelSnapshot(id, window: configuration.messageWindow) {
            await live.whenLocal { $0.takeOver(snapshot) }
        }
        advanceIDs(past: id)
    }

    /// Takes over a user handed to this node.
    func adoptUser(_ state: UserState) async throws {
        guard let store else { throw RemoteCallError(.unreachable, "this node has no store to adopt into") }
        let lsn = journal.nextLSN - 1
        try await store.importUser(state.id, snapshot: try JSONEncoder().encode(state), appliedLSN: lsn)
        let existing = directory.withEntries { entries -> UserActor? in
            if let actor = entries.users[state.id] { return actor }
            entries.users[state.id] = makeUserActor(state, appliedLSN: lsn, storedLSN: lsn)
            return nil
        }
        await existing?.whenLocal { $0.adopt(state, storedAt: lsn) }
    }
}
