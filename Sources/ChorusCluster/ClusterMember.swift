import ChorusActorSystem
import Distributed
import Logging
import ServiceLifecycle
import Synchronization

/// What one node reports about itself in a heartbeat reply and the admin view.
public struct NodeReport: Sendable, Codable, Equatable {
    public var node: String
    public var epoch: UInt64
    /// Active actors by kind (`channel`, `user`).
    public var actors: [String: Int]
    /// Random per start of the node's process: a new value means the node restarted (and lost
    /// what lived only in its memory, such as its channels' subscribers).
    public var incarnation: UInt64 = 0
    /// The node's replicas (nil without replication, or from a node that does not report them).
    public var replication: ReplicationSummary?
    /// The node's counters: `messages` and `deliveries` since it started, `sessions` open now,
    /// `wal_records` appended (nil from a node that does not report them).
    public var counters: [String: Int]?
    /// The metadata-log term the node leads, when it leads: its peers count the claim as hearing
    /// from their leader (``RaftNode/heardLeader(term:from:now:)``).
    public var leading: UInt64?

    public init(node: String, epoch: UInt64, actors: [String: Int]) {
        self.node = node
        self.epoch = epoch
        self.actors = actors
    }
}

/// What a node's replicas add up to (`GET /v1/admin/cluster`, docs/replication.md).
public struct ReplicationSummary: Sendable, Codable, Equatable {
    /// Keys this node serves as primary, by actor kind (`channel`, `user`).
    public var primaries: [String: Int] = [:]
    /// Keys this node holds a backup copy of, by actor kind.
    public var backups: [String: Int] = [:]
    /// Keys named primary here that are still recovering from their replicas.
    public var recovering = 0
    /// The newest term any replica here has promised (the ring epoch in the high 32 bits).
    public var newestTerm: UInt64 = 0
    /// Primaries with a replica that lacks some of their records, the records missing summed over
    /// them (each counted at its slowest replica), and the most any one of them misses.
    public var lagging = 0
    public var lagRecords: UInt64 = 0
    public var maxLagRecords: UInt64 = 0

    public init() {}
}

/// What moves keys for a hand-off: the layer that owns the actors' state (the chat node).
public protocol KeyTransfer: AnyObject, Sendable {
    /// Sends the state of every key this node holds for which `newOwner` names another node to
    /// that node, each stored durably there before this returns; returns how many keys moved, by
    /// actor kind. Called once running calls on the moving keys have finished.
    func transferKeys(towards target: HashRing, newOwner: (ActorIdentity) -> String?) async throws -> [String: Int]
    /// What this node reports about itself.
    func report() -> NodeReport
}

/// One node's part in the cluster: its placement, its ``ClusterNodeActor`` (what peers call),
/// and the graceful ring changes (leave, join) with their hand-offs.
///
/// A hand-off (``handOff(to:)``) first refuses calls on the keys that move and waits for the ones
/// already running (``CallGate/beginHandoff(to:deadline:)``), then has the
/// ``KeyTransfer`` send each moving key to its new owner, which stores it durably before
/// answering. Only then is the new ring adopted everywhere; until then the moving keys stay
/// refused (503, never acknowledged). A hand-off that fails is aborted: the keys are served here again.
public final class ClusterMember: Sendable {
    public let placement: ClusterPlacement
    public let actorSystem: ClusterActorSystem
    /// This start of the node (``NodeReport/incarnation``).
    public let incarnation = UInt64.random(in: 1...UInt64.max)
    let logger: Logger
    private struct Links {
        weak var transfer: (any KeyTransfer)?
        weak var membership: Membership?
        weak var metadataLog: MetadataLog?
        var nodeActor: ClusterNodeActor?
    }
    private let links = Mutex(Links())
    private let leaving = Mutex(false)

    /// Whether this node began leaving the cluster (``leave()``): it must not join again.
    public var isLeaving: Bool { leaving.withLock { $0 } }

    /// How long a hand-off waits for running calls on the moving keys before it gives up.
    public static let handoffDrainDeadline = Duration.seconds(30)
    /// How long a joining node waits for one peer's whole hand-off (the drain, then every page).
    public static let handoffCallTimeout = Duration.seconds(600)

    public init(placement: ClusterPlacement, actorSystem: ClusterActorSystem, logger: Logger = Logger(label: "chorus.cluster")) {
        self.placement = placement
        self.actorSystem = actorSystem
        self.logger = logger
    }

    /// Connects the layer that moves keys and reports actor counts (held weakly).
    public func attach(_ transfer: any KeyTransfer) {
        links.withLock { $0.transfer = transfer }
    }

    func attach(_ membership: Membership) {
        links.withLock { $0.membership = membership }
    }

    func attach(_ metadataLog: MetadataLog) {
        links.withLock { $0.metadataLog = metadataLog }
    }

    /// The membership service watching this node's peers, if any.
    public var membership: Membership? { links.withLock { $0.membership } }

    /// The metadata log this node takes part in, if any.
    public var metadataLog: MetadataLog? { links.withLock { $0.metadataLog } }

