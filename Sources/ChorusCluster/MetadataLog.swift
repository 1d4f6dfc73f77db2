import ChorusActorSystem
import ChorusModel
import Logging
import ServiceLifecycle
import Synchronization

/// The cluster's metadata log on one node: the shell of a ``RaftNode`` over the configured nodes,
/// whose committed ``ClusterCommand``s every node applies, in order, to its ``ClusterMetadata``
/// (docs/replication.md).
///
/// The shell holds no protocol logic. Under one lock it feeds the machine an input (a peer's
/// message, a tick of the injected clock, a proposal), makes what must survive a crash durable
/// (`raft.json` in the data directory, before anything is sent), and applies newly committed
/// entries; then, outside the lock, it sends the machine's messages as one-way calls to the
/// peers' ``ClusterNodeActor`` and reports a changed ring to `onChange`. A lost or failed call is
/// simply a lost message: Raft resends.
public final class MetadataLog: Service {
    public typealias Raft = RaftNode<ClusterCommand>

    private struct Shell {
        var raft: Raft
        var metadata: ClusterMetadata
        /// The last log index applied to `metadata`.
        var applied: UInt64 = 0
    }

    private let shell: Mutex<Shell>
    /// The newest leader claim heard from a peer's heartbeat, for the machine's next step: taking
    /// it there keeps heartbeats off the shell's lock, which a step holds while it saves `raft.json`.
    private let heardClaim = Mutex<(term: UInt64, peer: String, at: Int64)?>(nil)
    /// What this node's heartbeats may claim (``RaftNode/claim``), as of its last step.
    private let ownClaim = Mutex<(term: UInt64, until: Int64)?>(nil)
    /// Where `raft.json` lives; `nil` keeps it in memory (tests, in-memory nodes).
    private let directory: String?
    private let clock: any TimeSource
    /// The Raft heartbeat: the longest ``run()`` sleeps between ticks.
    private let heartbeatInterval: Duration
    private let member: ClusterMember
    private let onChange: @Sendable (ClusterMetadata) -> Void
    private let logger: Logger
    /// How many nodes hold each key; above 1, the leader takes down nodes off the ring.
    private let replicationFactor: Int
    /// The configured nodes (the Raft group), on the ring or not.
    public let members: [String]
    /// The last ring change this node proposed, by term and epoch: it proposes each epoch once
    /// per term (a proposal that a lost leadership dropped may be made again in a later term).
    private let proposed = Mutex<(term: UInt64, epoch: UInt64)>((0, 0))

    /// `members` are the configured nodes (the Raft group); `directory` holds what this node made
    /// durable before (it restarts from it). Timeouts are in milliseconds of `clock`.
    public init(
        member: ClusterMember, members: [String], virtualNodes: Int, directory: String?, clock: any TimeSource,
        electionTimeout: Duration = .milliseconds(1_000), heartbeatInterval: Duration = .milliseconds(200), seed: UInt64? = nil,
        replicationFactor: Int = 1, logger: Logger = Logger(label: "chorus.metadata"), onChange: @escaping @Sendable (ClusterMetadata) -> Void
    ) throws {
        let me = member.placement.nodeName
        let persistent = try directory.flatMap { try RaftFile.load(ClusterCommand.self, from: $0) } ?? Raft.Persistent()
        let raft = Raft(
            me: me, members: members, persistent: persistent, electionTimeout: electionTimeout.milliseconds,
            heartbeatInterval: heartbeatInterval.milliseconds, seed: seed ?? UInt64(truncatingIfNeeded: me.hashValue), now: clock.now().milliseconds)
        self.shell = Mutex(Shell(raft: raft, metadata: ClusterMetadata(nodes: members, virtualNodes: virtualNodes)))
        self.directory = directory
        self.clock = clock
        self.heartbeatInterval = heartbeatInterval
        self.member = member
        self.onChange = onChange
        self.logger = logger
        self.replicationFactor = replicationFactor
        self.members = members.sorted()
        member.attach(self)
    }

    /// Whether joins and graceful leaves go through the log (``proposeJoin(_:)``,
    /// ``proposeLeave(_:)``): with replication, a joining or leaving node needs no hand-off (each
    /// key that moves recovers from a majority of its replicas, old and new), and a ring decided by
    /// the log never races a failover for an epoch. Without, keys are handed over first
    /// (``ClusterMember/joinIfNeeded()``, ``ClusterMember/leave()``).
    public var decidesRingChanges: Bool { replicationFactor > 1 }

