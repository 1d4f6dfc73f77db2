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
            guard let index = try channelIndex(id, store: store, window: window) else {
                channels[id] = Snapshot(state: ChannelState(info: info, members: members, profile: profile), appliedLSN: lsn)
                return
            }
            // A replicated channel's primary logs its terms (a promise, a placeholder here) before
            // the channel's first record: apply it as the live commit did.
            try channels.values[index].replay(lsn: lsn, placeholderOnly: true, .created(info: info, members: members, profile: profile), store: store)
        case .channel(let id, let record):
            guard let index = try channelIndex(id, store: store, window: window) else {
                throw WALError(.corrupt, "LSN \(lsn) changes channel \(id), which was never created")
            }
            try channels.values[index].replay(lsn: lsn, record, store: store)
        case .replica(let id, let batch):
            // A replica that had nothing of the channel: its first batch starts it (records from seq 1, or a promise).
            let index = try channelIndex(id, store: store, window: window) ?? channels.insert(id, Snapshot(state: ChannelState(placeholder: id), appliedLSN: 0))
            try channels.values[index].replay(lsn: lsn, batch, of: id, store: store)
        case .user(let id, let record):
            let index = users.index(forKey: id) ?? users.insert(id, Snapshot(state: UserState(id: id), appliedLSN: 0))
            guard lsn > users.values[index].appliedLSN else { return }
            users.values[index].state.apply(record)
            users.values[index].appliedLSN = lsn
        case .userReplica(let id, let batch):
            let index = users.index(forKey: id) ?? users.insert(id, Snapshot(state: UserState(id: id), appliedLSN: 0))
            try users.values[index].replay(lsn: lsn, batch, of: "user \(id)") { $0.apply($1) }
        }
    }

    /// Where channel `id` is in `channels`, loading it from `store` on first use; nil if neither has it.
    private mutating func channelIndex(_ id: ChannelID, store: HistoryStore?, window: Int) throws -> Dictionary<ChannelID, Snapshot<ChannelState>>.Index? {
        if let index = channels.index(forKey: id) { return index }
        guard let stored = try store?.channelSnapshot(id, window: window) else { return nil }
        return channels.insert(id, stored)
    }
}

// Snapshots are changed in place (`values[index]`): a copy of one would copy (retain) all of its state.
extension NodeState.Snapshot<ChannelState> {
    /// Applies `record` at `lsn` unless this snapshot has it (`placeholderOnly`: only to a
    /// replica's placeholder), loading the stored message it changes first.
    fileprivate mutating func replay(lsn: UInt64, placeholderOnly: Bool = false, _ record: ChannelRecord, store: HistoryStore?) throws {
        guard lsn > appliedLSN, !placeholderOnly || state.isPlaceholder else { return }
        try state.replay(record, store: store)
        appliedLSN = lsn
    }

    /// Applies a replica's batch at `lsn` unless this snapshot has it.
    fileprivate mutating func replay(lsn: UInt64, _ batch: ReplicaBatch<ChannelRecord>, of id: ChannelID, store: HistoryStore?) throws {
        try replay(lsn: lsn, batch, of: "channel \(id)") { state, record in try state.replay(record, store: store) }
    }
}

extension ChannelState {
    /// Applies `record`, first loading the stored message it changes if only the store has it.
    fileprivate mutating func replay(_ record: ChannelRecord, store: HistoryStore?) throws {
        if let target = record.changedMessage, mayBeInStore(target), let message = try store?.message(target, in: info.id) {
            load(message)
        }
        apply(record)
    }
}

/// What a replica's batch needs of the state it extends.
protocol ReplicaLogState {
    var lastSeq: UInt64 { get }
    var replicaTerms: ReplicaTerms? { get }
    mutating func setReplicaTerms(_ terms: ReplicaTerms)
}
extension ChannelState: ReplicaLogState {}
extension UserState: ReplicaLogState {}

extension NodeState.Snapshot where State: ReplicaLogState {
    /// Applies a replica's batch at `lsn` unless this snapshot has it: its records extend the log,
    /// which must end right before the batch (`name` says whose, in the error), and its terms
    /// become the state's.
    fileprivate mutating func replay<Record>(
        lsn: UInt64, _ batch: ReplicaBatch<Record>, of name: @autoclosure () -> String, apply: (inout State, Record) throws -> Void
    ) throws {
        guard lsn > appliedLSN else { return }
        if batch.from != state.lastSeq + 1, !batch.records.isEmpty {
            throw WALError(.corrupt, "LSN \(lsn) extends \(name()) at seq \(batch.from), but its log ends at \(state.lastSeq)")
        }
        state.setReplicaTerms(replayed(batch, over: state.replicaTerms, endingAt: state.lastSeq))
        for record in batch.records { try apply(&state, record) }
        appliedLSN = lsn
    }
}

extension Dictionary {
    /// Adds `value` under `key` (not there yet) and returns where it is.
    fileprivate mutating func insert(_ key: Key, _ value: Value) -> Index {
        self[key] = value
        return index(forKey: key)!
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
