/// What the metadata log decides (docs/replication.md): the cluster's ring, epoch by epoch.
///
/// A pure value that every node rebuilds by applying the log's committed ``ClusterCommand``s in
/// log order. A command carries the whole ring it proposes, and is applied only if its epoch is
/// newer than the last applied ring's, so every node derives the same sequence of rings from the
/// same log, and no epoch ever names two rings among the rings the log decided.
public struct ClusterMetadata: Sendable, Equatable, Codable {
    /// The last ring the log decided; epoch 0 (the configured nodes) before the first.
    public private(set) var ring: RingDescription
    /// Cluster-wide settings of the layers above (the chat layer's channel types), by key: each
    /// value as its owner encodes it. Every node applies them at the same point of the log.
    public private(set) var settings: [String: String] = [:]
    /// How many commands changed something: a later metadata has a higher version (its
    /// observers may be told out of order, and keep the newest).
    public private(set) var version: UInt64 = 0

    public init(nodes: [String], virtualNodes: Int) {
        self.ring = RingDescription(HashRing(nodes: nodes, virtualNodes: virtualNodes, epoch: 0))
    }

    public var epoch: UInt64 { ring.epoch }

    /// Applies a committed command; returns whether anything changed. A ring no newer than the
    /// current one (a stale proposal) changes nothing.
    @discardableResult
    public mutating func apply(_ command: ClusterCommand) -> Bool {
        switch command {
        case .ring(let proposed, _):
            guard proposed.epoch > ring.epoch else { return false }
            ring = proposed
            version += 1
            return true
        case .setting(let key, let value):
            guard settings[key] != value else { return false }
            settings[key] = value
            version += 1
            return true
        }
    }
}

/// An entry of the metadata log.
public enum ClusterCommand: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The ring from now on, and why (`down(node)`, `up(node)`), for the log.
    case ring(RingDescription, reason: String)
    /// A cluster-wide setting's new value (nil: removed).
    case setting(key: String, value: String?)

    public var description: String {
        switch self {
        case .ring(let ring, let reason): "ring \(ring.epoch) \(ring.nodes) (\(reason))"
        case .setting(let key, let value): "setting \(key) \(value == nil ? "removed" : "set")"
        }
    }
}

/// What the metadata log's leader proposes when its failure detector changes its mind: the pure
/// rule, so it is tested apart from the shell.
public enum RingPolicy {
    /// The ring change to propose, if any, given the newest `ring`, the leader's view of
    /// each peer (`statuses`; the leader itself is up) and the replication factor.
    ///
    /// - A node on the ring that is `down` is taken off (its keys go to their next replicas,
    ///   which hold copies), one node per proposal, while the ring keeps a majority of the
    ///   `configured` nodes. Past that, a further failure leaves its keys unavailable until a
    ///   node is back: the cluster survives the loss of a minority, and a burst of false alarms
    ///   (an overloaded machine missing heartbeats) cannot shrink the ring to one node that would
    ///   acknowledge every write alone.
    /// - A node that comes back is not put back here: it asks to rejoin by itself
    ///   (``ClusterMember/joinIfNeeded()``, ``MetadataLog/proposeJoin(_:)``), once it runs and
    ///   has caught up on the log.
    /// - With replication factor 1 nothing is proposed: no other node holds a down node's keys,
    ///   so moving them would serve empty channels; they wait for the node instead.
    public static func proposal(
        ring: RingDescription, statuses: [String: FailureDetector.Status], replicationFactor: Int, configured: Int
    ) -> ClusterCommand? {
        guard replicationFactor > 1 else { return nil }
        let next = ring.epoch + 1
        if let down = ring.nodes.sorted().first(where: { statuses[$0] == .down }), ring.nodes.count - 1 >= configured / 2 + 1 {
            let nodes = ring.nodes.filter { $0 != down }
            return .ring(RingDescription(HashRing(nodes: nodes, virtualNodes: ring.virtualNodes, epoch: next)), reason: "down(\(down))")
        }
        return nil
    }
}