    /// The metadata as of the last applied entry.
    public var metadata: ClusterMetadata { shell.withLock { $0.metadata } }

    /// This node's view of the group: its term, role, the leader it knows, and the commit index.
    public var status: (term: UInt64, role: Raft.Role, leader: String?, commitIndex: UInt64) {
        shell.withLock { ($0.raft.persistent.term, $0.raft.role, $0.raft.leader, $0.raft.commitIndex) }
    }

    /// The term this node leads, while it may claim it (``RaftNode/claim``): what its heartbeats
    /// carry (``NodeReport/leading``).
    public var leading: UInt64? {
        let now = clock.now().milliseconds
        return ownClaim.withLock { $0 }.flatMap { now < $0.until ? $0.term : nil }
    }

    /// `peer`'s heartbeat claimed that it leads `term`. The machine takes the newest claim at its
    /// next step (``RaftNode/heardLeader(term:from:now:)``), before that step's input: a tick
    /// at the election deadline sees it, and so does a pre-vote.
    func heardLeader(term: UInt64, from peer: String) {
        let now = clock.now().milliseconds
        heardClaim.withLock { claim in
            if claim.map({ term >= $0.term }) ?? true { claim = (term, peer, now) }
        }
    }

    /// A peer's message.
    func receive(_ message: Raft.Message, from peer: String) {
        let now = clock.now().milliseconds
        step { $0.receive(message, from: peer, now: now) }
    }

    /// Time passed: elections and heartbeats that are due; a leader proposes the ring change its
    /// failure detector calls for (``RingPolicy``).
    public func tick() {
        let now = clock.now().milliseconds
        step { $0.tick(now: now) }
        proposeRingChange()
    }

    /// As leader, takes a node the failure detector declared down off the newest ring this node
    /// knows, once per epoch. Called at every tick, when this node becomes the leader or applies
    /// a new ring, and by ``Membership`` as soon as a peer goes down (so a failover does not wait
    /// for the next tick).
    func proposeRingChange() {
        guard replicationFactor > 1, status.role == .leader, let membership = member.membership else { return }
        // Statuses about the ring they were judged on, and only when that is this node's newest
        // (a node a newer ring brought back is not down, whatever the detector said before).
        let (watched, statuses) = membership.statusesWithRing
        let ring = member.placement.description
        guard watched.epoch == ring.epoch,
            let command = RingPolicy.proposal(ring: ring, statuses: statuses, replicationFactor: replicationFactor, configured: members.count),
            case .ring(let proposal, _) = command
        else { return }
        proposeOnce(command, epoch: proposal.epoch)
    }

    /// As leader, proposes the newest ring this node knows with `node` added, in the next epoch
    /// (a node rejoining after it was taken off, or joining for the first time). Returns whether
    /// it proposed, or `node` is on that ring already. The ring is applied on every node once
    /// committed, like every ring the log decides, so joins and failovers never race for an epoch.
    public func proposeJoin(_ node: String) -> Bool {
        guard members.contains(node) else { return false }
        let ring = member.placement.description
        if ring.nodes.contains(node) { return true }
        let joined = RingDescription(ring.ring.adding(node))
        return status.role == .leader && proposeOnce(.ring(joined, reason: "join(\(node))"), epoch: joined.epoch)
    }

    /// As leader, proposes the newest ring this node knows without `node` (a graceful leave), in
    /// the next epoch. Returns whether it proposed, or `node` is off that ring already. The last
    /// node on a ring cannot leave it.
    public func proposeLeave(_ node: String) -> Bool {
        guard members.contains(node) else { return false }
        let ring = member.placement.description
        guard ring.nodes.contains(node) else { return true }
        guard ring.nodes.count > 1 else { return false }
        let left = RingDescription(ring.ring.removing(node))
        return status.role == .leader && proposeOnce(.ring(left, reason: "leave(\(node))"), epoch: left.epoch)
    }

    /// As leader, proposes a cluster-wide setting's new value; returns whether it proposed, or
    /// the value is the applied one already.
    public func proposeSetting(key: String, value: String?) -> Bool {
        if metadata.settings[key] == value { return true }
        return status.role == .leader && propose(.setting(key: key, value: value))
    }

