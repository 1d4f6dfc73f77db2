import ChorusActorSystem
import ChorusCluster
import ChorusModel
import ChorusStorage
import Distributed
import Foundation
import Logging

/// What a replicated actor keeps around its ``KeyReplica``.
struct ReplicaShell<Record: Sendable & Equatable, Copy: Sendable>: Sendable {
    /// The newest promise logged, the LSN of its frame (sends wait until it is durable), and the
    /// newest promise frame known durable.
    var persistedPromise: UInt64 = 0
    var promiseLSN: UInt64 = 0
    var durablePromiseLSN: UInt64 = 0
    /// The log term of the last batch logged.
    var persistedLogTerm: UInt64 = 0
    /// Commits waiting for their seq to be committed by a majority.
    var commitWaiters: [(seq: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
    /// Replication messages from peers, handled one at a time in arrival order.
    var inbox: [(message: KeyReplica<Record, ReplicaBase>.Message, copy: Copy?, peer: String)] = []
    var processingInbox = false
    /// Runs the machine's ticks while this replica is primary or recovering.
    var ticking: Task<Void, Never>?
    /// The replicas this replica recovers from or serves with, since it became primary.
    var servingReplicas: Set<String> = []
    /// When it last became primary of a term (and started recovering).
    var termStarted: ContinuousClock.Instant?
    /// Whether a whole log is being stored: the machine has it already, the actor's state not
    /// yet, so no call may be served meanwhile.
    var installing = false
    /// What the admin view shows of this replica (on the node's ``ReplicaBoard`` while the actor lives).
    var gauge: ReplicaGauge?

    init(persistedTerms: ReplicaTerms? = nil, gauge: ReplicaGauge? = nil) {
        persistedPromise = persistedTerms?.promisedTerm ?? 0
        persistedLogTerm = persistedTerms?.logTerm ?? 0
        self.gauge = gauge
    }
}

/// A proposal in flight: its term, and the machine's actions other than logging it.
struct ReplicaProposal<Record: Sendable & Equatable>: Sendable {
    var term: UInt64
    var actions: [KeyReplica<Record, ReplicaBase>.Action]
}

/// An actor whose log is replicated (channels and users; docs/replication.md, "Wiring"): the
/// shell of its ``KeyReplica``, which this protocol's extension runs and whose actions it carries
/// out, in order. A primary proposes each record as it logs it and acknowledges it once a
/// majority has it durable; a backup logs what it accepts as one ``ReplicaBatch`` frame and
/// applies it; a replica that must take a whole log installs it at once. The actor is served only
/// by a primary that has recovered. The conforming actor supplies what depends on its state.
protocol ReplicatedActor: DistributedActor where ActorSystem == ClusterActorSystem {
    associatedtype Record: Codable & Sendable & Hashable & RecordCodable
    /// The whole actor, as a snapshot or a fetched whole log carries it.
    associatedtype Copy: Codable & Sendable

    var replica: KeyReplica<Record, ReplicaBase>? { get set }
    var replicaShell: ReplicaShell<Record, Copy> { get set }
    var env: ActorEnvironment { get }
    /// The key, as placement and logs name it.
    var replicaIdentity: ActorIdentity { get }
    /// Where the actor's log ends (its state's last seq).
    var logSeq: UInt64 { get }
    /// Whether the replica holds nothing of the key yet (it was never created).
    var holdsNothing: Bool { get }
    /// The error of a call for a key that does not exist.
    var notFound: ChatError { get }

    /// Logs `batch` as one frame and records its terms in the state; returns its LSN.
    func logReplicaBatch(_ batch: ReplicaBatch<Record>) throws -> UInt64
    /// Applies records the machine accepted, right after they were logged.
    func applyReplicated(_ records: [Record]) throws
    /// Replaces the state with a whole log (`copy`, or `records` from seq 1) of term `logTerm`,
    /// durably, before anything else happens.
    func installLog(copy: Copy?, records: [Record], logTerm: UInt64) async throws
    /// The whole actor, now.
    func materialize() throws -> Copy
    /// Records up to `seq` are committed (`isPrimary`: this replica serves them). Said again with
    /// the commit seq when the replica starts serving: what it learned committed as a backup (or
    /// as a deposed primary) is the new primary's to hand on.
    func didCommit(upTo seq: UInt64, isPrimary: Bool)
    /// `message` (and the copy it carries) as it crosses the wire.
    func envelope(_ message: KeyReplica<Record, ReplicaBase>.Message, copy: Copy?) -> ReplicaEnvelope
}

/// How many committed records a replica keeps to bring a lagging backup in line by appends;
/// older ones are compacted, and a backup that needs them gets the whole actor.
let replicaRetainedRecords: UInt64 = 1024

extension KeyReplica where Snapshot == ReplicaBase {
    /// The machine of a replica that (re)started with a state at `seq` and `terms`: its log is
    /// compacted into the state.
    init(restarting seq: UInt64, terms: ReplicaTerms?, replication: ReplicationContext) {
        let terms = terms ?? ReplicaTerms()
        let durable = Durable(
            promisedTerm: terms.promisedTerm, logTerm: terms.logTerm, base: seq > 0 ? ReplicaBase(seq: seq) : nil, baseSeq: seq,
            lineage: terms.lineage)
        self.init(me: replication.me, durable: durable, retryInterval: max(1, Int64(replication.retryInterval / .milliseconds(1))))
    }
}

extension ReplicatedActor {
    typealias ReplicaAction = KeyReplica<Record, ReplicaBase>.Action
    typealias ReplicaRole = KeyReplica<Record, ReplicaBase>.Role
    typealias ReplicaPosition = KeyReplica<Record, ReplicaBase>.Position

    private var nowMillis: Int64 { env.clock.now().milliseconds }

    var movingError: RemoteCallError {
        RemoteCallError(.moving, "\(replicaIdentity) is changing its primary")
    }

    // MARK: Serving

    /// Makes sure this replica serves the key: a backup whose node now owns the key becomes
    /// primary of a new term, recovers from a majority of the key's replicas, and serves; calls
    /// wait meanwhile, and fail with 503 `CLUSTER_UNAVAILABLE` if that takes longer than the
    /// recovery deadline. When a primary or a recovering one starts a new term instead of keeping
    /// its own: ``needsNewTerm(role:replicas:serving:recoveringFor:deadline:)``. `creating`: the key
    /// may not exist yet.
    func ensureServing(creating: Bool = false) async throws {
        guard let replication = env.replication, replica != nil else {
            if holdsNothing && !creating { throw notFound }
            return
        }
        let replicas = replication.placement.replicas(of: replicaIdentity, count: replication.factor)
        let needsTerm = Self.needsNewTerm(
            role: replica!.role, replicas: Set(replicas), serving: replicaShell.servingReplicas,
            recoveringFor: replicaShell.termStarted.map { .now - $0 }, deadline: replication.recoveryDeadline)
        if needsTerm {
            let epoch = replication.placement.epoch
            let promised = replica!.durable.promisedTerm
            // A newer ring's owner has taken the key: this node's ring is behind.
            guard promised >> 32 <= epoch else { throw movingError }
            let term = promised >> 32 == epoch ? promised + 1 : epoch << 32 | 1
            replicaShell.servingReplicas = Set(replicas)
            replicaShell.termStarted = .now
            try await perform(replica!.becomePrimary(term: term, replicas: replicas, now: nowMillis))
            startTicking()
        }
        let deadline = ContinuousClock.now + replication.recoveryDeadline
        while true {
            if case .primary = replica!.role, !replicaShell.installing { break }
            guard ContinuousClock.now < deadline else {
                throw ChatError(.clusterUnavailable, "\(replicaIdentity) cannot reach a majority of its replicas")
            }
            try await Task.sleep(for: .milliseconds(2))
        }
        if holdsNothing && !creating { throw notFound }
    }

    /// Whether a replica in `role` must start a new term to serve the key's `replicas` under the
    /// current ring, having become primary with `serving` (`recoveringFor`: how long ago).
    ///
    /// - A backup: always (its node owns the key now).
    /// - A primary: when the ring added a replica it does not serve with. One whose replicas only
    ///   shrank keeps its term and its calls in flight: a majority of its set is still what commits.
    /// - A recovering one: when the set changed either way, or when it has been recovering for the
    ///   recovery deadline. It may be waiting for the replica it chose to fetch the best log from,
    ///   and that node may have died after it answered: it would wait until that node came back
    ///   (a drill saw a channel unavailable for 9.7 s, until the killed node rejoined). A new term
    ///   probes again and chooses among the replicas that answer; the replication simulator's
    ///   metadata service starts one in the same case (docs/replication.md).
    static func needsNewTerm(
        role: ReplicaRole, replicas: Set<String>, serving: Set<String>, recoveringFor: Duration?, deadline: Duration
    ) -> Bool {
        switch role {
        case .backup: true
        case .primary: !replicas.isSubset(of: serving)
        case .recovering: replicas != serving || (recoveringFor ?? .zero) >= deadline
        }
    }

    /// The actor's state was replaced from outside replication (a hand-off stored a newer copy of
    /// the key here): its log restarts from the state's seq and terms; calls waiting on the old
    /// log fail with `moving` (their clients retry), and the next call recovers as primary.
    func restartReplica(at seq: UInt64, terms: ReplicaTerms?) {
        guard let replication = env.replication else { return }
        let waiters = replicaShell.commitWaiters
        replicaShell.ticking?.cancel()
        replicaShell = ReplicaShell(persistedTerms: terms, gauge: replicaShell.gauge)
        replica = KeyReplica(restarting: seq, terms: terms, replication: replication)
        replicaShell.gauge?.update(from: replica!)
        for waiter in waiters { waiter.continuation.resume(throwing: movingError) }
    }

    // MARK: Proposals

    /// Proposes `record` to the replicas, or nil when the key is not replicated; throws `moving`
    /// when this replica is not serving (its caller retries on the new primary).
    func propose(_ record: Record) throws -> ReplicaProposal<Record>? {
        guard replica != nil else { return nil }
        guard case .primary(let term) = replica!.role, !replicaShell.installing, let (seq, actions) = replica!.propose(record) else {
            throw movingError
        }
        precondition(seq == logSeq + 1, "the replica's log and the actor's state disagree")
        return ReplicaProposal(term: term, actions: actions.filter { if case .persist = $0 { false } else { true } })
    }

    /// Sends a logged proposal, reports it durable here once it is, and returns once a majority
    /// of the replicas has it.
    func awaitReplicated(_ proposal: ReplicaProposal<Record>, lsn: UInt64, seq: UInt64) async throws {
        try await perform(proposal.actions)
        try await env.journal.waitDurable(lsn)
        try await perform(replica?.durable(upTo: ReplicaPosition(logTerm: proposal.term, seq: seq)) ?? [])
        try await waitCommitted(seq)
    }

    /// Returns once `seq` is committed by a majority (this replica serving).
    func waitCommitted(_ seq: UInt64) async throws {
        guard case .primary = replica?.role else { throw movingError }
        guard replica!.commitSeq < seq else { return }
        try await withCheckedThrowingContinuation { replicaShell.commitWaiters.append((seq, $0)) }
    }

    // MARK: Messages from peers

    /// Queues a replication message from `peer`; they are handled one at a time, in order (an
    /// install must be stored before the next message is looked at).
    func enqueueReplica(_ message: KeyReplica<Record, ReplicaBase>.Message, copy: Copy?, from peer: String) {
        replicaShell.inbox.append((message, copy, peer))
        guard !replicaShell.processingInbox else { return }
        replicaShell.processingInbox = true
        Task { await self.whenLocal { await $0.processInbox() } }
    }

    private func processInbox() async {
        while !replicaShell.inbox.isEmpty {
            let (message, copy, peer) = replicaShell.inbox.removeFirst()
            guard replica != nil else { continue }
            do {
                try await perform(replica!.receive(message, from: peer, now: nowMillis), copy: copy)
            } catch {
                env.replication?.logger.warning(
                    "a replication step failed", metadata: ["replica.key": "\(replicaIdentity)", "cluster.peer": "\(peer)", "error": "\(error)"])
            }
        }
        replicaShell.processingInbox = false
    }

    /// Resends and probes every retry interval while this replica is primary or recovering and has
    /// something to resend or probe.
    private func startTicking() {
        guard replicaShell.ticking == nil, let replication = env.replication else { return }
        let clock = env.clock
        // Weak between ticks: a task that held the actor would keep a passivated or replaced
        // actor alive, and its identity taken.
        replicaShell.ticking = Task { [weak self] in
            while !Task.isCancelled {
                try? await clock.sleep(for: replication.retryInterval)
                guard let self, await self.whenLocal({ await $0.tick() }) == true else { return }
            }
        }
    }

    /// One tick of the machine; false (and no more ticks) once it has nothing to resend or probe
    /// (``perform(_:copy:)`` starts them again when it has).
    private func tick() async -> Bool {
        guard replica != nil, !replica!.isIdle else {
            replicaShell.ticking = nil
            return false
        }
        // Mid-install the state is not the machine's log yet: a snapshot sent now would be wrong.
        guard !replicaShell.installing else { return true }
        try? await perform(replica!.tick(now: nowMillis))
        return true
    }

    // MARK: Actions

    /// Carries out a step's actions in order, after its promise (if it made one) is durable.
    /// `copy` is the actor an incoming snapshot or fetched log carried.
    func perform(_ actions: [ReplicaAction], copy: Copy? = nil) async throws {
        guard let replication = env.replication, replica != nil else { return }
        if replica!.durable.promisedTerm > replicaShell.persistedPromise {
            replicaShell.promiseLSN = try appendReplicaBatch(from: logSeq + 1, records: [], logTerm: replicaShell.persistedLogTerm)
        }
        let promiseLSN = replicaShell.promiseLSN
        if promiseLSN > replicaShell.durablePromiseLSN {
            try await env.journal.waitDurable(promiseLSN)
            replicaShell.durablePromiseLSN = max(replicaShell.durablePromiseLSN, promiseLSN)
        }
        for action in actions {
            switch action {
            case .send(let message, let peer):
                replication.sender.send(try wireEnvelope(message), to: peer)
            case .persist(let from, let records, let logTerm):
                try persistBatch(from: from, records: records, logTerm: logTerm)
            case .install(_, _, let records, let logTerm):
                replicaShell.installing = true
                defer { replicaShell.installing = false }
                let previous = ReplicaPosition(logTerm: replicaShell.persistedLogTerm, seq: logSeq)
                try await installLog(copy: copy, records: records, logTerm: logTerm)
                replicaShell.persistedLogTerm = logTerm
                logInstall(replacing: previous, logTerm: logTerm, logger: replication.logger)
            case .serving(let term):
                replication.logger.debug("serving as primary", metadata: ["replica.key": "\(replicaIdentity)", "replica.term": "\(term)", "replica.seq": "\(logSeq)"])
                didCommit(upTo: replica!.commitSeq, isPrimary: true)
            case .committed(let seq):
                committed(upTo: seq)
            case .deposed(let term):
                deposed(by: term)
            }
        }
        guard let replica else { return }
        replicaShell.gauge?.update(from: replica)
        if !replica.isIdle { startTicking() }
    }

    /// Says what an install replaced: records of the log it had that the installed log's lineage
    /// shows it does not hold (a deposed primary's records no majority acknowledged) are discarded.
    private func logInstall(replacing previous: ReplicaPosition, logTerm: UInt64, logger: Logger) {
        var metadata: Logger.Metadata = [
            "replica.key": "\(replicaIdentity)", "replica.seq": "\(logSeq)", "replica.log_term": "\(logTerm)",
            "replica.previous": "\(previous)",
        ]
        guard let kept = replica?.durable.agreement(with: previous) else {
            logger.info("installed the primary's log (how much of the previous one it holds is unknown)", metadata: metadata)
            return
        }
        guard kept < previous.seq else {
            logger.info("installed the primary's log", metadata: metadata)
            return
        }
        metadata["replica.discarded"] = "\(kept + 1)...\(previous.seq)"
        logger.warning("discarded records no majority acknowledged: the installed primary's log does not hold them", metadata: metadata)
    }

    /// Logs a batch of the replica's log (or only its terms) as one frame; returns its LSN.
    private func appendReplicaBatch(from: UInt64, records: [Record], logTerm: UInt64) throws -> UInt64 {
        let promised = replica!.durable.promisedTerm
        let lsn = try logReplicaBatch(ReplicaBatch(promisedTerm: promised, logTerm: logTerm, from: from, records: records))
        replicaShell.persistedPromise = max(replicaShell.persistedPromise, promised)
        replicaShell.persistedLogTerm = logTerm
        return lsn
    }

    /// Logs and applies records the machine accepted (a backup's, or a recovering primary's
    /// adopted ones), and reports them durable once they are.
    private func persistBatch(from: UInt64, records: [Record], logTerm: UInt64) throws {
        precondition(records.isEmpty || from == logSeq + 1, "a batch must extend the actor's log")
        let lsn = try appendReplicaBatch(from: from, records: records, logTerm: logTerm)
        try applyReplicated(records)
        let position = ReplicaPosition(logTerm: logTerm, seq: logSeq)
        let journal = env.journal
        Task {
            do {
                try await journal.waitDurable(lsn)
                try await self.whenLocal { try await $0.perform($0.replica?.durable(upTo: position) ?? []) }
            } catch {
                self.env.replication?.logger.warning("a replicated batch did not become durable", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Records up to `seq` are committed: acknowledge their commits, tell the actor, and compact
    /// what no lagging backup should still need.
    private func committed(upTo seq: UInt64) {
        var isPrimary = false
        if case .primary = replica?.role { isPrimary = true }
        didCommit(upTo: seq, isPrimary: isPrimary)
        let due = replicaShell.commitWaiters.filter { $0.seq <= seq }
        replicaShell.commitWaiters.removeAll { $0.seq <= seq }
        for waiter in due { waiter.continuation.resume() }
        if let base = replica?.durable.baseSeq, seq > base + 2 * replicaRetainedRecords {
            let upTo = seq - replicaRetainedRecords
            replica!.compacted(upTo: upTo, into: ReplicaBase(seq: upTo))
        }
    }

    /// Another replica serves a newer term: calls waiting here fail with `moving` (their clients
    /// retry, idempotently, on the new primary, which may still commit them).
    private func deposed(by term: UInt64) {
        env.replication?.logger.info("no longer primary", metadata: ["replica.key": "\(replicaIdentity)", "replica.term": "\(term)"])
        let waiters = replicaShell.commitWaiters
        replicaShell.commitWaiters = []
        for waiter in waiters { waiter.continuation.resume(throwing: movingError) }
    }

    // MARK: Snapshots

    /// `message` as it crosses the wire: a snapshot or fetched whole log carries the actor
    /// itself (its base is a marker), as of now; the message then claims exactly that.
    private func wireEnvelope(_ message: KeyReplica<Record, ReplicaBase>.Message) throws -> ReplicaEnvelope {
        let now = ReplicaBase(seq: logSeq)
        switch message {
        case .snapshot(let term, let base, let baseSeq, _, let commit, let lineage) where base != nil || baseSeq > 0:
            return envelope(
                .snapshot(term: term, base: now, baseSeq: now.seq, records: [], commit: commit, lineage: lineage), copy: try materialize())
        case .fetched(let term, let log, let base, _, _, let lineage) where base != nil:
            return envelope(.fetched(term: term, log: log, base: now, baseSeq: now.seq, records: [], lineage: lineage), copy: try materialize())
        default:
            return envelope(message, copy: nil)
        }
    }
}
