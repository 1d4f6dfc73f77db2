/// One replica of one key's log (a channel's records) as a pure state machine: primary-backup
/// replication fenced by terms, after Viewstamped Replication (Liskov and Cowling, "Viewstamped
/// Replication Revisited") and Kafka's leader epochs. It does no I/O and reads no clock: every
/// input carries `now` (milliseconds of the shell's clock) where it needs one, and every output is
/// an ``Action``. Each node runs one per key it replicates (docs/replication.md).
///
/// **Terms.** The metadata log (``RaftNode``) hands out terms, each naming at most one primary for
/// the key. A node promises the newest term it hears of and refuses every message of an older one,
/// so once a majority has promised a term, no older primary can get anything acknowledged.
///
/// **The log's term.** ``Durable/logTerm`` names the primary whose log this node's log is a prefix
/// of (VR's last normal view). It becomes `T` when the node accepts an append or a snapshot from
/// the primary of `T`, which sends at first contact everything from the node's position to its own
/// end, or when the node starts serving `T`; so a log of term `T` holds at least the log the
/// primary of `T` started from. A primary only appends and serves its term once, so the records of
/// one term at one seq are one record, and two logs of one term differ only in length.
///
/// **Recovery.** A new primary asks every replica where its log ends and waits for a majority
/// (itself included). It adopts the best log, the highest term and then the longest, fetching it
/// from its holder unless it is its own, and serves only then. A backup whose log is a prefix of
/// the primary's (of the new term and no longer, or within a claim of the primary's lineage, such
/// as the adopted log's end) gets the records after it; any other, including one of the adopted
/// log's term that is longer (records of the old primary no majority acknowledged), gets the
/// whole log, which replaces its own. A holder answers a fetch the same way.
///
/// **Lineage.** ``Durable/lineage`` lists claims `(T, s)`: the log's records `1...s` are a prefix
/// of the log of `T`'s primary. A log gains one where it stands when it switches to a newer term
/// (it was a prefix of its term's primary's log, and changes after that point only), and takes
/// the claims of a log it becomes a prefix of (it is then that log's prefix, so they hold for it
/// too). A claim only ever lets a log be sent records after its end instead of a whole log, so a
/// claim lost in a crash costs a whole log, never a record.
///
/// **Commit.** A record is committed once a majority has it durable in the current term (the
/// primary counts once its own copy is); every log accepted in a term is a prefix of that term's
/// primary's log, so adopted records of older terms commit along with its own. Safety: a record
/// committed in `T` at `seq` is durable, in a log of term `T` or newer, on a majority. The next
/// primary's majority meets it in a node that answers at least `(T, seq)`, so the best answer is
/// of term `T` and at least as long, or of a newer term whose primary started from a log holding
/// the record (by induction); the new primary adopts exactly what that answer claimed (it checks
/// the fetched log's end against it), so its log holds the record.
///
/// **Durability.** The shell makes ``Durable/promisedTerm`` durable before it sends anything a
/// step produced. Records go to its write-ahead log in batches (``Action/persist(from:records:logTerm:)``),
/// each stamped with the log's term, durable whole or not at all and in order; it reports them with
/// ``durable(upTo:)``. A log's term is thus durable only with the records it covers: a node that
/// crashes before its switch to a newer term is durable comes back with the older term and the log
/// it had then, a claim that is still true (a node claiming term `T` with fewer records than the
/// primary of `T` started from could make a later recovery drop committed records). A backup
/// acknowledges only what is durable in the primary's term, so no acknowledgement claims more than
/// survives a crash. ``Action/install(base:baseSeq:records:logTerm:)`` replaces the whole log at
/// once, durably before the step's messages leave.
public struct KeyReplica<Record: Sendable & Equatable, Snapshot: Sendable & Equatable>: Sendable {
    /// What a primary knows of one backup.
    private struct Follower: Sendable {
        /// Where the backup's log ends once it has everything sent to it; nil until it says where it ends.
        var sentSeq: UInt64?
        /// The highest seq it acknowledged durable in this term.
        var matchSeq: UInt64 = 0
        /// The commit seq last sent to it.
        var sentCommit: UInt64 = 0
        /// No resend before this (ms), and the wait after the last one: it doubles while resends
        /// get no further acknowledgement (a whole log is costly to build, send and install, and
        /// resending it faster than the backup can take it only adds work), and is reset by one.
        var resendAt: Int64 = 0
        var resendBackoff: Int64 = 0
        /// `matchSeq` when the last resend went out.
        var matchAtResend: UInt64?
        /// The first tick since the last send to it (or progress) that found it lacking records
        /// or the commit seq: a resend waits a retry interval for records (an append in flight is
        /// usually acknowledged by then) and ``commitInterval`` for a commit seq alone (the next
        /// append carries it, and a backup needs it only eventually).
        var behindSince: Int64?
    }

