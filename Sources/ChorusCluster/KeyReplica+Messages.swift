/// Where a log ends: the term of the primary whose log it is a prefix of, and its last seq.
/// Positions order by term, then by seq; the greatest answer is the best log to adopt.
public struct LogPosition: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public var logTerm: UInt64
    public var seq: UInt64

    public init(logTerm: UInt64, seq: UInt64) {
        self.logTerm = logTerm
        self.seq = seq
    }

    public static func < (lhs: LogPosition, rhs: LogPosition) -> Bool {
        (lhs.logTerm, lhs.seq) < (rhs.logTerm, rhs.seq)
    }

    public var description: String { "seq \(seq) of term \(logTerm)" }
}

extension [LogPosition] {
    /// How many older terms' claims a log's lineage keeps.
    public static var maxLineage: Int { 8 }

    /// The lineage of a log that ends at `log` once it switches to `term` (a claim of where it
    /// stood, unless the term is the same or the log empty) and takes the claims `inherited`: one
    /// claim per term (the longest), of the newest ``maxLineage`` terms.
    public func switching(from log: LogPosition, to term: UInt64, inheriting inherited: [LogPosition] = []) -> [LogPosition] {
        // Logs of term 0 were written without replication: they claim nothing.
        let own = term != log.logTerm && log.logTerm > 0 && log.seq > 0 ? [log] : []
        guard !own.isEmpty || !inherited.isEmpty else { return self }
        var longest: [UInt64: UInt64] = [:]
        for claim in self + own + inherited { longest[claim.logTerm] = Swift.max(longest[claim.logTerm] ?? 0, claim.seq) }
        return longest.map { LogPosition(logTerm: $0.key, seq: $0.value) }.sorted().suffix(Self.maxLineage).map { $0 }
    }
}

extension KeyReplica {
    public typealias Position = LogPosition

    /// What a restart needs: the promise, and the log (a snapshot of `1...baseSeq`, then the
    /// records after it) with its term.
    ///
    /// The shell makes `promisedTerm` durable before it sends anything a step produced; the log and
    /// `logTerm` become durable only through ``Action/persist(from:records:logTerm:)`` batches and
    /// ``Action/install(base:baseSeq:records:logTerm:)``, so after a crash the shell hands back its
    /// durable log with the term of the last durable batch (see ``KeyReplica``, "Durability").
    public struct Durable: Sendable, Equatable {
        /// The newest term this node promised: it refuses every message of an older one.
        public var promisedTerm: UInt64
        /// The term of the primary whose log this log is a prefix of (VR's last normal view).
        public var logTerm: UInt64
        /// The state of the records `1...baseSeq`, as the shell compacted them; nil while `baseSeq` is 0.
        public var base: Snapshot?
        public var baseSeq: UInt64
        /// The records at `baseSeq + 1...lastSeq`.
        public var records: [Record]
        /// Where this log stood in older terms (Kafka's leader-epoch cache): each claim `(T, s)`
        /// says that its records `1...s` are a prefix of the log of term `T`'s primary, so a log of
        /// term `T` that ends at or before `s` (and before this one's end) is a prefix of this one.
        /// A log gains a claim when it switches to a newer term (where it stood then) and takes
        /// those of a log it becomes a prefix of; at most ``maxLineage``, the newest terms. A claim
        /// only ever lets a lagging replica take records after its end instead of a whole log.
        public var lineage: [Position]

        public init(
            promisedTerm: UInt64 = 0, logTerm: UInt64 = 0, base: Snapshot? = nil, baseSeq: UInt64 = 0, records: [Record] = [],
            lineage: [Position] = []
        ) {
            self.promisedTerm = promisedTerm
            self.logTerm = logTerm
            self.base = base
            self.baseSeq = baseSeq
            self.records = records
            self.lineage = lineage
        }


        public var lastSeq: UInt64 { baseSeq + UInt64(records.count) }
        public var position: Position { Position(logTerm: logTerm, seq: lastSeq) }

        /// The records after `seq` (none when `seq` is at or past the end), or nil when some of
        /// them are compacted into `base`.
        public func records(after seq: UInt64) -> [Record]? {
            guard seq >= baseSeq else { return nil }
            guard seq < lastSeq else { return [] }
            return Array(records[Int(seq - baseSeq)...])
        }

        /// How far a log that ends at `log` is known to be a prefix of this one: all of it when it
        /// is of this log's term and no longer, up to a claim of its term, or nil when unknown.
        public func agreement(with log: Position) -> UInt64? {
            if log.logTerm == logTerm || log.seq == 0 { return min(log.seq, lastSeq) }
            guard let claim = lineage.last(where: { $0.logTerm == log.logTerm }) else { return nil }
            return min(log.seq, claim.seq, lastSeq)
        }

