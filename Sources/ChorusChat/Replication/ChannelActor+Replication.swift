import ChorusActorSystem
import ChorusCluster
import ChorusModel
import ChorusStorage
import Distributed
import Foundation

/// A channel as a replicated actor (``ReplicatedActor``): its log is its records (seq 1 is
/// `created`), its terms live in ``ChannelState/replicaTerms``, a replica that holds nothing is a
/// placeholder state, and a whole log crosses the wire as a ``ChannelCopy``. A backup keeps the
/// events of what it applies (without publishing them), for resumes after a failover.
extension ChannelActor: ReplicatedActor {
    typealias Record = ChannelRecord
    typealias Copy = ChannelCopy

    var replicaIdentity: ActorIdentity { Self.identity(of: state.info.id) }
    var logSeq: UInt64 { state.lastSeq }
    var holdsNothing: Bool { state.isPlaceholder }
    var notFound: ChatError { ChatError.channelNotFound(state.info.id) }

    /// Creates the channel on this replica (its primary): the `created` record is seq 1 of the
    /// log, acknowledged once a majority of the replicas has it.
    func create(_ info: ChannelInfo, members: [Member], profile: ChannelProfile?) async throws {
        try await ensureServing(creating: true)
        guard state.isPlaceholder else { throw ChatError.channelExists(info.id) }
        try await commit(.created(info: info, members: members, profile: profile)) { _, _ in () }
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

    func logReplicaBatch(_ batch: ReplicaBatch<ChannelRecord>) throws -> UInt64 {
        let lsn = try env.directory.logChannelRecord(state.info.id) { try env.journal.append(.replica(state.info.id, batch)) }
        state.setReplicaTerms(
            (state.replicaTerms ?? ReplicaTerms()).logging(promisedTerm: batch.promisedTerm, logTerm: batch.logTerm, after: state.lastSeq))
        appliedLSN = lsn
        return lsn
    }

    func applyReplicated(_ records: [ChannelRecord]) throws {
        for record in records {
            if let target = record.changedMessage { try ensureLoaded(target) }
            let seq = state.apply(record)
            noteSent(record)
            if let event = state.event(reporting: record, seq: seq) { eventLog.append(event) }
        }
    }

    /// Stores the whole log in one transaction (as of this node's current LSN, so recovery never
    /// replays the replaced log's frames over it), keeping the newest messages in memory.
    func installLog(copy: ChannelCopy?, records: [ChannelRecord], logTerm: UInt64) async throws {
        var installed: ChannelState
        if let copy {
            installed = ChannelState(metadata: copy.metadata, recent: copy.messages, hasOlderInStore: false)
        } else {
            installed = ChannelState(placeholder: state.info.id)
            for record in records { installed.apply(record) }
        }
        installed.setReplicaTerms(ReplicaTerms(promisedTerm: replica!.durable.promisedTerm, logTerm: logTerm, lineage: replica!.durable.lineage))
        if let store = env.store {
            let lsn = env.journal.nextLSN - 1
            let messages = installed.memoryMessages(after: nil, before: nil)
            try await store.replaceChannel(
                installed.info.id, snapshot: try JSONEncoder().encode(installed.metadata), index: try installed.indexEntry(),
                messages: messages, appliedLSN: lsn)
            let newest = Array(messages.suffix(env.messageWindow))
            installed = ChannelState(metadata: installed.metadata, recent: newest, hasOlderInStore: messages.count > newest.count)
            appliedLSN = lsn
            storedLSN = lsn
            env.directory.noteStored(installed.info.id, lsn: lsn)
        }
        state = installed
        eventLog = ChannelEventLog(capacity: env.eventLogCapacity, floor: state.lastSeq)
        publishedSeq = state.lastSeq
        // Edges following the channel here missed the installed records' events.
        publish(ChannelEvent(channelID: state.info.id, seq: nil, createdAt: env.clock.now(), payload: .resync))
    }

    /// Every message, from the store overlaid with memory, with the channel's metadata.
    func materialize() throws -> ChannelCopy {
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

    /// A serving primary hands the committed records' events to the edges; a backup keeps them in
    /// its event log (for resumes, and for its edges once it serves).
    func didCommit(upTo seq: UInt64, isPrimary: Bool) {
        publishCommitted(upTo: seq, toEdges: isPrimary)
    }

    func envelope(_ message: ChannelReplicaMessage, copy: ChannelCopy?) -> ReplicaEnvelope {
        .channel(state.info.id, message, copy: copy)
    }
}
