import ChorusActorSystem
import ChorusCluster
import ChorusModel
import Logging
import Synchronization

/// The base of a channel replica's log: the channel's state through `seq`. It is a marker; the
/// state itself is the channel actor's (its store and memory), materialized into a
/// ``ChannelCopy`` whenever a replica needs the whole log.
public struct ReplicaBase: Sendable, Equatable, Codable {
    public var seq: UInt64
}

/// One channel's replication machine: records are channel records, the base a marker.
public typealias ChannelReplicaMachine = KeyReplica<ChannelRecord, ReplicaBase>
public typealias ChannelReplicaMessage = ChannelReplicaMachine.Message

/// A whole channel as a snapshot or a fetched log carries it: its metadata (with its terms) and
/// every message.
public struct ChannelCopy: Sendable, Codable, Equatable {
    public var metadata: ChannelState
    public var messages: [Message]
}

/// One replication message of one replicated actor, as it crosses the cluster transport. A
/// message that carries a base (a snapshot, or a fetched whole log) carries the actor with it.
public enum ReplicaEnvelope: Sendable, Codable, Equatable {
    case channel(ChannelID, ChannelReplicaMessage, copy: ChannelCopy?)
    case user(UserID, UserReplicaMessage, copy: UserState?)
}

/// One user's replication machine.
public typealias UserReplicaMachine = KeyReplica<UserRecord, ReplicaBase>
public typealias UserReplicaMessage = UserReplicaMachine.Message

/// What a replicated actor needs of its node (nil in an actor's environment when nothing is
/// replicated: a single node, or a replication factor of 1).
struct ReplicationContext: Sendable {
    /// This node's name.
    let me: String
    /// How many nodes hold each channel and user.
    let factor: Int
    let placement: ClusterPlacement
    /// How often a primary resends what is not acknowledged.
    let retryInterval: Duration
    /// How long a call waits for its channel to recover before it fails with 503.
    let recoveryDeadline: Duration
    let sender: ReplicaSender
    /// This node's replicas, for the admin view.
    let board: ReplicaBoard
    let logger: Logger
}

/// Sends replication messages to peers, in order per peer: one sending task per peer takes
/// everything queued and sends it as one call, and waits for it before the next. A message that
/// cannot be sent is dropped: the machines resend on their ticks.
final class ReplicaSender: Sendable {
    private let actorSystem: ClusterActorSystem
    private let logger: Logger

    private struct Queue {
        var envelopes: [ReplicaEnvelope] = []
        var sending = false
    }
    private let queues = Mutex<[String: Queue]>([:])

    init(actorSystem: ClusterActorSystem, logger: Logger) {
        self.actorSystem = actorSystem
        self.logger = logger
    }

    func send(_ envelope: ReplicaEnvelope, to peer: String) {
        let start = queues.withLock { queues -> Bool in
            queues[peer, default: Queue()].envelopes.append(envelope)
            guard !queues[peer]!.sending else { return false }
            queues[peer]!.sending = true
            return true
        }
        if start { Task { await self.drain(peer) } }
    }

    private func drain(_ peer: String) async {
        while true {
            let batch = queues.withLock { queues -> [ReplicaEnvelope] in
                let batch = queues[peer]?.envelopes ?? []
                queues[peer]?.envelopes = []
                if batch.isEmpty { queues[peer]?.sending = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            do {
                let node = try ChatNodeActor.resolve(id: ChatNodeActor.identity(of: peer), using: actorSystem)
                try await node.replicate(ReplicaEnvelopes(batch), from: actorSystem.nodeName)
            } catch {
                logger.debug("replication messages not delivered", metadata: ["cluster.peer": "\(peer)", "error": "\(error)"])
            }
        }
    }
}
