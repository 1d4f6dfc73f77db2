import ChorusActorSystem
import ChorusCluster
import ChorusModel
import ChorusStorage
import Distributed
import Foundation

/// What a channel actor keeps around its ``ChannelReplicaMachine``.
struct ReplicaShell: Sendable {
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
    var inbox: [(envelope: ReplicaEnvelope, peer: String)] = []
    var processingInbox = false
    /// Runs the machine's ticks while this replica is primary or recovering.
    var ticking: Task<Void, Never>?
    /// The replicas this replica recovers from or serves with, since it became primary.
    var servingReplicas: Set<String> = []

    init(persistedTerms: ReplicaTerms? = nil) {
        persistedPromise = persistedTerms?.promisedTerm ?? 0
        persistedLogTerm = persistedTerms?.logTerm ?? 0
    }
}

/// The shell of a channel's replication (docs/replication.md, "Wiring"): the channel actor runs
/// its ``ChannelReplicaMachine`` and carries out what it asks, in order. A primary proposes each
/// record as it logs it and acknowledges it once a majority has it durable; a backup logs what
/// it accepts as ``ReplicaBatch`` frames and applies it to its state (without publishing events:
/// it keeps them for resumes after a failover); a replica that must take a whole log installs it
/// in its store in one transaction. A channel is served only by a primary that has recovered.
extension ChannelActor {
    typealias ReplicaAction = ChannelReplicaMachine.Action
    typealias ReplicaPosition = ChannelReplicaMachine.Position

    /// A proposal in flight: its term, and the machine's actions other than logging it.
    struct Proposal {
        var term: UInt64
        var actions: [ReplicaAction]
    }

    /// How many committed records a replica keeps to bring a lagging backup in line by appends;
    /// older ones are compacted, and a backup that needs them gets the whole channel.
    static let retainedRecords: UInt64 = 1024

    /// The machine of a replica that restarted with `state` (its log compacted into the state).
    static func machine(for state: ChannelState, replication: ReplicationContext) -> ChannelReplicaMachine {
        let terms = state.replicaTerms ?? ReplicaTerms(promisedTerm: 0, logTerm: 0)
        let seq = state.lastSeq
        let durable = ChannelReplicaMachine.Durable(
            promisedTerm: terms.promisedTerm, logTerm: terms.logTerm, base: seq > 0 ? ReplicaBase(seq: seq) : nil, baseSeq: seq)
        return ChannelReplicaMachine(me: replication.me, durable: durable, retryInterval: max(1, Int64(replication.retryInterval / .milliseconds(1))))
    }

    private var nowMillis: Int64 { env.clock.now().milliseconds }

    private var movingError: RemoteCallError {
        RemoteCallError(.moving, "channel \(state.info.id) is changing its primary")
    }

    // MARK: Serving

    /// Makes sure this replica serves the channel: a backup whose node now owns the key (or a
    /// primary whose key gained replicas with a ring change) becomes primary of a new term,
    /// recovers from a majority of the key's replicas, and serves; calls wait meanwhile, and fail
    /// with 503 `CLUSTER_UNAVAILABLE` if that takes longer than the recovery deadline. A primary
    /// whose replicas only shrank keeps its term (and its calls in flight): a majority of its
    /// replicas is still what commits. `creating`: the channel may not exist yet.
    func ensureServing(creating: Bool = false) async throws {
        guard let replication = env.replication, replica != nil else {
            if state.isPlaceholder && !creating { throw ChatError.channelNotFound(state.info.id) }
            return
        }
        let replicas = replication.placement.replicas(of: Self.identity(of: state.info.id), count: replication.factor)
        let needsTerm =
            switch replica!.role {
            case .primary, .recovering: !Set(replicas).isSubset(of: replicaShell.servingReplicas)
            case .backup: true
            }
        if needsTerm {
            let epoch = replication.placement.epoch
            let promised = replica!.durable.promisedTerm
            // A newer ring's owner has taken the key: this node's ring is behind.
            guard promised >> 32 <= epoch else { throw movingError }
            let term = promised >> 32 == epoch ? promised + 1 : epoch << 32 | 1
            replicaShell.servingReplicas = Set(replicas)
            try await perform(replica!.becomePrimary(term: term, replicas: replicas, now: nowMillis))
            startTicking()
        }
        let deadline = ContinuousClock.now + replication.recoveryDeadline
        while true {
            if case .primary = replica!.role { break }
            guard ContinuousClock.now < deadline else {
                throw ChatError(.clusterUnavailable, "channel \(state.info.id) cannot reach a majority of its replicas")
            }
            try await Task.sleep(for: .milliseconds(2))
        }
        if state.isPlaceholder && !creating { throw ChatError.channelNotFound(state.info.id) }
    }