    /// A recovering primary's fetch of the best log: from whom, and where that node said its log ends.
    private struct Fetch: Sendable {
        var holder: String
        var log: Position
    }

    /// This node's name, as the other replicas address it.
    public let me: String
    /// How often a primary resends what is not acknowledged and probes replicas that never answered (ms).
    public let retryInterval: Int64

    public private(set) var durable: Durable
    public private(set) var role = Role.backup
    /// The highest seq known committed (not durable: learned again after a restart).
    public private(set) var commitSeq: UInt64 = 0
    /// How far the shell has reported the log durable, with the term of the last durable batch.
    public private(set) var durablePosition: Position
    /// A backup's primary: the node of `promisedTerm` it heard from, which its acknowledgements go to.
    public private(set) var primary: String?

    /// A deliberate mistake, for tests of the simulator's checks.
    var fault: KeyReplicaFault?

    /// A primary's other replicas, where each said its log ends, and what it has sent each.
    private var replicas: [String] = []
    private var answers: [String: Position] = [:]
    private var followers: [String: Follower] = [:]
    private var fetching: Fetch?
    private var nextRetry: Int64 = 0

    /// A replica (re)started with what it had made durable, as a backup.
    public init(me: String, durable: Durable = Durable(), retryInterval: Int64 = 100) {
        precondition(retryInterval > 0, "the retry interval must be positive")
        self.me = me
        self.durable = durable
        self.retryInterval = retryInterval
        self.durablePosition = durable.position
    }

    public var lastSeq: UInt64 { durable.lastSeq }

    /// The longest wait between resends to a backup that acknowledges nothing, in retry intervals.
    static var maxResendBackoff: Int64 { 16 }

    /// How long a backup that has every record may go without the newest commit seq (ms).
    var commitInterval: Int64 { retryInterval * 10 }

    private var majority: Int { (replicas.count + 1) / 2 + 1 }

    /// How many records of a primary's log its slowest other replica has not acknowledged in
    /// this term (0 for a backup or a recovering primary).
    public var replicationLag: UInt64 {
        guard case .primary = role else { return 0 }
        let slowest = replicas.map { followers[$0]?.matchSeq ?? 0 }.min() ?? lastSeq
        return lastSeq > slowest ? lastSeq - slowest : 0
    }

    // MARK: Inputs

    /// The metadata log named this node primary of `term` for the key, replicated on `replicas`
    /// (this node may be among them). It probes the others and serves once it has recovered. A
    /// term it already promised is refused: it may have served it before a crash, and serving it
    /// again could give one seq of `term` two records.
    public mutating func becomePrimary(term: UInt64, replicas: [String], now: Int64) -> [Action] {
        guard term > durable.promisedTerm else { return [] }
        var actions = promise(term)
        role = .recovering(term: term)
        self.replicas = Set(replicas).subtracting([me]).sorted()
        nextRetry = now + retryInterval
        actions += self.replicas.map { Action.send(.probe(term: term), to: $0) }
        if fault == .skipRecovery || majority == 1 {
            actions += finishRecovery(adopting: durable.position)
        }
        return actions
    }

