import ChorusActorSystem
import ChorusCluster
import ChorusModel
import ChorusStorage
import Foundation

/// The chat side of a hand-off (``ClusterMember/handOff(to:)`` runs it once calls on the moving
/// keys have finished): checkpoint, so the store holds every acknowledged change, then send each
/// moving channel's messages in pages and then its metadata, and each moving user's state, to the
/// key's owner under the new ring, which stores them durably before answering. A channel's event
/// log does not move: resumes from before the move get `resume_failed`.
extension ChatNode: KeyTransfer {
    /// Messages per adoption call.
    static let handoffPage = 500

    public func transferKeys(towards target: HashRing, newOwner moves: (ActorIdentity) -> String?) async throws -> [String: Int] {
        guard let store else { throw RemoteCallError(.unreachable, "only a node with a store can hand keys over") }
        _ = try await checkpoint(into: store)
        var channels = 0
        for id in try store.channelIDs() {
            guard let owner = moves(ChannelActor.identity(of: id)), let (data, _) = try store.channelSnapshot(id) else { continue }
            let receiver = try chatNodeActor(on: owner)
            var after: MessageID?
            while true {
                let page = try store.messages(in: id, after: after, limit: Self.handoffPage, fromNewest: false)
                guard let last = page.last else { break }
                try await receiver.adoptMessages(page)
                after = last.id
            }
            try await receiver.adoptChannel(try JSONDecoder().decode(ChannelState.self, from: data))
            channels += 1
        }
        var users = 0
        for (id, data, _) in try store.userSnapshots() {
            guard let owner = moves(UserActor.identity(of: id)) else { continue }
            try await chatNodeActor(on: owner).adoptUser(try JSONDecoder().decode(UserState.self, from: data))
            users += 1
        }
        return [ChannelActor.kind: channels, UserActor.kind: users]
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
        try await store.importChannel(metadata.info.id, snapshot: try JSONEncoder().encode(metadata.metadata), appliedLSN: lsn)
        directory.withEntries { _ = $0.channels.removeValue(forKey: metadata.info.id) }
        ids.advance(past: metadata.info.id.rawValue)
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
