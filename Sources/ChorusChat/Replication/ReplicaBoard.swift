import ChorusCluster
import Synchronization

/// What one replica shows of itself (its role, term and lag), for the node's
/// ``ReplicationSummary``: written by its actor after every step, read by the admin view.
///
/// Relaxed atomics: a reader may see one field of a step and another of the next, which is
/// fine for a gauge; nothing decides anything from it.
final class ReplicaGauge: Sendable {
    enum Role: UInt8 {
        case backup, recovering, primary
    }

    let kind: String
    private let role = Atomic<UInt8>(Role.backup.rawValue)
    private let term = Atomic<UInt64>(0)
    private let lag = Atomic<UInt64>(0)

    init(kind: String) { self.kind = kind }

    /// Copies what the admin view shows of `replica`.
    func update<Record, Snapshot>(from replica: KeyReplica<Record, Snapshot>) {
        let role: Role =
            switch replica.role {
            case .backup: .backup
            case .recovering: .recovering
            case .primary: .primary
            }
        self.role.store(role.rawValue, ordering: .relaxed)
        term.store(replica.durable.promisedTerm, ordering: .relaxed)
        lag.store(replica.replicationLag, ordering: .relaxed)
    }

    var reading: (role: Role, term: UInt64, lag: UInt64) {
        (Role(rawValue: role.load(ordering: .relaxed)) ?? .backup, term.load(ordering: .relaxed), lag.load(ordering: .relaxed))
    }
}

/// Every replica on this node, by its gauge: registered when a replicated actor is created,
/// removed when it is freed.
final class ReplicaBoard: Sendable {
    private let gauges = Mutex<[ObjectIdentifier: ReplicaGauge]>([:])

    /// A new gauge for a replica of `kind`, on the board.
    func register(kind: String) -> ReplicaGauge {
        let gauge = ReplicaGauge(kind: kind)
        gauges.withLock { $0[ObjectIdentifier(gauge)] = gauge }
        return gauge
    }

    func remove(_ gauge: ReplicaGauge) {
        _ = gauges.withLock { $0.removeValue(forKey: ObjectIdentifier(gauge)) }
    }

    /// The node's replicas summed up.
    var summary: ReplicationSummary {
        var summary = ReplicationSummary()
        for gauge in gauges.withLock({ Array($0.values) }) {
            let (role, term, lag) = gauge.reading
            switch role {
            case .primary: summary.primaries[gauge.kind, default: 0] += 1
            case .backup: summary.backups[gauge.kind, default: 0] += 1
            case .recovering: summary.recovering += 1
            }
            summary.newestTerm = max(summary.newestTerm, term)
            if lag > 0 {
                summary.lagging += 1
                summary.lagRecords += lag
                summary.maxLagRecords = max(summary.maxLagRecords, lag)
            }
        }
        return summary
    }
}
