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

/// Sends replication messages to peers, in order per peer (``PeerBatches``): everything queued
/// for a peer meanwhile goes as one one-way call (``ClusterActorSystem/oneWay``): the machines'
/// own messages acknowledge, so a reply to each call would only cost the two nodes wake-ups. A
/// message that cannot be sent, or is lost with its connection, is dropped: the machines resend
/// on their ticks.
final class ReplicaSender: Sendable {
    private let batches: PeerBatches<ReplicaEnvelope>

    init(actorSystem: ClusterActorSystem, logger: Logger) {
        batches = PeerBatches { batch, peer in
            do {
                let node = try ChatNodeActor.resolve(id: ChatNodeActor.identity(of: peer), using: actorSystem)
                try await ClusterActorSystem.$oneWay.withValue(true) {
                    try await node.replicate(ReplicaEnvelopes(batch), from: actorSystem.nodeName)
                }
            } catch {
                logger.debug("replication messages not delivered", metadata: ["cluster.peer": "\(peer)", "error": "\(error)"])
            }
        }
    }

    func send(_ envelope: ReplicaEnvelope, to peer: String) {
        batches.append(CollectionOfOne(envelope), for: peer)
    }
}