    /// `record` for the log; its seq and what to do, or nil when this node does not serve.
    /// Backups that are in line get it at once (pipelined after what they were sent before).
    public mutating func propose(_ record: Record) -> (seq: UInt64, actions: [Action])? {
        guard case .primary(let term) = role else { return nil }
        durable.records.append(record)
        let seq = durable.lastSeq
        var actions: [Action] = [.persist(from: seq, records: [record], logTerm: term)]
        for peer in replicas {
            guard let sent = followers[peer]?.sentSeq else { continue }
            actions += transfer(to: peer, after: Position(logTerm: term, seq: sent))
        }
        return (seq, actions)
    }

    /// The shell's write-ahead log made every batch durable up to the one ending at `position`.
    /// A backup acknowledges it to its primary; a primary counts its own copy.
    public mutating func durable(upTo position: Position) -> [Action] {
        guard position > durablePosition, position <= durable.position else { return [] }
        durablePosition = position
        switch role {
        case .backup: return acknowledgement()
        case .primary: return advanceCommit()
        case .recovering: return []
        }
    }

    /// The shell compacted the records up to `seq` into `snapshot` (the state of `1...seq`).
    public mutating func compacted(upTo seq: UInt64, into snapshot: Snapshot) {
        guard seq > durable.baseSeq, seq <= durable.lastSeq else { return }
        durable.records.removeFirst(Int(seq - durable.baseSeq))
        durable.base = snapshot
        durable.baseSeq = seq
    }

    /// Whether ticks would do nothing until a new input: a backup, or a primary whose backups all
    /// answered and have every record and the commit seq. The shell need not tick it meanwhile.
    public var isIdle: Bool {
        switch role {
        case .backup: true
        case .recovering: false
        case .primary:
            replicas.allSatisfy { peer in
                guard let follower = followers[peer], follower.sentSeq != nil else { return false }
                return follower.matchSeq >= durable.lastSeq && follower.sentCommit >= commitSeq
            }
        }
    }

    /// Time passed: every `retryInterval` a primary resends what a backup has not acknowledged for
    /// a retry interval (and a commit seq it has lacked for ``commitInterval``) and probes backups
    /// that never answered; a recovering one probes again or fetches again.
    public mutating func tick(now: Int64) -> [Action] {
        guard now >= nextRetry else { return [] }
        switch role {
        case .backup:
            return []
        case .recovering(let term):
            nextRetry = now + retryInterval
            if let fetching { return [.send(.fetch(term: term, after: durable.position), to: fetching.holder)] }
            return replicas.filter { answers[$0] == nil }.map { Action.send(.probe(term: term), to: $0) }
        case .primary(let term):
            nextRetry = now + retryInterval
            var actions: [Action] = []
            for peer in replicas {
                let follower = followers[peer] ?? Follower()
                if follower.sentSeq == nil {
                    actions.append(.send(.probe(term: term), to: peer))
                    continue
                }
                let lacksRecords = follower.matchSeq < durable.lastSeq
                guard lacksRecords || follower.sentCommit < commitSeq else {
                    followers[peer]!.behindSince = nil
                    continue
                }
                let since = follower.behindSince ?? now
                followers[peer]!.behindSince = since
                if now - since >= (lacksRecords ? retryInterval : commitInterval), now >= follower.resendAt {
                    let stalled = follower.matchAtResend == follower.matchSeq
                    let backoff = stalled ? min(max(follower.resendBackoff * 2, retryInterval), retryInterval * Self.maxResendBackoff) : retryInterval
                    actions += transfer(to: peer, after: Position(logTerm: term, seq: follower.matchSeq))
                    followers[peer]!.behindSince = now
                    followers[peer]!.resendBackoff = backoff
                    followers[peer]!.resendAt = now + backoff
                    followers[peer]!.matchAtResend = follower.matchSeq
                }
            }
            return actions
        }
    }

