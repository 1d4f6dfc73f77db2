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

/// The node's view of its peers: the shell of the pure ``MembershipState``.
///
/// Every `interval` the machine's heartbeats go out as calls to the peers' ``ChatNodeActor``; a
/// reply, or a heartbeat from the peer, is fed back in as hearing from it. When the machine asks
/// a peer for its newer ring, the shell fetches it, and a ring the machine adopts is adopted by the
/// placement (the node's own hand-offs reach the machine the other way). Status changes are
/// logged. Down peers stay on the ring: their channels fail with 503 until they are back, since
/// there are no replicas to take over (docs/cluster.md). The protocol itself is tested in the
/// deterministic simulator (docs/testing.md).
public final class Membership: Service {
    private let node: ChatNode
    private let placement: ChatPlacement
    private let interval: Duration
    private let state: Mutex<MembershipState>
    private let reports = Mutex<[String: NodeReport]>([:])
    private let logger: Logger

    public init(node: ChatNode, placement: ChatPlacement, interval: Duration, suspectAfter: Duration, downAfter: Duration, logger: Logger) {
        self.node = node
        self.placement = placement
        self.interval = interval
        self.state = Mutex(
            MembershipState(
                me: placement.nodeName, peers: placement.peers, ring: placement.ring, suspectAfter: suspectAfter, downAfter: downAfter))
        self.logger = logger
        node.attachMembership(self)
        // This node's own ring changes (hand-offs, refreshes after `wrongOwner`) reach the machine.
        placement.onRingChange { [weak self] ring in _ = self?.state.withLock { $0.adopt(ring) } }
    }

    /// A peer's heartbeat arrived, with its report.
    func heard(from peer: String, report: NodeReport) {
        reports.withLock { $0[peer] = report }
        let now = node.clock.now()
        let actions = state.withLock { $0.receive(.heartbeat(epoch: report.epoch), from: peer, now: now) }
        logAndAdopt(actions)
        if actions.contains(where: \.isRingRequest) { Task { await self.fetchRings(actions) } }
    }

    /// Each peer's status and last report.
    public var view: [(peer: String, status: FailureDetector.Status, report: NodeReport?)] {
        let statuses = state.withLock { $0.detector.all }
        let reports = self.reports.withLock { $0 }
        return statuses.keys.sorted().map { ($0, statuses[$0]!, reports[$0]) }
    }

    /// One round: a heartbeat to every other node of the ring, then a check of who has gone quiet.
    public func beat() async {
        let now = node.clock.now()
        let actions = state.withLock { $0.tick(now: now) }
        await withTaskGroup(of: Void.self) { group in
            for action in actions {
                guard case .send(.heartbeat, let peer) = action else { continue }
                group.addTask { await self.heartbeat(peer) }
            }
        }
        logAndAdopt(actions)
    }

    private func heartbeat(_ peer: String) async {
        guard let actor = try? node.nodeActor(on: peer),
            let report = try? await ClusterActorSystem.$callTimeout.withValue(interval * 2, operation: { try await actor.heartbeat(node.report()) })
        else { return }
        reports.withLock { $0[peer] = report }
        let now = node.clock.now()
        let actions = state.withLock { $0.receive(.heartbeatReply(epoch: report.epoch), from: peer, now: now) }
        logAndAdopt(actions)
        await fetchRings(actions)
    }

    /// The ring requests among `actions`: a peer with a newer ring is asked for it, so every node
    /// converges on the latest. (The machine's other messages are the return values of calls:
    /// a heartbeat's reply, a ring request's ring.)
    private func fetchRings(_ actions: [MembershipState.Action]) async {
        for case .send(.ringRequest, let peer) in actions {
            guard let actor = try? node.nodeActor(on: peer), let ring = try? await actor.ring() else { continue }
            let now = node.clock.now()
            let hashRing = HashRing(nodes: ring.nodes, virtualNodes: ring.virtualNodes, epoch: ring.epoch)
            logAndAdopt(state.withLock { $0.receive(.ring(hashRing), from: peer, now: now) }, from: peer)
        }
    }

    /// Logs status changes, and makes the placement adopt a ring the machine adopted.
    private func logAndAdopt(_ actions: [MembershipState.Action], from peer: String? = nil) {
        for action in actions {
            switch action {
            case .status(let change):
                let level: Logger.Level = change.to == .up ? .info : .warning
                logger.log(
                    level: level, "cluster peer \(change.to.rawValue)", metadata: ["cluster.peer": "\(change.peer)", "cluster.was": "\(change.from.rawValue)"])
            case .adopted(let ring):
                if placement.adopt(RingDescription(nodes: ring.nodes, virtualNodes: ring.virtualNodes, epoch: ring.epoch)) {
                    logger.info("ring refreshed", metadata: ["cluster.epoch": "\(ring.epoch)", "cluster.from": "\(peer ?? "?")"])
                }
            case .send:
                break
            }
        }
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

extension MembershipState.Action {
    var isRingRequest: Bool { if case .send(.ringRequest, _) = self { true } else { false } }
}
