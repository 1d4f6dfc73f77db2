import ChorusActorSystem
import ChorusModel
import Logging
import ServiceLifecycle
import Synchronization

/// The node's view of its peers: the shell of the pure ``MembershipState``.
///
/// Every `interval` the machine's heartbeats go out as calls to the peers' ``ClusterNodeActor``; a
/// reply, or a heartbeat from the peer, is fed back in as hearing from it. When the machine asks
/// a peer for its newer ring, the shell fetches it, and a ring the machine adopts is adopted by the
/// placement (the node's own hand-offs reach the machine the other way). Status changes are
/// logged; with replication, the metadata log's leader takes a down peer off the ring
/// (``MetadataLog``), and without, its channels fail with 503 until it is back (docs/cluster.md).
/// The protocol itself is tested in the deterministic simulator (docs/testing.md).
public final class Membership: Service {
    private let member: ClusterMember
    private let placement: ClusterPlacement
    private let clock: any TimeSource
    private let interval: Duration
    private let state: Mutex<MembershipState>
    private let reports = Mutex<[String: NodeReport]>([:])
    private let restartObservers = Mutex<[@Sendable (String) -> Void]>([])
    private let logger: Logger

    public init(member: ClusterMember, clock: any TimeSource, interval: Duration, suspectAfter: Duration, downAfter: Duration, logger: Logger) {
        self.member = member
        self.placement = member.placement
        self.clock = clock
        self.interval = interval
        self.state = Mutex(
            MembershipState(
                me: member.placement.nodeName, peers: member.placement.peers, ring: member.placement.ring, suspectAfter: suspectAfter, downAfter: downAfter))
        self.logger = logger
        member.attach(self)
        // This node's own ring changes (hand-offs, refreshes after `wrongOwner`) reach the machine.
        placement.onRingChange { [weak self] ring in
            guard let self else { return }
            let now = self.clock.now()
            self.logAndAdopt(self.state.withLock { $0.adopt(ring, now: now) })
        }
    }

    /// Calls `observer` with a peer's name when the peer is seen to have restarted (a new
    /// incarnation in its heartbeats), however briefly it was gone.
    public func onPeerRestart(_ observer: @escaping @Sendable (String) -> Void) {
        restartObservers.withLock { $0.append(observer) }
    }

    /// Keeps `report` as `peer`'s latest, telling the observers if the peer restarted since the
    /// last, and passes on its claim to lead the metadata log.
    private func record(_ report: NodeReport, from peer: String) {
        if let term = report.leading { member.metadataLog?.heardLeader(term: term, from: peer) }
        let previous = reports.withLock { reports in
            defer { reports[peer] = report }
            return reports[peer]?.incarnation
        }
        guard let previous, previous != report.incarnation else { return }
        logger.info("cluster peer restarted", metadata: ["cluster.peer": "\(peer)"])
        for observer in restartObservers.withLock({ $0 }) { observer(peer) }
    }

    /// A peer's heartbeat arrived, with its report.
    func heard(from peer: String, report: NodeReport) {
        record(report, from: peer)
        let now = clock.now()
        let actions = state.withLock { $0.receive(.heartbeat(epoch: report.epoch), from: peer, now: now) }
        logAndAdopt(actions)
        if actions.contains(where: \.isRingRequest) { Task { await self.fetchRings(actions) } }
    }

    /// The ring the failure detector's statuses are about, and the statuses, read together (a
    /// node the ring just added counts as heard in the same step).
    public var statusesWithRing: (ring: HashRing, statuses: [String: FailureDetector.Status]) {
        state.withLock { ($0.ring, $0.detector.all) }
    }

    /// Each peer's status and the report its last heartbeat carried (``ClusterMember/heartbeatReport()``).
    public var view: [(peer: String, status: FailureDetector.Status, report: NodeReport?)] {
        let statuses = state.withLock { $0.detector.all }
        let reports = self.reports.withLock { $0 }
        return statuses.keys.sorted().map { ($0, statuses[$0]!, reports[$0]) }
    }

    /// One round: a heartbeat to every other node of the ring, then a check of who has gone quiet;
    /// returns when every heartbeat has its answer or timed out.
    public func beat() async {
        let peers = round()
        await withTaskGroup(of: Void.self) { group in
            for peer in peers { group.addTask { await self.heartbeat(peer) } }
        }
    }

    /// Checks who has gone quiet and returns the peers to send heartbeats to. What the transport
    /// heard from each peer (keepalives answered below the actors) counts, so a peer too busy to
    /// answer a heartbeat in time is not declared down while its node still answers.
    private func round() -> [String] {
        let now = clock.now()
        let system = member.actorSystem
        let traffic = placement.peers.compactMap { peer in system.silence(from: peer).map { (peer, now.advanced(by: .zero - $0)) } }
        let actions = state.withLock { state in
            traffic.flatMap { state.traffic(from: $0.0, at: $0.1, now: now) } + state.tick(now: now)
        }
        logAndAdopt(actions)
        return actions.compactMap { action in
            guard case .send(.heartbeat, let peer) = action else { return nil }
            return peer
        }
    }

    private func heartbeat(_ peer: String) async {
        guard let actor = try? member.nodeActor(on: peer),
            let report = try? await ClusterActorSystem.$callTimeout.withValue(interval * 2, operation: { try await actor.heartbeat(member.heartbeatReport()) })
        else { return }
        record(report, from: peer)
        let now = clock.now()
        let actions = state.withLock { $0.receive(.heartbeatReply(epoch: report.epoch), from: peer, now: now) }
        logAndAdopt(actions)
        await fetchRings(actions)
    }

    /// The ring requests among `actions`: a peer with a newer ring is asked for it, so every node
    /// converges on the latest. (The machine's other messages are the return values of calls:
    /// a heartbeat's reply, a ring request's ring.)
    private func fetchRings(_ actions: [MembershipState.Action]) async {
        for case .send(.ringRequest, let peer) in actions {
            guard let actor = try? member.nodeActor(on: peer), let ring = try? await actor.ring() else { continue }
            let now = clock.now()
            logAndAdopt(state.withLock { $0.receive(.ring(ring.ring), from: peer, now: now) }, from: peer)
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
                if change.to == .down { member.metadataLog?.proposeRingChange() }
            case .adopted(let ring):
                if placement.adopt(RingDescription(ring)) {
                    logger.info("ring refreshed", metadata: ["cluster.epoch": "\(ring.epoch)", "cluster.from": "\(peer ?? "?")"])
                }
            case .send:
                break
            }
        }
    }

    /// Beats until the node stops. A round does not wait for the last round's answers: a peer that
    /// does not answer (paused, or cut off) must delay neither the others' heartbeats nor its own
    /// detection.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                while !Task.isCancelled {
                    for peer in self.round() { group.addTask { await self.heartbeat(peer) } }
                    try? await self.clock.sleep(for: self.interval)
                }
            }
        }
    }
}

extension MembershipState.Action {
    var isRingRequest: Bool { if case .send(.ringRequest, _) = self { true } else { false } }
}
