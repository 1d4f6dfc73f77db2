import ChorusModel
import ChorusStorage
import Foundation

/// The state of every actor of a node, as recovery rebuilds it and a checkpoint stores it.
///
/// Each actor's snapshot carries the LSN of the last record applied to it, so replaying the WAL
/// over a checkpoint applies exactly the records the checkpoint does not have.
public struct NodeState: Sendable, Codable, Equatable {
    /// One actor's state and the LSN of its last applied record.
    public struct Snapshot<State: Sendable & Codable & Equatable>: Sendable, Codable, Equatable {
        public var state: State
        public var appliedLSN: UInt64
        /// The LSN of the last record the store has for this actor (0: none).
        public var storedLSN: UInt64 = 0
    }

    public var channels: [ChannelID: Snapshot<ChannelState>] = [:]
    public var users: [UserID: Snapshot<UserState>] = [:]

    public init() {}

    /// The largest LSN any actor has applied.
    public var maxAppliedLSN: UInt64 {
        max(channels.values.map(\.appliedLSN).max() ?? 0, users.values.map(\.appliedLSN).max() ?? 0)
    }

    /// Applies the WAL record `entry` at `lsn` unless the actor's snapshot already has it.
    /// Channels (and old messages) that the record needs are loaded from `store` on first use, so
    /// recovery holds only the actors the WAL tail touches.
    public mutating func replay(lsn: UInt64, entry: JournalEntry, store: HistoryStore? = nil, window: Int = 200) throws {
        switch entry {
        case .channel(let id, .created(let info, let members, let profile)):
            // A row stored after this record (a hand-off's copy, a replica's install) supersedes it.
            if channels[id] == nil, let stored = try store?.channelSnapshot(id, window: window) {
                channels[id] = stored
            }
            if channels[id] == nil {
                channels[id] = Snapshot(state: ChannelState(info: info, members: members, profile: profile), appliedLSN: lsn)
            } else if channels[id]!.state.isPlaceholder, lsn > channels[id]!.appliedLSN {
                // A replicated channel's primary logs its terms (a promise, a placeholder here)
                // before the channel's first record: apply it as the live commit did.
                channels[id]!.state.apply(.created(info: info, members: members, profile: profile))
                channels[id]!.appliedLSN = lsn
            }
        case .channel(let id, let record):
            if channels[id] == nil, let stored = try store?.channelSnapshot(id, window: window) {
                channels[id] = stored
            }
            guard let applied = channels[id]?.appliedLSN else {
                throw WALError(.corrupt, "LSN \(lsn) changes channel \(id), which was never created")
            }
            guard lsn > applied else { return }
            if let target = record.changedMessage, channels[id]!.state.mayBeInStore(target), let message = try store?.message(target, in: id) {
                channels[id]!.state.load(message)
            }
            // Mutate in place: copying the snapshot out would copy its whole message history.
            channels[id]!.state.apply(record)
            channels[id]!.appliedLSN = lsn
        case .replica(let id, let batch):
            try replay(lsn: lsn, channel: id, batch: batch, store: store, window: window)
        case .user(let id, let record):
            if users[id] == nil { users[id] = Snapshot(state: UserState(id: id), appliedLSN: 0) }
            guard lsn > users[id]!.appliedLSN else { return }
            users[id]!.state.apply(record)
            users[id]!.appliedLSN = lsn
        case .userReplica(let id, let batch):
            if users[id] == nil { users[id] = Snapshot(state: UserState(id: id), appliedLSN: 0) }
            guard lsn > users[id]!.appliedLSN else { return }
            if batch.from != users[id]!.state.lastSeq + 1, !batch.records.isEmpty {
                throw WALError(.corrupt, "LSN \(lsn) extends user \(id) at seq \(batch.from), but their log ends at \(users[id]!.state.lastSeq)")
            }
            users[id]!.state.setReplicaTerms(replayed(batch, over: users[id]!.state.replicaTerms, endingAt: users[id]!.state.lastSeq))
            for record in batch.records { users[id]!.state.apply(record) }
            users[id]!.appliedLSN = lsn
        }
    }
}

extension NodeState {
    /// A replica's batch: its records extend the channel (the first batch of a replica that had
    /// nothing starts with the `created` record), and its terms become the channel's.
    private mutating func replay(lsn: UInt64, channel id: ChannelID, batch: ReplicaBatch<ChannelRecord>, store: HistoryStore?, window: Int) throws {
        if channels[id] == nil, let stored = try store?.channelSnapshot(id, window: window) {
            channels[id] = stored
        }
        if let applied = channels[id]?.appliedLSN, lsn <= applied { return }
        if channels[id] == nil {
            // A replica that had nothing of the channel: its first batch starts it (records from seq 1, or a promise).
            channels[id] = Snapshot(state: ChannelState(placeholder: id), appliedLSN: 0)
        }
        if batch.from != channels[id]!.state.lastSeq + 1, !batch.records.isEmpty {
            throw WALError(.corrupt, "LSN \(lsn) extends channel \(id) at seq \(batch.from), but its log ends at \(channels[id]!.state.lastSeq)")
        }
        channels[id]!.state.setReplicaTerms(replayed(batch, over: channels[id]!.state.replicaTerms, endingAt: channels[id]!.state.lastSeq))
        for record in batch.records {
            if let target = record.changedMessage, channels[id]!.state.mayBeInStore(target), let message = try store?.message(target, in: id) {
                channels[id]!.state.load(message)
            }
            channels[id]!.state.apply(record)
        }
        channels[id]!.appliedLSN = lsn
    }
}

/// A replica's terms once `batch` is replayed over a log that ends at `lastSeq` (as its actor
/// set them when it logged the batch).
private func replayed<Record>(_ batch: ReplicaBatch<Record>, over terms: ReplicaTerms?, endingAt lastSeq: UInt64) -> ReplicaTerms {
    (terms ?? ReplicaTerms()).logging(promisedTerm: batch.promisedTerm, logTerm: batch.logTerm, after: lastSeq)
}

extension ChannelRecord {
    /// The existing message this record changes, if any.
    var changedMessage: MessageID? {
        switch self {
        case .messageEdited(let id, _, _, _), .messageDeleted(let id, _, _), .reactionAdded(let id, _, _, _),
            .reactionRemoved(let id, _, _, _):
            id
        default:
            nil
        }
    }
}

extension HistoryStore {
    /// Channel `id` as stored: its metadata with its newest `window` messages in memory.
    public func channelSnapshot(_ id: ChannelID, window: Int) throws -> NodeState.Snapshot<ChannelState>? {
        guard let (data, lsn) = try channelSnapshot(id) else { return nil }
        let metadata = try JSONDecoder().decode(ChannelState.self, from: data)
        let newest = try messages(in: id, limit: window + 1, fromNewest: true)
        let state = ChannelState(metadata: metadata, recent: Array(newest.suffix(window)), hasOlderInStore: newest.count > window)
        return NodeState.Snapshot(state: state, appliedLSN: lsn, storedLSN: lsn)
    }
}