    /// `message` arrived from `peer` at `now`. Any message of a newer term makes this node promise
    /// it first (a primary of an older term steps down); requests of an older term are refused.
    public mutating func receive(_ message: Message, from peer: String, now: Int64) -> [Action] {
        let term = message.term
        var actions = term > durable.promisedTerm ? promise(term) : []
        switch message {
        case .probe:
            guard term == durable.promisedTerm else { return refusal(to: peer) }
            guard role == .backup else { return actions }
            primary = peer
            actions.append(.send(.state(term: term, log: durable.position), to: peer))
        case .append(_, let expect, let records, let commit, let lineage):
            guard term == durable.promisedTerm else { return refusal(to: peer) }
            guard role == .backup else { return actions }
            primary = peer
            actions += accept(records, after: expect, term: term, commit: commit, lineage: lineage, from: peer)
        case .snapshot(_, let base, let baseSeq, let records, let commit, let lineage):
            guard term == durable.promisedTerm else { return refusal(to: peer) }
            guard role == .backup else { return actions }
            primary = peer
            actions += install(base: base, baseSeq: baseSeq, records: records, term: term, commit: commit, lineage: lineage)
        case .fetch(_, let after):
            guard term == durable.promisedTerm else { return refusal(to: peer) }
            guard role == .backup else { return actions }
            actions.append(.send(fetchAnswer(term: term, after: after), to: peer))
        case .state(_, let log):
            guard replicas.contains(peer) else { return actions }
            switch role {
            case .recovering(let current) where current == term:
                answers[peer] = log
                if fetching == nil { actions += recover() }
            case .primary(let current) where current == term:
                answers[peer] = log
                actions += bringInLine(peer, at: log)
            default:
                break
            }
        case .accepted(_, let upTo):
            // A resent or overtaken acknowledgement lower than what is known changes nothing.
            guard case .primary(let current) = role, current == term, var follower = followers[peer] else { return actions }
            let before = follower.matchSeq
            follower.matchSeq = max(follower.matchSeq, min(upTo, durable.lastSeq))
            if follower.sentSeq == nil { follower.sentSeq = follower.matchSeq }
            if follower.matchSeq > before { (follower.resendAt, follower.resendBackoff, follower.behindSince) = (0, 0, nil) }
            followers[peer] = follower
            actions += advanceCommit()
        case .refused:
            break
        case .fetched(_, let log, let base, let baseSeq, let records, let lineage):
            guard case .recovering(let current) = role, current == term, fetching?.holder == peer else { return actions }
            actions += adopt(log, base: base, baseSeq: baseSeq, records: records, lineage: lineage, from: peer)
        }
        return actions
    }

    // MARK: Backup

    /// Promises `term`, newer than any promised before; a primary or a recovering one steps down.
    private mutating func promise(_ term: UInt64) -> [Action] {
        durable.promisedTerm = term
        primary = nil
        answers = [:]
        followers = [:]
        fetching = nil
        guard role != .backup else { return [] }
        role = .backup
        return [.deposed(term: term)]
    }

    private func refusal(to peer: String) -> [Action] {
        [.send(.refused(term: durable.promisedTerm), to: peer)]
    }

    /// Takes records from the primary of `term`. A log of an older term takes them only if it ends
    /// exactly where the primary expects (its log is then a prefix of the primary's, so it takes
    /// the primary's lineage too); a log of `term` is already a prefix, so a resent or overtaken
    /// append only adds what is new and never drops anything. Otherwise it tells the primary where
    /// it ends.
    private mutating func accept(
        _ records: [Record], after expect: Position, term: UInt64, commit: UInt64, lineage: [Position], from peer: String
    ) -> [Action] {
        let own = durable.position
        let new: [Record]
        if own.logTerm == term {
            guard expect.seq <= own.seq else { return [.send(.state(term: term, log: own), to: peer)] }
            new = Array(records.dropFirst(Int(own.seq - expect.seq)))
        } else {
            guard expect == own else { return [.send(.state(term: term, log: own), to: peer)] }
            new = records
        }
        durable.switchTerm(to: term, inheriting: lineage)
        var actions: [Action] = []
        if !new.isEmpty || own.logTerm != term {
            durable.records += new
            actions.append(.persist(from: own.seq + 1, records: new, logTerm: term))
        }
        actions += learnCommit(commit)
        // New records are acknowledged once durable; a repeat is answered at once (its
        // acknowledgement may have been lost).
        if new.isEmpty || fault == .ackBeforeDurable { actions += acknowledgement() }
        return actions
    }

