/// Consistent-hash placement: which node owns a key, and the preference list of its replicas.
///
/// A pure value. Each node stands at `virtualNodes` points of a 64-bit ring (the hash of
/// `"<node>#<i>"`); a key belongs to the first point clockwise from its hash. With 1,024 points a
/// node, each of 3–10 nodes gets within ±10% of its fair share, and adding or removing a node
/// moves only the keys of that node's points (about 1/N of all keys). `epoch` increases with every
/// change, so a node that is asked with an older ring can tell the caller to refresh.
public struct HashRing: Sendable, Equatable {
    /// The nodes on the ring, sorted.
    public private(set) var nodes: [String]
    /// Points per node.
    public let virtualNodes: Int
    /// Bumped by every change of `nodes`.
    public private(set) var epoch: UInt64

    /// Ring points sorted by hash; `node` indexes `nodes`.
    private var points: [(hash: UInt64, node: Int)]

    public init(nodes: some Sequence<String>, virtualNodes: Int = 1024, epoch: UInt64 = 1) {
        self.nodes = Array(Set(nodes)).sorted()
        self.virtualNodes = max(1, virtualNodes)
        self.epoch = epoch
        self.points = []
        rebuild()
    }

    public static func == (lhs: HashRing, rhs: HashRing) -> Bool {
        lhs.nodes == rhs.nodes && lhs.virtualNodes == rhs.virtualNodes && lhs.epoch == rhs.epoch
    }

    private mutating func rebuild() {
        var points: [(hash: UInt64, node: Int)] = []
        points.reserveCapacity(nodes.count * virtualNodes)
        for (index, node) in nodes.enumerated() {
            for point in 0..<virtualNodes {
                points.append((Self.hash("\(node)#\(point)"), index))
            }
        }
        // Ties (vanishingly rare) break by node name, so every peer builds the same ring.
        points.sort { $0.hash != $1.hash ? $0.hash < $1.hash : nodes[$0.node] < nodes[$1.node] }
        self.points = points
    }

    /// The node that owns `key`; `nil` on an empty ring.
    public func owner(of key: String) -> String? {
        guard !points.isEmpty else { return nil }
        return nodes[points[firstPoint(atOrAfter: Self.hash(key))].node]
    }

    /// The first `count` distinct nodes clockwise from `key` (owner first): where its replicas live.
    public func preferenceList(for key: String, count: Int) -> [String] {
        guard !points.isEmpty else { return [] }
        let wanted = min(count, nodes.count)
        var result: [String] = []
        var seen = Set<Int>()
        var index = firstPoint(atOrAfter: Self.hash(key))
        while result.count < wanted {
            let node = points[index].node
            if seen.insert(node).inserted { result.append(nodes[node]) }
            index = (index + 1) % points.count
        }
        return result
    }

    /// Each node's share of the hash space (0-1, summing to 1): the arcs that end at its points.
    public var shares: [String: Double] {
        guard let last = points.last else { return [:] }
        if nodes.count == 1 { return [nodes[0]: 1] }  // its arcs sum to 2^64, which wraps to 0
        var arcs = [UInt64](repeating: 0, count: nodes.count)
        var previous = last.hash  // the first point's arc wraps around from the last one
        for point in points {
            arcs[point.node] &+= point.hash &- previous
            previous = point.hash
        }
        return Dictionary(uniqueKeysWithValues: zip(nodes, arcs.map { Double($0) / 0x1p64 }))
    }

    /// This ring with `node` added (a new epoch); unchanged if it is already there.
    public func adding(_ node: String) -> HashRing {
        guard !nodes.contains(node) else { return self }
        return HashRing(nodes: nodes + [node], virtualNodes: virtualNodes, epoch: epoch + 1)
    }

    /// This ring without `node` (a new epoch); unchanged if it is not there.
    public func removing(_ node: String) -> HashRing {
        guard nodes.contains(node) else { return self }
        return HashRing(nodes: nodes.filter { $0 != node }, virtualNodes: virtualNodes, epoch: epoch + 1)
    }

    /// Index of the first point whose hash is `>= hash`, wrapping to 0.
    private func firstPoint(atOrAfter hash: UInt64) -> Int {
        var low = 0
        var high = points.count
        while low < high {
            let mid = (low + high) / 2
            if points[mid].hash < hash { low = mid + 1 } else { high = mid }
        }
        return low == points.count ? 0 : low
    }

    /// A stable 64-bit hash (FNV-1a, then the SplitMix64 finalizer to spread nearby inputs);
    /// the same on every node and every run, unlike `Hasher`.
    public static func hash(_ key: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        hash ^= hash >> 30
        hash &*= 0xbf58_476d_1ce4_e5b9
        hash ^= hash >> 27
        hash &*= 0x94d0_49bb_1331_11eb
        hash ^= hash >> 31
        return hash
    }
}
