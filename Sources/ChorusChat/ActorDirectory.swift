import ChorusCluster
import ChorusModel
import Synchronization

/// The channel and user actors active on one node: the strong references that keep them alive,
/// and what passivation needs to know of each channel.
///
/// Calls are counted in the node's ``CallGate`` (``ChatNode`` runs every call on a channel or
/// user through it): the one in-flight count that both passivation and hand-offs read. Looking up
/// a channel or user never creates one; ``ChatNode`` activates actors (from their `created`
/// record, the store, or recovery) and registers them here.
final class ActorDirectory: Sendable {
    /// An active channel actor and what passivation needs to know about it.
    struct ChannelEntry {
        var actor: ChannelActor
        var lastUsed: Timestamp
        /// The LSN of the channel's last logged record, and of the last one the store has.
        var committedLSN: UInt64
        var storedLSN: UInt64
        /// Whether an edge receives its events; such an actor is never evicted (it would lose them).
        var subscribed = false

        var isClean: Bool { storedLSN >= committedLSN }
    }

    struct Entries {
        var channels: [ChannelID: ChannelEntry] = [:]
        var users: [UserID: UserActor] = [:]
    }

    let gate: CallGate
    /// Where the messages not yet in the store are, by their Stream API id.
    let messages = MessageLocator()
    private let entries = Mutex(Entries())

    init(gate: CallGate) {
        self.gate = gate
    }

    /// Runs `change` under the directory's lock: for changes that must be atomic with others
    /// (creating a channel with its record, reading what a checkpoint covers).
    func withEntries<Result>(_ change: (inout Entries) throws -> Result) rethrows -> Result {
        try entries.withLock { try change(&$0) }
    }

    /// The active actor of channel `id`, marked used at `now`.
    func useChannel(_ id: ChannelID, at now: Timestamp) -> ChannelActor? {
        entries.withLock { entries in
            entries.channels[id]?.lastUsed = now
            return entries.channels[id]?.actor
        }
    }

    /// The active actor of channel `id`, if any.
    func channel(_ id: ChannelID) -> ChannelActor? {
        entries.withLock { $0.channels[id]?.actor }
    }

    /// The active actor of user `id`, if any.
    func user(_ id: UserID) -> UserActor? {
        entries.withLock { $0.users[id] }
    }

    /// Logs a record of channel `id` with `append` and marks the channel as holding it, in one
    /// step under the directory lock; returns the record's LSN. A checkpoint reads the LSN it
    /// covers and the channels that are not clean under the same lock, so a record below that LSN
    /// always belongs to a channel the checkpoint flushes. (Marking after the append, outside the
    /// lock, let a checkpoint cover a record of a channel it took for clean: the record was in
    /// neither the store nor the WAL replayed from the covered LSN, and a kill before the next
    /// checkpoint lost it — seen as an acknowledged message missing in `CrashRecoveryTests`.)
    func logChannelRecord(_ id: ChannelID, _ append: () throws -> UInt64) throws -> UInt64 {
        try entries.withLock { entries in
            let lsn = try append()
            entries.channels[id]?.committedLSN = lsn
            return lsn
        }
    }

    /// A checkpoint stored everything of channel `id` up to `lsn`.
    func noteStored(_ id: ChannelID, lsn: UInt64) {
        entries.withLock { entries in
            if let stored = entries.channels[id]?.storedLSN, stored < lsn { entries.channels[id]!.storedLSN = lsn }
        }
    }

    /// Channel `id` got its first subscribed edge, or lost its last one.
    func noteSubscribed(_ id: ChannelID, _ subscribed: Bool) {
        entries.withLock { $0.channels[id]?.subscribed = subscribed }
    }

    /// Evicts channel actors last used at or before `cutoff` that have no call running, no
    /// subscribed edge and nothing the store lacks; returns how many.
    func passivateChannels(idleSince cutoff: Timestamp) -> Int {
        entries.withLock { entries in
            let idle = entries.channels.filter { id, entry in
                !entry.subscribed && entry.isClean && entry.lastUsed <= cutoff && !gate.isBusy(ChannelActor.identity(of: id))
            }.map(\.key)
            for id in idle { entries.channels[id] = nil }
            return idle.count
        }
    }

    /// The ids of the active channel and user actors.
    var activeIDs: (channels: [ChannelID], users: [UserID]) {
        entries.withLock { (Array($0.channels.keys), Array($0.users.keys)) }
    }

    /// How many channel and user actors are active.
    var counts: (channels: Int, users: Int) {
        entries.withLock { ($0.channels.count, $0.users.count) }
    }
}