    /// Creates the channel on this replica (its primary): the `created` record is seq 1 of the
    /// log, acknowledged once a majority of the replicas has it.
    func create(_ info: ChannelInfo, members: [Member]) async throws {
        try await ensureServing(creating: true)
        guard state.isPlaceholder else { throw ChatError(.invalidRequest, "channel \(info.id) already exists") }
        try await commit(.created(info: info, members: members)) { _, _ in () }
    }

    // MARK: Proposals

    /// Proposes `record` to the replicas, or nil when the channel is not replicated; throws
    /// `moving` when this replica is not serving (its caller retries on the new primary).
    func propose(_ record: ChannelRecord) throws -> Proposal? {
        guard replica != nil else { return nil }
        guard case .primary(let term) = replica!.role, let (seq, actions) = replica!.propose(record) else { throw movingError }
        precondition(seq == state.lastSeq + 1, "the replica's log and the channel's state disagree")
        return Proposal(term: term, actions: actions.filter { if case .persist = $0 { false } else { true } })
    }

    /// Sends a logged proposal, reports it durable here once it is, and returns once a majority
    /// of the replicas has it.
    func awaitReplicated(_ proposal: Proposal, lsn: UInt64, seq: UInt64) async throws {
        try await perform(proposal.actions)
        try await env.journal.waitDurable(lsn)
        try await perform(replica?.durable(upTo: ReplicaPosition(logTerm: proposal.term, seq: seq)) ?? [])
        try await waitCommitted(seq)
    }

    /// Returns once everything up to `seq` (logged at `lsn`) may be acknowledged: durable here,
    /// or committed by a majority when replicated.
    func awaitAcknowledgeable(lsn: UInt64, seq: UInt64) async throws {
        guard replica != nil else {
            try await env.journal.waitDurable(lsn)
            publishDurable(upTo: lsn)
            return
        }
        try await waitCommitted(seq)
    }

    private func waitCommitted(_ seq: UInt64) async throws {
        guard case .primary = replica?.role else { throw movingError }
        guard replica!.commitSeq < seq else { return }
        try await withCheckedThrowingContinuation { replicaShell.commitWaiters.append((seq, $0)) }
    }

    // MARK: Messages from peers

    /// Queues a replication message from `peer`; they are handled one at a time, in order (an
    /// install must be stored before the next message is looked at).
    func enqueueReplica(_ envelope: ReplicaEnvelope, from peer: String) {
        replicaShell.inbox.append((envelope, peer))
        guard !replicaShell.processingInbox else { return }
        replicaShell.processingInbox = true
        Task { await self.processInbox() }
    }

    private func processInbox() async {
        while !replicaShell.inbox.isEmpty {
            let (envelope, peer) = replicaShell.inbox.removeFirst()
            guard replica != nil else { continue }
            do {
                try await perform(replica!.receive(envelope.message, from: peer, now: nowMillis), copy: envelope.copy)
            } catch {
                env.replication?.logger.warning(
                    "a replication step failed", metadata: ["channel.id": "\(state.info.id)", "cluster.peer": "\(peer)", "error": "\(error)"])
            }
        }
        replicaShell.processingInbox = false
    }

    /// Resends and probes every retry interval while this replica is primary or recovering.
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

    /// One tick of the machine; false (and no more ticks) once this replica is a backup.
    private func tick() async -> Bool {
        guard replica != nil, replica!.role != .backup else {
            replicaShell.ticking = nil
            return false
        }
        try? await perform(replica!.tick(now: nowMillis))
        return true
    }

