import ChorusActorSystem
import ChorusModel
import ChorusStorage
import Foundation

/// A user as a replicated actor (``ReplicatedActor``): their log is their records (seq 1 is the
/// first `upserted`), their terms live in ``UserState/replicaTerms``, a replica that holds nothing
/// is the empty state of the id, and a whole log crosses the wire as the state itself (small: a
/// profile, blocks, the channel index and the DM registry).
extension UserActor: ReplicatedActor {
    typealias Record = UserRecord
    typealias Copy = UserState

    var replicaIdentity: ActorIdentity { Self.identity(of: state.id) }
    var logSeq: UInt64 { state.lastSeq }
    var holdsNothing: Bool { state.lastSeq == 0 && !state.exists }
    var notFound: ChatError { ChatError.userNotFound(state.id) }

    func logReplicaBatch(_ batch: ReplicaBatch<UserRecord>) throws -> UInt64 {
        let lsn = try env.journal.append(.userReplica(state.id, batch))
        state.setReplicaTerms(
            (state.replicaTerms ?? ReplicaTerms()).logging(promisedTerm: batch.promisedTerm, logTerm: batch.logTerm, after: state.lastSeq))
        appliedLSN = lsn
        return lsn
    }

    func applyReplicated(_ records: [UserRecord]) throws {
        for record in records { state.apply(record) }
    }

    /// Stores the whole state as of this node's current LSN (recovery never replays the replaced
    /// log's frames over it).
    func installLog(copy: UserState?, records: [UserRecord], logTerm: UInt64) async throws {
        var installed = copy ?? UserState(id: state.id)
        if copy == nil { for record in records { installed.apply(record) } }
        installed.setReplicaTerms(ReplicaTerms(promisedTerm: replica!.durable.promisedTerm, logTerm: logTerm, lineage: replica!.durable.lineage))
        if let store = env.store {
            let lsn = env.journal.nextLSN - 1
            try await store.importUser(installed.id, snapshot: try JSONEncoder().encode(installed), appliedLSN: lsn)
            appliedLSN = lsn
            storedLSN = lsn
        }
        state = installed
    }

    func materialize() throws -> UserState { state }

    func didCommit(upTo seq: UInt64, isPrimary: Bool) {}

    func envelope(_ message: UserReplicaMessage, copy: UserState?) -> ReplicaEnvelope {
        .user(state.id, message, copy: copy)
    }
}
