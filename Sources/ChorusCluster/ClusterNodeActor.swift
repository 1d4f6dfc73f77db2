import ChorusActorSystem
import Distributed

/// One per node: what peers ask of a node's cluster layer (heartbeats, rings, hand-offs).
public distributed actor ClusterNodeActor {
    public typealias ActorSystem = ClusterActorSystem

    /// The actor kind of cluster node actors; the key is the node name.
    public static let kind = "clusternode"

    private let member: ClusterMember

    init(actorSystem: ClusterActorSystem, member: ClusterMember) {
        self.actorSystem = actorSystem
        self.member = member
    }

    /// The identity of node `name`'s actor.
    public static func identity(of name: String) -> ActorIdentity {
        ActorIdentity(kind: kind, key: name)
    }

    /// The cluster node actor of `node` (a proxy when it is another node).
    public static func on(_ node: String, using system: ClusterActorSystem) throws -> ClusterNodeActor {
        try resolve(id: identity(of: node), using: system)
    }

    /// A peer's heartbeat; answers with this node's (``ClusterMember/heartbeatReport()``).
    public distributed func heartbeat(_ report: NodeReport) -> NodeReport {
        member.membership?.heard(from: report.node, report: report)
        return member.heartbeatReport()
    }

    /// A message of the metadata log from `peer` (one-way: answers come as calls the other way).
    public distributed func raft(_ message: MetadataLog.Raft.Message, from peer: String) {
        member.metadataLog?.receive(message, from: peer)
    }

    /// This node's ring (a caller told `wrongOwner` refreshes its own from it).
    public distributed func ring() -> RingDescription {
        member.placement.description
    }

    /// `node` wants to join the ring: this node, if it leads the metadata log, proposes a ring
    /// with it (``MetadataLog/proposeJoin(_:)``). Answers whether it did (or `node` is on the
    /// newest ring already) and the leader it knows, for the joiner to ask next.
    public distributed func requestJoin(_ node: String) -> RingRequestAnswer {
        guard let log = member.metadataLog else { return RingRequestAnswer(proposed: false, leader: nil) }
        return RingRequestAnswer(proposed: log.proposeJoin(node), leader: log.status.leader)
    }

    /// `node` is leaving the ring gracefully: as ``requestJoin(_:)``, with a ring without it
    /// (``MetadataLog/proposeLeave(_:)``).
    public distributed func requestLeave(_ node: String) -> RingRequestAnswer {
        guard let log = member.metadataLog else { return RingRequestAnswer(proposed: false, leader: nil) }
        return RingRequestAnswer(proposed: log.proposeLeave(node), leader: log.status.leader)
    }

    /// Adopts a newer ring (a node left or joined).
    public distributed func adoptRing(_ ring: RingDescription) {
        member.placement.adopt(ring)
    }

    /// Hands the keys that `ring` gives to other nodes over to them (a node is joining).
    public distributed func handOff(_ ring: RingDescription) async throws {
        _ = try await member.handOff(to: ring.ring)
    }

    /// A join that asked this node to hand keys over towards ring `epoch` failed: serve them here again.
    public distributed func abortHandoff(epoch: UInt64) {
        member.placement.gate.abortHandoff(epoch: epoch)
    }

    /// Sets a cluster-wide setting: as ``requestJoin(_:)``, with ``MetadataLog/proposeSetting(key:value:)``.
    public distributed func requestSetting(key: String, value: String?) -> RingRequestAnswer {
        guard let log = member.metadataLog else { return RingRequestAnswer(proposed: false, leader: nil) }
        return RingRequestAnswer(proposed: log.proposeSetting(key: key, value: value), leader: log.status.leader)
    }

    /// What ``requestJoin(_:)``, ``requestLeave(_:)`` and ``requestSetting(key:value:)`` answer.
    public struct RingRequestAnswer: Codable, Sendable {
        public var proposed: Bool
        public var leader: String?
    }

    /// This node's report (for the admin view).
    public distributed func status() -> NodeReport {
        member.report()
    }
}