    // MARK: Actions

    /// Carries out a step's actions in order, after its promise (if it made one) is durable.
    /// `copy` is the channel an incoming snapshot or fetched log carried.
    func perform(_ actions: [ReplicaAction], copy: ChannelCopy? = nil) async throws {
        guard let replication = env.replication, replica != nil else { return }
        if replica!.durable.promisedTerm > replicaShell.persistedPromise {
            replicaShell.promiseLSN = try appendReplicaBatch(from: state.lastSeq + 1, records: [], logTerm: replicaShell.persistedLogTerm)
        }
        let promiseLSN = replicaShell.promiseLSN
        if promiseLSN > replicaShell.durablePromiseLSN {
            try await env.journal.waitDurable(promiseLSN)
            replicaShell.durablePromiseLSN = max(replicaShell.durablePromiseLSN, promiseLSN)
        }
        for action in actions {
            switch action {
            case .send(let message, let peer):
                replication.sender.send(try envelope(message), to: peer)
            case .persist(let from, let records, let logTerm):
                try persistBatch(from: from, records: records, logTerm: logTerm)
            case .install(_, _, let records, let logTerm):
                try await install(copy: copy, records: records, logTerm: logTerm)
            case .serving(let term):
                replication.logger.debug("serving as primary", metadata: ["channel.id": "\(state.info.id)", "replica.term": "\(term)"])
            case .committed(let seq):
                committed(upTo: seq)
            case .deposed(let term):
                deposed(by: term)
            }
        }
    }

    /// Logs a batch of the replica's log (or only its terms) as one frame; returns its LSN.
    private func appendReplicaBatch(from: UInt64, records: [ChannelRecord], logTerm: UInt64) throws -> UInt64 {
        let promised = replica!.durable.promisedTerm
        let batch = ReplicaBatch(promisedTerm: promised, logTerm: logTerm, from: from, records: records)
        let lsn = try env.journal.append(.replica(state.info.id, batch))
        replicaShell.persistedPromise = max(replicaShell.persistedPromise, promised)
        replicaShell.persistedLogTerm = logTerm
        state.setReplicaTerms(ReplicaTerms(promisedTerm: promised, logTerm: logTerm))
        appliedLSN = lsn
        env.directory.noteCommitted(state.info.id, lsn: lsn)
        return lsn
    }

