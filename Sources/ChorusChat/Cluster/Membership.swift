import ChorusActorSystem
import ChorusCluster
import ChorusModel
import Logging
import ServiceLifecycle
import Synchronization

/// What one node reports about itself in a heartbeat reply.
public struct NodeReport: Sendable, Codable, Equatable {
    public var node: String
    public var epoch: UInt64
    public var channelActors: Int
    public var userActors: Int
}

/// The node's view of its peers: heartbeats out, a ``FailureDetector`` over what comes back.
///
/// Every `interval` the service sends a heartbeat (a call to the peer's ``ChatNodeActor``) to each
/// peer; a reply, or a heartbeat from the peer, counts as hearing from it. Status changes are
/// logged. A reply that shows a newer ring epoch makes this node fetch and adopt that ring. Down peers stay on the ring: their channels fail with 503 until they are back, since
/// there are no replicas to take over (docs/cluster.md).
public final class Membership: Service {
    private let node: ChatNode
    private let placement: ChatPlacement
    private let interval: Duration
    private let detector: Mutex<FailureDetector>
    private let reports = Mutex<[String: NodeReport]>([:])
    private let logger: Logger

    public init(node: ChatNode, placement: ChatPlacement, interval: Duration, suspectAfter: Duration, downAfter: Duration, logger: Logger) {
        self.node = node
        self.placement = placement
        self.interval = interval
        self.detector = Mutex(FailureDetector(peers: placement.peers, suspectAfter: suspectAfter, downAfter: downAfter))
        self.logger = logger
        node.attachMembership(self)
    }

    /// A peer was heard from (a heartbeat or its reply).
    func heard(from peer: String, report: NodeReport?) {
        let now = node.clock.now()
        if let change = detector.withLock({ $0.heard(from: peer, at: now) }) { log(change) }
        if let report { reports.withLock { $0[peer] = report } }
    }

    /// Each peer's status and last report.
    public var view: [(peer: String, status: FailureDetector.Status, report: NodeReport?)] {
        let statuses = detector.withLock { $0.all }
        let reports = self.reports.withLock { $0 }
        return statuses.keys.sorted().map { ($0, statuses[$0]!, reports[$0]) }
    }

    /// One round: a heartbeat to every peer, then a check of who has gone quiet.
    public func beat() async {
        let me = node.report()
        await withTaskGroup(of: Void.self) { group in
            for peer in placement.peers {
                group.addTask {
                    guard let actor = try? self.node.nodeActor(on: peer) else { return }
                    let timeout = self.interval * 2
                    guard let report = try? await ClusterActorSystem.$callTimeout.withValue(timeout, operation: { try await actor.heartbeat(me) })
                    else { return }
                    self.heard(from: peer, report: report)
                    // A peer with a newer ring: adopt it, so every node converges on the latest.
                    if report.epoch > self.placement.epoch, let ring = try? await actor.ring(), self.placement.adopt(ring) {
                        self.logger.info("ring refreshed", metadata: ["cluster.epoch": "\(ring.epoch)", "cluster.from": "\(peer)"])
                    }
                }
            }
        }
        let now = node.clock.now()
        for change in detector.withLock({ $0.tick(now: now) }) { log(change) }
    }

    private func log(_ change: FailureDetector.Change) {
        let level: Logger.Level = change.to == .up ? .info : .warning
        logger.log(level: level, "cluster peer \(change.to.rawValue)", metadata: ["cluster.peer": "\(change.peer)", "cluster.was": "\(change.from.rawValue)"])
    }

    /// Beats until the node stops.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.beat()
                try? await Task.sleep(for: self.interval)
            }
        }
    }
}

/// The cluster as one node sees it (for `GET /v1/admin/cluster`).
public struct ClusterView: Sendable, Equatable {
    public struct Node: Sendable, Equatable {
        public var name: String
        /// `up`, `suspect` or `down` (this node is always `up`).
        public var status: String
        public var isSelf: Bool
        /// Active actors on that node; `nil` when it could not be asked.
        public var channelActors: Int?
        public var userActors: Int?
    }

    public var node: String
    public var ringEpoch: UInt64
    public var nodes: [Node]
}

extension ChatNode {
    /// Every node with its status and actor counts (peers are asked now, briefly).
    public func clusterView() async -> ClusterView {
        let me = report()
        var nodes = [ClusterView.Node(name: me.node, status: "up", isSelf: true, channelActors: me.channelActors, userActors: me.userActors)]
        let statuses = Dictionary(uniqueKeysWithValues: (membership?.view ?? []).map { ($0.peer, $0.status) })
        let peers = cluster?.peers ?? []
        let reports = await withTaskGroup(of: (String, NodeReport?).self) { group in
            for peer in peers {
                group.addTask {
                    guard let actor = try? self.nodeActor(on: peer) else { return (peer, nil) }
                    let report = try? await ClusterActorSystem.$callTimeout.withValue(.seconds(1)) { try await actor.status() }
                    return (peer, report)
                }
            }
            var reports: [String: NodeReport] = [:]
            for await (peer, report) in group { reports[peer] = report }
            return reports
        }
        for peer in peers {
            let status = statuses[peer]?.rawValue ?? (reports[peer] == nil ? "down" : "up")
            nodes.append(
                ClusterView.Node(name: peer, status: status, isSelf: false, channelActors: reports[peer]?.channelActors, userActors: reports[peer]?.userActors))
        }
        return ClusterView(node: me.node, ringEpoch: me.epoch, nodes: nodes.sorted { $0.name < $1.name })
    }
}
