/// What the metadata log decides (docs/replication.md): the cluster's ring, epoch by epoch.
///
/// A pure value that every node rebuilds by applying the log's committed ``ClusterCommand``s in
/// log order. A command carries the whole ring it proposes, and is applied only if its epoch is
/// newer than the last applied ring's, so every node derives the same sequence of rings from the
/// same log, and no epoch ever names two rings among the rings the log decided.
public struct ClusterMetadata: Sendable, Equatable, Codable {
    /// The last ring the log decided; epoch 0 (the configured nodes) before the first.
    public private(set) var ring: RingDescription

    public init(nodes: [String], virtualNodes: Int) {
        self.ring = RingDescription(HashRing(nodes: nodes, virtualNodes: virtualNodes, epoch: 0))
    }

    public var epoch: UInt64 { ring.epoch }

    /// Applies a committed command; returns whether the ring changed. A ring no newer than the
    /// current one (a stale proposal) changes nothing.
    @discardableResult
    public mutating func apply(_ command: ClusterCommand) -> Bool {
        switch command {
        case .ring(let proposed, _):
            guard proposed.epoch > ring.epoch else { return false }
            ring = proposed
            return true
        }
    }
}

/// An entry of the metadata log.
public enum ClusterCommand: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The ring from now on, and why (`down(node)`, `up(node)`), for the log.
    case ring(RingDescription, reason: String)

    public var description: String {
        switch self {
        case .ring(let ring, let reason): "ring \(ring.epoch) \(ring.nodes) (\(reason))"
        }
    }
}
