import ChorusActorSystem
import ChorusModel
import Foundation

/// The nodes of a cluster and how they watch each other (`cluster:` in YAML). Empty `nodes`
/// (the default) means a single node: `chorus serve`. `chorus node --name N` runs node N of it.
public struct ClusterConfiguration: Sendable, Equatable, Decodable {
    /// One node of the cluster.
    public struct Node: Sendable, Equatable, Decodable {
        public var name: String
        /// `host:port` where peers connect (the cluster transport).
        public var clusterAddress: String
        /// `host:port` where clients connect (HTTP and WebSocket).
        public var clientAddress: String
        /// The node's data directory.
        public var dataDir: String

        public init(name: String, clusterAddress: String, clientAddress: String, dataDir: String) {
            self.name = name
            self.clusterAddress = clusterAddress
            self.clientAddress = clientAddress
            self.dataDir = dataDir
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, clusterAddress = "cluster_address", clientAddress = "client_address", dataDir = "data_dir"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.configurationSection(CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            clusterAddress = try c.decode(String.self, forKey: .clusterAddress)
            clientAddress = try c.decode(String.self, forKey: .clientAddress)
            dataDir = try c.decode(String.self, forKey: .dataDir)
        }
    }

    /// Peers must name the same cluster (default `chorus`).
    public var name = "chorus"
    /// The nodes; empty for a single node (default).
    public var nodes: [Node] = []
    /// Milliseconds between heartbeats to each peer, and between the keepalives of each cluster
    /// connection (default 50).
    public var heartbeatIntervalMs = 50
    /// A peer unheard of this long is suspect (default 250 ms)...
    public var suspectAfterMs = 250
    /// ...and this long, down (default 500 ms): with replication, a down node's keys fail over
    /// (docs/cluster.md weighs failover time against false alarms).
    public var downAfterMs = 500
    /// How long a call to another node may take before it fails (default 5,000 ms).
    public var callTimeoutMs = 5000
    /// Virtual nodes per node on the hash ring (default 1,024).
    public var virtualNodes = 1024
    /// How many nodes hold each channel and user (default 3; fewer when the cluster has fewer
    /// nodes). A change is acknowledged once a majority of them has it durable; 1 turns
    /// replication off (a crashed node's keys wait for it).
    public var replicationFactor = 3
    /// A metadata-log member that hears from no leader this long starts an election (default
    /// 300 ms; randomized up to twice that). The leader's heartbeats go every fifth of it.
    public var electionTimeoutMs = 200
    /// After a ring change, how many keys a second a node makes serve in the background (its
    /// failed-over keys recover, keys that gained a replica copy their log to it; default 500).
    public var restoreKeysPerSecond = 500
    /// Lets `POST /v1/admin/faults` cut this node off from its peers (a failover drill's
    /// partition; default off: never enable it in production).
    public var faultInjection = false

    public init() {}

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, nodes, heartbeatIntervalMs = "heartbeat_interval_ms", suspectAfterMs = "suspect_after_ms"
        case downAfterMs = "down_after_ms", callTimeoutMs = "call_timeout_ms", virtualNodes = "virtual_nodes"
        case electionTimeoutMs = "election_timeout_ms", replicationFactor = "replication_factor"
        case faultInjection = "fault_injection", restoreKeysPerSecond = "restore_keys_per_second"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.configurationSection(CodingKeys.self)
        try c.update(&name, .name)
        try c.update(&nodes, .nodes)
        try c.update(&heartbeatIntervalMs, .heartbeatIntervalMs)
        try c.update(&suspectAfterMs, .suspectAfterMs)
        try c.update(&downAfterMs, .downAfterMs)
        try c.update(&callTimeoutMs, .callTimeoutMs)
        try c.update(&virtualNodes, .virtualNodes)
        try c.update(&electionTimeoutMs, .electionTimeoutMs)
        try c.update(&replicationFactor, .replicationFactor)
        try c.update(&faultInjection, .faultInjection)
        try c.update(&restoreKeysPerSecond, .restoreKeysPerSecond)
    }

    /// The replication factor in effect: the configured one, at most the number of nodes.
    public var effectiveReplicationFactor: Int { max(1, min(replicationFactor, nodes.count)) }

    /// The node called `name`.
    public func node(named name: String) -> Node? { nodes.first { $0.name == name } }

    /// Checks every setting; `check(condition, key path, problem)` reports one that is wrong.
    public func validate(check: (Bool, String, String) throws -> Void) throws {
        try check(!name.isEmpty, "cluster.name", "must not be empty")
        try check(heartbeatIntervalMs > 0, "cluster.heartbeat_interval_ms", "must be positive")
        try check(suspectAfterMs > heartbeatIntervalMs, "cluster.suspect_after_ms", "must be longer than heartbeat_interval_ms")
        try check(downAfterMs >= suspectAfterMs, "cluster.down_after_ms", "must not be shorter than suspect_after_ms")
        try check(callTimeoutMs > 0, "cluster.call_timeout_ms", "must be positive")
        try check(virtualNodes >= 1, "cluster.virtual_nodes", "must be at least 1")
        try check(electionTimeoutMs >= 50, "cluster.election_timeout_ms", "must be at least 50")
        try check((1...9).contains(replicationFactor), "cluster.replication_factor", "must be 1-9")
        try check(restoreKeysPerSecond >= 1, "cluster.restore_keys_per_second", "must be at least 1")
        // Each node needs its own name, addresses and data directory: two nodes writing one
        // WAL would corrupt it (a running node also locks its directory; this catches it at load).
        var names: [String: String] = [:]
        var addresses: [String: String] = [:]
        var directories: [String: String] = [:]
        func unique(_ value: String, in seen: inout [String: String], _ key: String, _ what: String) throws {
            try check(seen[value] == nil, key, "repeats the \(what) of \(seen[value] ?? ""): every node needs its own")
            seen[value] = key
        }
        for (index, node) in nodes.enumerated() {
            let key = "cluster.nodes[\(index)]"
            try check(!node.name.isEmpty, "\(key).name", "must not be empty")
            try unique(node.name, in: &names, "\(key).name", "name")
            try check(Self.parseAddress(node.clusterAddress) != nil, "\(key).cluster_address", "must be host:port")
            try check(Self.parseAddress(node.clientAddress) != nil, "\(key).client_address", "must be host:port")
            try unique(node.clusterAddress, in: &addresses, "\(key).cluster_address", "address")
            try unique(node.clientAddress, in: &addresses, "\(key).client_address", "address")
            try check(!node.dataDir.isEmpty, "\(key).data_dir", "must not be empty")
            try unique(URL(fileURLWithPath: node.dataDir).standardizedFileURL.path, in: &directories, "\(key).data_dir", "data_dir")
        }
    }

    /// `host:port` split; `nil` if it is not one.
    public static func parseAddress(_ address: String) -> PeerAddress? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
            (0...65535).contains(port), colon != address.startIndex
        else { return nil }
        return PeerAddress(host: String(address[..<colon]), port: port)
    }
}