    /// Starts serving peers' cluster calls (creates this node's ``ClusterNodeActor``).
    public func start() {
        links.withLock { links in
            guard links.nodeActor == nil else { return }
            links.nodeActor = actorSystem.withIdentity(ClusterNodeActor.identity(of: placement.nodeName)) {
                ClusterNodeActor(actorSystem: actorSystem, member: self)
            }
        }
        placement.register(self, kinds: [ClusterNodeActor.kind], pinned: true)
    }

    /// This node's report.
    public func report() -> NodeReport {
        let beat = heartbeatReport()
        guard var report = links.withLock({ $0.transfer })?.report() else { return beat }
        report.incarnation = beat.incarnation
        report.leading = beat.leading
        return report
    }

    /// What a heartbeat carries: who this node is, its ring epoch, its incarnation and the
    /// metadata-log term it leads, all that membership reads. The whole ``report()`` sums up
    /// every replica on the node (a replicated key is never passivated, so that is every key it
    /// holds), which at a heartbeat to or from each peer every `heartbeat_interval_ms` made a node
    /// with 100,000 replicas spend most of a core on heartbeats; the admin view asks the peers for
    /// their whole reports when it is read.
    public func heartbeatReport() -> NodeReport {
        var report = NodeReport(node: placement.nodeName, epoch: placement.epoch, actors: [:])
        report.incarnation = incarnation
        report.leading = metadataLog?.leading
        return report
    }

    /// The cluster node actor of `peer`.
    func nodeActor(on peer: String) throws -> ClusterNodeActor {
        try ClusterNodeActor.on(peer, using: actorSystem)
    }

    // MARK: Hand-off

    /// Gives every key this node owns now but not under `target` to its owner under `target`;
    /// returns how many keys moved, by kind. The moving keys stay refused until `target` (or a
    /// newer ring) is adopted.
    public func handOff(to target: HashRing) async throws -> [String: Int] {
        guard let transfer = links.withLock({ $0.transfer }) else {
            throw RemoteCallError(.unreachable, "node \(placement.nodeName) has nothing to hand keys over with")
        }
        let me = placement.nodeName
        let placement = self.placement
        try await placement.gate.beginHandoff(to: target, deadline: Self.handoffDrainDeadline)
        do {
            let moved = try await transfer.transferKeys(towards: target) { id in
                guard placement.owner(of: id) == me, let owner = target.owner(of: id.description), owner != me else { return nil }
                return owner
            }
            logger.info("handed keys over", metadata: Self.movedMetadata(moved).merging(["cluster.epoch": "\(target.epoch)"]) { $1 })
            return moved
        } catch {
            // Nothing was adopted: serve the keys again rather than refuse them until a newer ring.
            placement.gate.abortHandoff(epoch: target.epoch)
            logger.error("hand-off failed; serving the keys here again", metadata: ["cluster.epoch": "\(target.epoch)", "error": "\(error)"])
            throw error
        }
    }

    /// The newest ring any reachable peer has (or this node's own).
    public func newestRing() async -> RingDescription {
        var newest = placement.description
        await withTaskGroup(of: RingDescription?.self) { group in
            for peer in placement.peers {
                group.addTask {
                    guard let actor = try? self.nodeActor(on: peer) else { return nil }
                    return try? await ClusterActorSystem.$callTimeout.withValue(.seconds(2)) { try await actor.ring() }
                }
            }
            for await ring in group { if let ring, ring.epoch > newest.epoch { newest = ring } }
        }
        return newest
    }

    /// Leaves the cluster gracefully. With replication, the metadata log decides the ring without
    /// this node, and its keys' new owners recover them from their replicas (nothing is handed
    /// over: an empty answer). Without, it hands everything over, then makes every peer adopt the
    /// ring without this node. Returns how many keys were handed over, by kind.
    public func leave() async throws -> [String: Int] {
        leaving.withLock { $0 = true }
        // Leave from the newest ring a peer has, not a local one that may have missed a change.
        placement.adopt(await newestRing())
        if let log = metadataLog, log.decidesRingChanges {
            try await changeRingThroughLog(joining: false, from: placement.description)
            return [:]
        }
        let target = placement.ring.removing(placement.nodeName)
        let moved = try await handOff(to: target)
        for peer in target.nodes {
            try await nodeActor(on: peer).adoptRing(RingDescription(target))
        }
        placement.adopt(RingDescription(target))
        return moved
    }

    /// Keys moved by kind as log metadata: `cluster.channels=3 cluster.users=5`.
    static func movedMetadata(_ moved: [String: Int]) -> Logger.Metadata {
        Dictionary(uniqueKeysWithValues: moved.map { ("cluster.\($0.key)s", "\($0.value)") })
    }

    // MARK: Admin view