    /// Replaces the log with the whole log of the primary of `term` (and its lineage), unless this
    /// log is of `term` already and at least as long (a resent or overtaken snapshot: a log of the
    /// primary's term is never shortened).
    private mutating func install(
        base: Snapshot?, baseSeq: UInt64, records: [Record], term: UInt64, commit: UInt64, lineage: [Position]
    ) -> [Action] {
        let end = baseSeq + UInt64(records.count)
        guard durable.logTerm != term || durable.lastSeq < end else {
            return learnCommit(commit) + acknowledgement()
        }
        durable = Durable(
            promisedTerm: durable.promisedTerm, logTerm: term, base: base, baseSeq: baseSeq, records: records, lineage: lineage)
        durablePosition = durable.position
        commitSeq = min(commitSeq, end)
        let installed: [Action] = [.install(base: base, baseSeq: baseSeq, records: records, logTerm: term)]
        return installed + learnCommit(commit) + acknowledgement()
    }

    /// A holder's answer to a fetch, with this log's lineage: what extends the fetcher's log when
    /// that log is a prefix of this one (of its term and no longer, or within a claim of its
    /// lineage), else this whole log.
    private func fetchAnswer(term: UInt64, after: Position) -> Message {
        let log = durable.position
        if extends(after), let suffix = durable.records(after: after.seq) {
            return .fetched(term: term, log: log, base: nil, baseSeq: after.seq, records: suffix, lineage: durable.lineage)
        }
        return .fetched(
            term: term, log: log, base: durable.base, baseSeq: durable.baseSeq, records: durable.records, lineage: durable.lineage)
    }

    /// Whether a log that ends at `log` is a prefix of this one.
    private func extends(_ log: Position) -> Bool {
        if fault == .appendOverLongerSuffix, durable.lineage.contains(where: { $0.logTerm == log.logTerm }) {
            return log.seq <= durable.lastSeq
        }
        return durable.extends(log)
    }

    /// Tells the primary of the promised term how far this log is durable in that term, if it is.
    private func acknowledgement() -> [Action] {
        guard role == .backup, let primary, durable.logTerm == durable.promisedTerm else { return [] }
        if fault == .ackBeforeDurable {
            return [.send(.accepted(term: durable.promisedTerm, upTo: durable.lastSeq), to: primary)]
        }
        guard durablePosition.logTerm == durable.promisedTerm else { return [] }
        return [.send(.accepted(term: durable.promisedTerm, upTo: durablePosition.seq), to: primary)]
    }

    /// A commit seq from the primary whose log this log is a prefix of, as far as this log goes.
    private mutating func learnCommit(_ commit: UInt64) -> [Action] {
        let known = min(commit, durable.lastSeq)
        guard known > commitSeq else { return [] }
        commitSeq = known
        return [.committed(upTo: known)]
    }

    // MARK: Primary

    /// Once a majority (this node included) said where its log ends: adopts the best log, fetching
    /// it from its holder unless it is this node's own (on a tie this node's own, then the first
    /// holder by name).
    private mutating func recover() -> [Action] {
        guard case .recovering(let term) = role, fetching == nil, answers.count + 1 >= majority else { return [] }
        let own = durable.position
        var best: (holder: String?, log: Position) = (nil, own)
        for peer in replicas {
            if let log = answers[peer], log > best.log { best = (peer, log) }
        }
        guard let holder = best.holder else { return finishRecovery(adopting: own) }
        fetching = Fetch(holder: holder, log: best.log)
        return [.send(.fetch(term: term, after: own), to: holder)]
    }