    /// Proposes a ring change of `epoch` unless this node proposed one of that epoch in its term
    /// (checked and noted at once: the log's ticks and the membership's status changes both propose).
    @discardableResult
    private func proposeOnce(_ command: ClusterCommand, epoch: UInt64) -> Bool {
        let term = status.term
        let fresh = proposed.withLock { proposed in
            guard term > proposed.term || epoch > proposed.epoch else { return false }
            proposed = (term, epoch)
            return true
        }
        return fresh && propose(command)
    }

    /// Proposes `command` if this node leads; returns whether it did (it is committed once a
    /// majority stores it, and applied on every node then).
    @discardableResult
    public func propose(_ command: ClusterCommand) -> Bool {
        var proposed = false
        step { raft in
            guard let (_, actions) = raft.propose(command) else { return [] }
            proposed = true
            return actions
        }
        if proposed { logger.info("proposed", metadata: ["cluster.command": "\(command)"]) }
        return proposed
    }

    /// Runs one input through the machine: persist, apply, then send and report.
    private func step(_ input: (inout Raft) -> [Raft.Action]) {
        let (actions, changed): ([Raft.Action], ClusterMetadata?) = shell.withLock { shell in
            let before = shell.raft.persistent
            let claim = heardClaim.withLock { claim in
                defer { claim = nil }
                return claim
            }
            if let claim { shell.raft.heardLeader(term: claim.term, from: claim.peer, now: claim.at) }
            let actions = input(&shell.raft)
            if shell.raft.persistent != before, let directory {
                do {
                    try RaftFile.save(shell.raft.persistent, to: directory)
                } catch {
                    // Sending without the state durable could elect two leaders; send nothing.
                    logger.error("cannot save the metadata log; not sending", metadata: ["error": "\(error)"])
                    return ([], nil)
                }
            }
            // Claimed only once what made this node leader is durable.
            ownClaim.withLock { $0 = shell.raft.claim }
            var changed: ClusterMetadata?
            while shell.applied < shell.raft.commitIndex {
                shell.applied += 1
                if let command = shell.raft.persistent.log[Int(shell.applied - 1)].command, shell.metadata.apply(command) {
                    changed = shell.metadata
                }
            }
            return (actions, changed)
        }
        for action in actions {
            switch action {
            case .send(let message, let peer):
                Task { await self.send(message, to: peer) }
            case .becameLeader(let term):
                logger.info("leading the metadata log", metadata: ["cluster.term": "\(term)"])
            case .committed:
                break
            }
        }
        if let changed {
            logger.info("ring decided", metadata: ["cluster.epoch": "\(changed.epoch)", "cluster.nodes": "\(changed.ring.nodes)"])
            onChange(changed)
        }
        // A new leader, or a new ring (RingPolicy takes one node off a ring at a time): a node
        // already down is taken off now, not at the next tick.
        if changed != nil || actions.contains(where: \.isBecameLeader) { proposeRingChange() }
    }

    private func send(_ message: Raft.Message, to peer: String) async {
        let me = member.placement.nodeName
        guard let actor = try? member.nodeActor(on: peer) else { return }
        // One-way: Raft's answers are messages of their own, and it resends what is lost. A peer
        // that cannot be reached within two heartbeats is not waited for.
        _ = try? await ClusterActorSystem.$oneWay.withValue(true) {
            try await ClusterActorSystem.$callTimeout.withValue(heartbeatInterval * 2) { try await actor.raft(message, from: me) }
        }
    }

    /// Ticks until the node stops: at the Raft node's next deadline (a leader's heartbeat, a
    /// follower's election timeout), and at least once a heartbeat interval, which bounds how late
    /// a deadline that an input moved earlier is met. (A fixed tick of a quarter heartbeat woke
    /// every node 100 times a second.)
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                self.tick()
                let deadline = self.shell.withLock { $0.raft.deadline }
                let untilDeadline = Duration.milliseconds(max(1, deadline - self.clock.now().milliseconds))
                try? await self.clock.sleep(for: min(untilDeadline, self.heartbeatInterval))
            }
        }
    }
}

extension MetadataLog.Raft.Action {
    fileprivate var isBecameLeader: Bool { if case .becameLeader = self { true } else { false } }
}

extension Duration {
    /// Whole milliseconds.
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }
}
