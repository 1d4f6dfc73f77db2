import ChorusActorSystem
import ChorusModel
import ChorusStorage
import Distributed
import Foundation
import Logging
import Synchronization

extension ChatNode {
    // MARK: Recovery and checkpoints

    /// Activates an actor for every channel and user in `recovered` (at start-up, before serving);
    /// new ids will stay above `maxStoredChannelID` and every recovered id.
    public func restore(_ recovered: NodeState, maxStoredChannelID: ChannelID? = nil) {
        directory.withEntries { entries in
            let now = clock.now()
            for (id, snapshot) in recovered.channels {
                let actor = makeChannelActor(snapshot.state, appliedLSN: snapshot.appliedLSN, storedLSN: snapshot.storedLSN)
                entries.channels[id] = ActorDirectory.ChannelEntry(
                    actor: actor, lastUsed: now, committedLSN: snapshot.appliedLSN, storedLSN: snapshot.storedLSN)
            }
            for (id, snapshot) in recovered.users {
                entries.users[id] = makeUserActor(snapshot.state, appliedLSN: snapshot.appliedLSN, storedLSN: snapshot.storedLSN)
            }
        }
        // Ids made after a restart must stay above the recovered ones, even if the clock stepped back.
        for snapshot in recovered.channels.values {
            for message in snapshot.state.dirtyMessages { directory.messages.note(message) }
            advanceIDs(past: snapshot.state.info.id)
            if let newest = snapshot.state.recent.last { ids.advance(past: newest.id.rawValue) }
        }
        if let maxStoredChannelID { advanceIDs(past: maxStoredChannelID) }
    }

    /// Writes every change since the last checkpoint to `store` in one transaction and trims the
    /// channels' memory windows; returns the LSN below which every record is now in the store.
    ///
    /// The covered LSN is read under the directory lock, where every channel record is logged
    /// and its channel marked dirty in one step (``ActorDirectory/logChannelRecord(_:_:)``; new
    /// channels are also activated there), so every record below it belongs to an actor listed
    /// here and is applied to it before that actor's flush runs (records are logged and applied
    /// in one actor turn); actors that are not dirty have theirs in the store already. The batch is written only once every record in it is durable
    /// in the WAL, so the store never holds a change the WAL could lose.
    public func checkpoint(into store: HistoryStore) async throws -> UInt64 {
        let (covered, channels, users) = directory.withEntries { entries in
            (journal.nextLSN, entries.channels.values.filter { !$0.isClean }.map(\.actor), Array(entries.users.values))
        }
        var batch = HistoryStore.Batch(coveredLSN: covered)
        var newest: UInt64 = 0
        var flushedChannels: [(ChannelActor, ChannelFlush)] = []
        for actor in channels {
            guard let flush = await actor.whenLocal({ $0.prepareFlush() }) ?? nil else { continue }
            batch.channels.append((flush.metadata.info.id, flush.metadata, flush.appliedLSN))
            batch.channelIndex.append((flush.metadata.info.id, try flush.metadata.indexEntry()))
            batch.messages += flush.messages
            if let through = flush.eraseThrough { batch.erasures.append((flush.metadata.info.id, through)) }
            newest = max(newest, flush.appliedLSN)
            flushedChannels.append((actor, flush))
        }
        var flushedUsers: [(UserActor, UInt64)] = []
        for actor in users {
            guard let snapshot = await actor.whenLocal({ $0.prepareFlush() }) ?? nil else { continue }
            batch.users.append((snapshot.state.id, snapshot.state, snapshot.appliedLSN))
            newest = max(newest, snapshot.appliedLSN)
            flushedUsers.append((actor, snapshot.appliedLSN))
        }
        if newest > 0 { try await journal.waitDurable(newest) }
        try await store.write(batch)
        directory.messages.forget(batch.messages)
        for (actor, flush) in flushedChannels { await actor.whenLocal { $0.completeFlush(flush) } }
        for (actor, lsn) in flushedUsers { await actor.whenLocal { $0.completeFlush(upTo: lsn) } }
        logger.debug("checkpoint", metadata: ["storage.channels": "\(flushedChannels.count)", "storage.messages": "\(batch.messages.count)"])
        return covered
    }
}

/// Channels and users are stored as their JSON, made by the store on its writer thread.
extension ChannelState: StoredSnapshot {
    public func storedBytes() throws -> Data { try JSONEncoder().encode(self) }
}

extension UserState: StoredSnapshot {
    public func storedBytes() throws -> Data { try JSONEncoder().encode(self) }
}