    /// The holder's log arrived. It is adopted only if it is what the holder said it had: a holder
    /// that restarted since may have lost records it had not made durable, and then the choice is
    /// made again with what it has now.
    private mutating func adopt(
        _ log: Position, base: Snapshot?, baseSeq: UInt64, records: [Record], lineage: [Position], from peer: String
    ) -> [Action] {
        answers[peer] = log
        let expected = fetching?.log
        fetching = nil
        guard log == expected, baseSeq + UInt64(records.count) == log.seq else { return recover() }
        let own = durable.position
        var actions: [Action] = []
        if base == nil, baseSeq == own.seq {
            // The holder found this log a prefix of its own: the records extend it.
            durable.switchTerm(to: log.logTerm, inheriting: lineage)
            durable.records += records
            if !records.isEmpty || own.logTerm != log.logTerm {
                actions.append(.persist(from: own.seq + 1, records: records, logTerm: log.logTerm))
            }
        } else if base != nil || baseSeq == 0 {
            durable = Durable(
                promisedTerm: durable.promisedTerm, logTerm: log.logTerm, base: base, baseSeq: baseSeq, records: records, lineage: lineage)
            durablePosition = log
            commitSeq = min(commitSeq, log.seq)
            actions.append(.install(base: base, baseSeq: baseSeq, records: records, logTerm: log.logTerm))
        } else {
            return recover()
        }
        return actions + finishRecovery(adopting: log)
    }

    /// Serves: the log (ending at `log`, the adopted one) becomes this term's, marked by an empty
    /// batch of the term; backups that answered are brought in line, the others probed on `tick`.
    private mutating func finishRecovery(adopting log: Position) -> [Action] {
        guard case .recovering(let term) = role else { return [] }
        role = .primary(term: term)
        durable.switchTerm(to: term)
        var actions: [Action] = [.persist(from: durable.lastSeq + 1, records: [], logTerm: term), .serving(term: term)]
        for peer in replicas {
            followers[peer] = Follower()
            if let answer = answers[peer] { actions += bringInLine(peer, at: answer) }
        }
        return actions + advanceCommit()
    }

    /// Sends `peer`, whose log ends at `log`, what makes it a prefix of this log: the records after
    /// it when it is a prefix already (of this term, or within a claim of this log's lineage, such
    /// as the adopted log's), else the whole log. A log of the adopted term that is longer than
    /// the adopted log holds records this primary did not adopt: appending after them would keep them.
    private mutating func bringInLine(_ peer: String, at log: Position) -> [Action] {
        transfer(to: peer, after: extends(log) ? log : nil)
    }

    /// Sends `peer` the records after `log` (an append expecting its log to end there; with this
    /// log's lineage when `log` is of an older term), or the whole log when `log` is nil or the
    /// records after it are compacted.
    private mutating func transfer(to peer: String, after log: Position?) -> [Action] {
        guard case .primary(let term) = role else { return [] }
        let message: Message
        if let log, let records = durable.records(after: log.seq) {
            let lineage = log.logTerm == term ? [] : durable.lineage
            message = .append(term: term, expect: log, records: records, commit: commitSeq, lineage: lineage)
        } else {
            message = .snapshot(
                term: term, base: durable.base, baseSeq: durable.baseSeq, records: durable.records, commit: commitSeq,
                lineage: durable.lineage)
        }
        followers[peer, default: Follower()].sentSeq = durable.lastSeq
        followers[peer, default: Follower()].sentCommit = commitSeq
        followers[peer, default: Follower()].behindSince = nil
        return [.send(message, to: peer)]
    }

    /// Commits the highest seq a majority has durable in this term (this node's own copy counts
    /// once its switch to the term is durable).
    private mutating func advanceCommit() -> [Action] {
        guard case .primary(let term) = role else { return [] }
        let own = durablePosition.logTerm == term ? durablePosition.seq : 0
        let stored = ([own] + replicas.map { followers[$0]?.matchSeq ?? 0 }).sorted(by: >)
        let candidate = min(stored[majority - 1], durable.lastSeq)
        guard candidate > commitSeq else { return [] }
        commitSeq = candidate
        return [.committed(upTo: candidate)]
    }
}