    /// Every node with its status and report (peers are asked now, briefly): those on the ring,
    /// and configured ones the metadata log took off it (a down node stays listed, `down`).
    public func view() async -> ClusterView {
        let me = report()
        let ring = placement.ring
        var nodes = [ClusterView.Node(name: me.node, status: "up", isSelf: true, actors: me.actors, onRing: ring.nodes.contains(me.node))]
        nodes[0].replication = me.replication
        nodes[0].counters = me.counters
        let peers = Set(placement.peers).union(metadataLog?.members ?? []).subtracting([me.node]).sorted()
        // A peer the detector holds down is not asked, and a suspect one only briefly: the view
        // must not wait out a call to a peer that is probably gone.
        let statusesBefore = Dictionary(uniqueKeysWithValues: (membership?.view ?? []).map { ($0.peer, $0.status) })
        let reports = await withTaskGroup(of: (String, NodeReport?).self) { group in
            for peer in peers where statusesBefore[peer] != .down {
                let timeout: Duration = statusesBefore[peer] == .suspect ? .milliseconds(200) : .seconds(1)
                group.addTask {
                    guard let actor = try? self.nodeActor(on: peer) else { return (peer, nil) }
                    return (peer, try? await ClusterActorSystem.$callTimeout.withValue(timeout) { try await actor.status() })
                }
            }
            var reports: [String: NodeReport] = [:]
            for await (peer, report) in group { reports[peer] = report }
            return reports
        }
        // Statuses as of now, not of when the peers were asked.
        let statuses = Dictionary(uniqueKeysWithValues: (membership?.view ?? []).map { ($0.peer, $0.status) })
        for peer in peers {
            let status = statuses[peer]?.rawValue ?? (reports[peer] == nil ? "down" : "up")
            var node = ClusterView.Node(name: peer, status: status, isSelf: false, actors: reports[peer]?.actors, onRing: ring.nodes.contains(peer))
            node.replication = reports[peer]?.replication
            node.counters = reports[peer]?.counters
            nodes.append(node)
        }
        let shares = ring.shares
        for index in nodes.indices { nodes[index].ringShare = shares[nodes[index].name] ?? 0 }
        var view = ClusterView(node: me.node, ringEpoch: me.epoch, nodes: nodes.sorted { $0.name < $1.name })
        if let status = metadataLog?.status {
            view.metadata = ClusterView.Metadata(term: status.term, leader: status.leader, role: "\(status.role)", commitIndex: status.commitIndex)
        }
        return view
    }
}

extension ClusterMember: ActorActivator {
    public func withLocalActor(_ id: ActorIdentity, _ body: (any DistributedActor) async throws -> Void) async throws {
        guard id.key == placement.nodeName, let actor = links.withLock({ $0.nodeActor }) else {
            throw RemoteCallError(.actorNotFound, "node \(placement.nodeName) is not serving peers")
        }
        try await body(actor)
    }
}

/// The cluster as one node sees it (for `GET /v1/admin/cluster`).
public struct ClusterView: Sendable, Equatable {
    public struct Node: Sendable, Equatable {
        public var name: String
        /// `up`, `suspect` or `down` (this node is always `up`).
        public var status: String
        public var isSelf: Bool
        /// Active actors on that node by kind; `nil` when it could not be asked.
        public var actors: [String: Int]?
        /// Whether the node is on the answering node's ring (a down node the metadata log took
        /// off it is not, until it rejoins).
        public var onRing: Bool
        /// Its replicas; `nil` without replication or when it could not be asked.
        public var replication: ReplicationSummary?
        /// Its counters (``NodeReport/counters``); `nil` when it could not be asked.
        public var counters: [String: Int]?
        /// Its share of the answering node's ring (0 when off the ring).
        public var ringShare: Double = 0

        public init(name: String, status: String, isSelf: Bool, actors: [String: Int]?, onRing: Bool = true) {
            self.name = name
            self.status = status
            self.isSelf = isSelf
            self.actors = actors
            self.onRing = onRing
        }
    }

    /// The metadata log as the answering node sees it.
    public struct Metadata: Sendable, Equatable {
        public var term: UInt64
        /// The leader the answering node knows of, if any.
        public var leader: String?
        /// The answering node's role: `leader`, `follower` or `candidate`.
        public var role: String
        public var commitIndex: UInt64
    }

    public var node: String
    public var ringEpoch: UInt64
    public var nodes: [Node]
    /// `nil` for a single node.
    public var metadata: Metadata?

    public init(node: String, ringEpoch: UInt64, nodes: [Node]) {
        self.node = node
        self.ringEpoch = ringEpoch
        self.nodes = nodes
    }
}

/// Leaves the cluster gracefully when the node stops: runs after the gateway has finished its
/// requests (it comes before it in the service group) and before the last checkpoint.
public struct LeaveOnStopService: Service {
    let member: ClusterMember

    public init(member: ClusterMember) {
        self.member = member
    }

    public func run() async throws {
        try? await gracefulShutdown()
        do {
            let moved = try await member.leave()
            member.logger.info("left the cluster", metadata: ClusterMember.movedMetadata(moved))
        } catch {
            member.logger.error("leaving the cluster failed; this node's keys stay here until it is back", metadata: ["error": "\(error)"])
        }
    }
}
