import ChorusModel
import ChorusStorage

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
    /// `loadMessage` reads a message from the store when a record changes one older than the
    /// channel's memory window.
    public mutating func replay(
        lsn: UInt64, entry: JournalEntry, loadMessage: (ChannelID, MessageID) throws -> Message? = { _, _ in nil }
    ) throws {
        switch entry {
        case .channel(let id, .created(let info, let members)):
            if channels[id] == nil {
                channels[id] = Snapshot(state: ChannelState(info: info, members: members), appliedLSN: lsn)
            }
        case .channel(let id, let record):
            guard let applied = channels[id]?.appliedLSN else {
                throw WALError(.corrupt, "LSN \(lsn) changes channel \(id), which was never created")
            }
            guard lsn > applied else { return }
            if let target = record.changedMessage, channels[id]!.state.mayBeInStore(target), let message = try loadMessage(id, target) {
                channels[id]!.state.load(message)
            }
            // Mutate in place: copying the snapshot out would copy its whole message history.
            channels[id]!.state.apply(record)
            channels[id]!.appliedLSN = lsn
        case .user(let id, let record):
            if users[id] == nil { users[id] = Snapshot(state: UserState(id: id), appliedLSN: 0) }
            guard lsn > users[id]!.appliedLSN else { return }
            users[id]!.state.apply(record)
            users[id]!.appliedLSN = lsn
        }
    }
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