        /// Whether a log that ends at `log` is a prefix of this one.
        public func extends(_ log: Position) -> Bool {
            agreement(with: log) == log.seq
        }

        /// This log switches from its term to `term` where it ends now, and becomes a prefix of a
        /// log whose claims are `inherited`.
        mutating func switchTerm(to term: UInt64, inheriting inherited: [Position] = []) {
            lineage = lineage.switching(from: position, to: term, inheriting: inherited)
            logTerm = term
        }
    }

    /// What this node is for the key.
    public enum Role: Sendable, Equatable {
        case backup
        /// Named primary of `term`; collecting the replicas' logs, not serving yet.
        case recovering(term: UInt64)
        /// Serving `term`: it takes proposals.
        case primary(term: UInt64)
    }

    /// What replicas of a key tell each other. Every message carries its sender's term (a
    /// backup's answers carry the term of the primary it answers).
    public enum Message: Sendable, Equatable {
        /// From a primary of `term`, recovering or serving: promise `term` and say where your log ends.
        case probe(term: UInt64)
        /// A backup's answer to a probe, or to an append that does not fit its log.
        case state(term: UInt64, log: Position)
        /// For a log that ends at `expect`: the primary's records after it, and its commit seq; for
        /// a log of an older term, the primary's lineage too (which the backup takes).
        case append(term: UInt64, expect: Position, records: [Record], commit: UInt64, lineage: [Position] = [])
        /// The primary's whole log (`base` covering `1...baseSeq`, then `records`, with its
        /// lineage): it replaces the backup's.
        case snapshot(term: UInt64, base: Snapshot?, baseSeq: UInt64, records: [Record], commit: UInt64, lineage: [Position] = [])
        /// The backup's log is durable up to `upTo` in `term` (a prefix of that primary's log).
        case accepted(term: UInt64, upTo: UInt64)
        /// The sender promised `term`, newer than the message it refuses.
        case refused(term: UInt64)
        /// From a recovering primary to the holder of the best log: send your log; mine ends at `after`.
        case fetch(term: UInt64, after: Position)
        /// The holder's answer: its log, which ends at `log`, and its lineage. With `base`, the whole
        /// of it (the snapshot of `1...baseSeq`, then `records`); without, the records after
        /// `baseSeq`, which is where the fetcher's log ended when the holder's log extends it (or 0:
        /// the whole log).
        case fetched(term: UInt64, log: Position, base: Snapshot?, baseSeq: UInt64, records: [Record], lineage: [Position] = [])
    }

    /// What the shell does after a step, in order.
    public enum Action: Sendable, Equatable {
        case send(Message, to: String)
        /// Append `records` at `from...` to the write-ahead log in one batch stamped `logTerm`, durable
        /// whole or not at all and after every earlier batch; report it with ``KeyReplica/durable(upTo:)``.
        /// A batch without records marks the log's switch to a newer term.
        case persist(from: UInt64, records: [Record], logTerm: UInt64)
        /// Replace the stored log with this one (`base` covering `1...baseSeq`, then `records`, of
        /// `logTerm`), atomically and durably before sending anything this step produced; earlier
        /// batches not yet reported are void.
        case install(base: Snapshot?, baseSeq: UInt64, records: [Record], logTerm: UInt64)
        /// This node serves `term`: it takes proposals from now on.
        case serving(term: UInt64)
        /// Records up to `upTo` are committed: a primary acknowledges their clients; a backup may apply them.
        case committed(upTo: UInt64)
        /// This node stopped being primary (or recovering) because of `term`: fail its pending
        /// proposals (they may still commit under the next primary; clients retry idempotently).
        case deposed(term: UInt64)
    }
}

extension KeyReplica.Message {
    /// The sender's term.
    public var term: UInt64 {
        switch self {
        case .probe(let term), .state(let term, _), .append(let term, _, _, _, _), .snapshot(let term, _, _, _, _, _),
            .accepted(let term, _), .refused(let term), .fetch(let term, _), .fetched(let term, _, _, _, _, _):
            term
        }
    }
}

/// Deliberate mistakes a test can make a ``KeyReplica`` commit, to show that the replication
/// simulator's checks catch them. Never set outside tests.
enum KeyReplicaFault: Sendable {
    /// A new primary serves at once with its own log, without a majority's answers.
    case skipRecovery
    /// A backup acknowledges records as soon as it accepts them, before they are durable.
    case ackBeforeDurable
    /// A replica trusts the claims of its lineage for any length: a primary appends on top of a
    /// backup whose log has the adopted log's term but is longer than the adopted log (records of
    /// the old primary that the new one did not adopt), and a holder sends a fetcher such a log's
    /// suffix.
    case appendOverLongerSuffix
}

// Replication messages cross the cluster transport as the arguments of calls. (Synthesized
// conformances must be declared in the file that declares the types.)
extension KeyReplica.Message: Codable where Record: Codable, Snapshot: Codable {}