    /// Logs and applies records the machine accepted (a backup's, or a recovering primary's
    /// adopted ones), keeping their events for resumes, and reports them durable once they are.
    private func persistBatch(from: UInt64, records: [ChannelRecord], logTerm: UInt64) throws {
        precondition(records.isEmpty || from == state.lastSeq + 1, "a batch must extend the channel's log")
        let lsn = try appendReplicaBatch(from: from, records: records, logTerm: logTerm)
        for record in records {
            if let target = record.changedMessage { try ensureLoaded(target) }
            let seq = state.apply(record)
            if let event = state.event(reporting: record, seq: seq) { eventLog.append(event) }
        }
        let position = ReplicaPosition(logTerm: logTerm, seq: state.lastSeq)
        let journal = env.journal
        Task {
            do {
                try await journal.waitDurable(lsn)
                try await self.perform(self.replica?.durable(upTo: position) ?? [])
            } catch {
                self.env.replication?.logger.warning("a replicated batch did not become durable", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Replaces the channel with the whole log of a primary: `copy` (a materialized snapshot), or
    /// `records` from seq 1. Stored in one transaction before anything else happens.
    private func install(copy: ChannelCopy?, records: [ChannelRecord], logTerm: UInt64) async throws {
        var installed: ChannelState
        if let copy {
            installed = ChannelState(metadata: copy.metadata, recent: copy.messages, hasOlderInStore: false)
        } else {
            installed = ChannelState(placeholder: state.info.id)
            for record in records { installed.apply(record) }
        }
        installed.setReplicaTerms(ReplicaTerms(promisedTerm: replica!.durable.promisedTerm, logTerm: logTerm))
        if let store = env.store {
            // Records of the channel logged before this point are of the replaced log: recovery skips them.
            let lsn = env.journal.nextLSN - 1
            let messages = installed.memoryMessages(after: nil, before: nil)
            try await store.replaceChannel(
                installed.info.id, snapshot: try JSONEncoder().encode(installed.metadata), messages: messages, appliedLSN: lsn)
            let newest = Array(messages.suffix(env.messageWindow))
            installed = ChannelState(metadata: installed.metadata, recent: newest, hasOlderInStore: messages.count > newest.count)
            appliedLSN = lsn
            storedLSN = lsn
            env.directory.noteStored(installed.info.id, lsn: lsn)
        }
        env.replication?.logger.info(
            "installed the primary's log", metadata: ["channel.id": "\(installed.info.id)", "replica.seq": "\(installed.lastSeq)", "replica.log_term": "\(logTerm)"])
        state = installed
        replicaShell.persistedLogTerm = logTerm
        eventLog = ChannelEventLog(capacity: env.eventLogCapacity, floor: state.lastSeq)
        publishedSeq = state.lastSeq
    }

    /// Records up to `seq` are committed: acknowledge their commits, publish their events (a
    /// backup only notes them: it has no edges to serve, and its event log has them), and
    /// compact what no lagging backup should still need.
    private func committed(upTo seq: UInt64) {
        var isPrimary = false
        if case .primary = replica?.role { isPrimary = true }
        publishCommitted(upTo: seq, toEdges: isPrimary)
        let due = replicaShell.commitWaiters.filter { $0.seq <= seq }
        replicaShell.commitWaiters.removeAll { $0.seq <= seq }
        for waiter in due { waiter.continuation.resume() }
        if let base = replica?.durable.baseSeq, seq > base + 2 * Self.retainedRecords {
            let upTo = seq - Self.retainedRecords
            replica!.compacted(upTo: upTo, into: ReplicaBase(seq: upTo))
        }
    }

    /// Another replica serves a newer term: calls waiting here fail with `moving` (their clients
    /// retry, idempotently, on the new primary, which may still commit them).
    private func deposed(by term: UInt64) {
        env.replication?.logger.info("no longer primary", metadata: ["channel.id": "\(state.info.id)", "replica.term": "\(term)"])
        let waiters = replicaShell.commitWaiters
        replicaShell.commitWaiters = []
        for waiter in waiters { waiter.continuation.resume(throwing: movingError) }
    }

    // MARK: Snapshots

    /// `message` as it crosses the wire: a snapshot or fetched whole log carries the channel
    /// itself (its base is a marker), as of now; the message then claims exactly that.
    private func envelope(_ message: ChannelReplicaMessage) throws -> ReplicaEnvelope {
        let id = state.info.id
        let now = ReplicaBase(seq: state.lastSeq)
        switch message {
        case .snapshot(let term, let base, let baseSeq, _, let commit) where base != nil || baseSeq > 0:
            return ReplicaEnvelope(
                channel: id, message: .snapshot(term: term, base: now, baseSeq: now.seq, records: [], commit: commit), copy: try materialize())
        case .fetched(let term, let log, let base, _, _) where base != nil:
            return ReplicaEnvelope(
                channel: id, message: .fetched(term: term, log: log, base: now, baseSeq: now.seq, records: []), copy: try materialize())
        default:
            return ReplicaEnvelope(channel: id, message: message, copy: nil)
        }
    }

    /// The whole channel: its metadata and every message, from the store overlaid with memory.
    private func materialize() throws -> ChannelCopy {
        var messages: [MessageID: Message] = [:]
        if let store = env.store {
            var after: MessageID?
            while true {
                let page = try store.messages(in: state.info.id, after: after, before: nil, limit: 5_000, fromNewest: false)
                for message in page { messages[message.id] = message }
                guard page.count == 5_000, let last = page.last else { break }
                after = last.id
            }
        }
        for message in state.memoryMessages(after: nil, before: nil) { messages[message.id] = message }
        return ChannelCopy(metadata: state.metadata, messages: messages.values.sorted { $0.id < $1.id })
    }
}
