import ChorusCluster
import ChorusModel
import ChorusTestSupport

/// A deterministic simulation of a cluster's membership protocol: several ``MembershipState``
/// nodes over an in-process network where one seed decides everything.
///
/// The seed's generator decides every message's delay, loss and duplication, when links are
/// cut and healed (partitions), when nodes crash and restart, and when an operator starts a ring
/// change (a node leaves, or a left node joins again). Time is virtual (milliseconds). A crashed
/// node loses its memory and restarts with exactly what it had made durable: its newest ring
/// (which a real node keeps in `ring.json` when it adopts it). After every step the invariants
/// are checked (``Violation``); the run ends with the network healed and every node up for a
/// settling period, after which every node must hold the newest ring. The same seed gives the
/// same run: ``Result/traceHash`` digests every delivery and every event.
public struct ClusterSimulator {
    /// What the simulation injects, and how long it runs.
    public struct Configuration: Sendable {
        public var nodes = 3
        /// Virtual milliseconds of faults, then `settle` of a healed network.
        public var duration = 60_000
        public var settle = 15_000
        public var heartbeatInterval = 500
        public var suspectAfter = 2_000
        public var downAfter = 5_000
        /// Delivery delay, uniform in 1...maxDelay ms.
        public var maxDelay = 100
        /// Probabilities per message.
        public var loss = 0.05
        public var duplication = 0.02
        /// Chance per heartbeat round that a node crashes (it restarts 1–10 s later), that a link
        /// is cut (healed 1–10 s later), and that the operator starts a ring change.
        public var crash = 0.004
        public var partition = 0.01
        public var ringChange = 0.01
        /// Let a node propose a ring change from its own, possibly stale ring (what a node cut
        /// off from the newest ring would do today). Without agreement on ring changes this can
        /// give two different rings one epoch; off by default, see docs/testing.md.
        public var staleProposals = false

        public init() {}
    }

    /// An invariant that broke, at the virtual time it broke.
    public struct Violation: Error, Sendable, CustomStringConvertible {
        public var time: Int
        public var message: String
        public var description: String { "t=\(time) ms: \(message)" }
    }

    /// What a run did.
    public struct Result: Sendable {
        public var seed: UInt64
        public var traceHash: UInt64
        public var delivered = 0
        public var dropped = 0
        public var crashes = 0
        public var ringChanges = 0
        public var newestEpoch: UInt64 = 0
        public var violations: [Violation] = []
    }

    private struct InFlight {
        var at: Int
        var order: Int
        var from: Int
        var to: Int
        var message: MembershipState.Message
    }

    private struct Node {
        var state: MembershipState?
        /// What survives a crash: the newest ring this node adopted.
        var durableRing: HashRing
        var restartAt: Int?
        /// Highest epoch this node has ever held (durable, so never lower after a restart).
        var highestEpoch: UInt64
        var crashedSince: Int?
    }

    public let configuration: Configuration
    public let seed: UInt64
    private var random: SeededRandom
    private var nodes: [Node] = []
    private var names: [String]
    private var inFlight: [InFlight] = []
    private var sent = 0
    private var now = 0
    /// Cut links (``link(_:_:)``) and when they heal.
    private var cutLinks: [Int: Int] = [:]
    /// Every ring seen for each epoch, to check that an epoch names one ring.
    private var ringsByEpoch: [UInt64: HashRing] = [:]
    private var result: Result

    public init(seed: UInt64, configuration: Configuration = Configuration()) {
        self.seed = seed
        self.configuration = configuration
        self.random = SeededRandom(seed: seed)
        self.names = (1...configuration.nodes).map { "node-\($0)" }
        self.result = Result(seed: seed, traceHash: 0xcbf2_9ce4_8422_2325)
        let ring = HashRing(nodes: names, virtualNodes: 8, epoch: 1)
        ringsByEpoch[1] = ring
        nodes = names.map { _ in Node(state: nil, durableRing: ring, restartAt: nil, highestEpoch: 1) }
        for index in nodes.indices { start(index) }
    }

    /// Runs the whole simulation.
    public static func run(seed: UInt64, configuration: Configuration = Configuration()) -> Result {
        var simulator = ClusterSimulator(seed: seed, configuration: configuration)
        return simulator.run()
    }

    public mutating func run() -> Result {
        let end = configuration.duration + configuration.settle
        var nextTick = 0
        while now <= end, result.violations.isEmpty {
            // The next event: a delivery, or the next heartbeat round.
            let delivery = inFlight.indices.min { (inFlight[$0].at, inFlight[$0].order) < (inFlight[$1].at, inFlight[$1].order) }
            if let delivery, inFlight[delivery].at < nextTick {
                let message = inFlight.remove(at: delivery)
                now = message.at
                deliver(message)
                checkEpoch(message.to)
            } else {
                now = nextTick
                round(faults: now < configuration.duration)
                nextTick += configuration.heartbeatInterval
                for index in nodes.indices { checkEpoch(index) }
                checkDetection()
            }
        }
        if result.violations.isEmpty { checkConverged() }
        result.newestEpoch = ringsByEpoch.keys.max() ?? 0
        return result
    }

    // MARK: Steps

    private mutating func round(faults: Bool) {
        if !faults {
            // Settling: heal every link and restart every node.
            cutLinks = [:]
            for index in nodes.indices where nodes[index].state == nil { start(index) }
        }
        for (link, healAt) in cutLinks where healAt <= now {
            cutLinks[link] = nil
            trace(.heal, [link])
        }
        for index in nodes.indices {
            if nodes[index].state == nil, let restartAt = nodes[index].restartAt, restartAt <= now { start(index) }
        }
        if faults { injectFaults() }
        for index in nodes.indices {
            guard nodes[index].state != nil else { continue }
            let actions = nodes[index].state!.tick(now: Timestamp(milliseconds: Int64(now)))
            perform(actions, at: index)
        }
    }

    private mutating func injectFaults() {
        let n = nodes.count
        for index in nodes.indices where nodes[index].state != nil && random.chance(configuration.crash) {
            // Keep a majority up, as a cluster needs (and so the run keeps making progress).
            guard nodes.filter({ $0.state != nil }).count > n / 2 + 1 || n <= 2 else { break }
            nodes[index].state = nil
            nodes[index].crashedSince = now
            nodes[index].restartAt = now + 1_000 + Int(random.next() % 9_000)
            inFlight.removeAll { $0.to == index }
            result.crashes += 1
            trace(.crash, [index])
        }
        if random.chance(configuration.partition) {
            let a = Int(random.next() % UInt64(n))
            let b = (a + 1 + Int(random.next() % UInt64(n - 1))) % n
            cutLinks[Self.link(a, b)] = now + 1_000 + Int(random.next() % 9_000)
            trace(.cut, [Self.link(a, b)])
        }
        if random.chance(configuration.ringChange) { proposeRingChange() }
    }

    /// The operator leaves a node, or brings a left node back, through one node's hand-off.
    private mutating func proposeRingChange() {
        let up = nodes.indices.filter { nodes[$0].state != nil }
        guard !up.isEmpty else { return }
        let newest = ringsByEpoch.keys.max() ?? 1
        let proposer = up[Int(random.next() % UInt64(up.count))]
        var base = nodes[proposer].state!.ring
        if !configuration.staleProposals {
            // Today's hand-off first fetches the newest ring; model it as reaching it.
            guard let current = ringsByEpoch[newest] else { return }
            base = current
        }
        let name = names[proposer]
        let target: HashRing
        if base.nodes.contains(name) {
            guard base.nodes.count > 1 else { return }
            target = base.removing(name)
        } else {
            target = base.adding(name)
        }
        result.ringChanges += 1
        trace(.propose, [proposer, Int(target.epoch)])
        let actions = nodes[proposer].state!.adopt(target, now: Timestamp(milliseconds: Int64(now)))
        perform(actions, at: proposer)
    }

    private mutating func start(_ index: Int) {
        nodes[index].state = MembershipState(
            me: names[index], peers: names, ring: nodes[index].durableRing,
            suspectAfter: .milliseconds(configuration.suspectAfter), downAfter: .milliseconds(configuration.downAfter))
        nodes[index].restartAt = nil
        nodes[index].crashedSince = nil
        trace(.start, [index])
    }

    /// A link between two nodes, either way round.
    private static func link(_ a: Int, _ b: Int) -> Int { min(a, b) << 16 | max(a, b) }

    private mutating func deliver(_ message: InFlight) {
        guard nodes[message.to].state != nil, cutLinks[Self.link(message.from, message.to)] == nil else {
            result.dropped += 1
            return
        }
        result.delivered += 1
        trace(.deliver, [Self.code(message.message), message.from, message.to])
        let actions = nodes[message.to].state!.receive(message.message, from: names[message.from], now: Timestamp(milliseconds: Int64(now)))
        perform(actions, at: message.to)
    }

    private mutating func perform(_ actions: [MembershipState.Action], at index: Int) {
        for action in actions {
            switch action {
            case .send(let message, let peer):
                guard let to = names.firstIndex(of: peer), !random.chance(configuration.loss) else {
                    result.dropped += 1
                    continue
                }
                let copies = random.chance(configuration.duplication) ? 2 : 1
                for _ in 0..<copies {
                    sent += 1
                    let delay = 1 + Int(random.next() % UInt64(configuration.maxDelay))
                    inFlight.append(InFlight(at: now + delay, order: sent, from: index, to: to, message: message))
                }
            case .adopted(let ring):
                nodes[index].durableRing = ring
                record(ring, at: index)
            case .status:
                break
            }
        }
    }

    // MARK: Invariants

    private mutating func record(_ ring: HashRing, at index: Int) {
        if let known = ringsByEpoch[ring.epoch], known != ring {
            fail("two rings have epoch \(ring.epoch): \(known.nodes) and \(ring.nodes) (node \(names[index]))")
        }
        ringsByEpoch[ring.epoch] = ring
    }

    /// Ring epochs only move forward, across crashes too (after every step of `index`).
    private mutating func checkEpoch(_ index: Int) {
        guard let state = nodes[index].state else { return }
        if state.ring.epoch < nodes[index].highestEpoch {
            fail("\(names[index]) went back from epoch \(nodes[index].highestEpoch) to \(state.ring.epoch)")
        }
        nodes[index].highestEpoch = max(nodes[index].highestEpoch, state.ring.epoch)
    }

    /// A peer crashed for longer than the detector's bound is down for every running node
    /// (after every heartbeat round, when the detectors re-evaluate).
    private mutating func checkDetection() {
        let bound = configuration.downAfter + configuration.maxDelay + configuration.heartbeatInterval
        for (peer, other) in nodes.enumerated() {
            guard let since = other.crashedSince, now - since > bound else { continue }
            for (index, node) in nodes.enumerated() where index != peer {
                guard let state = node.state, state.detector.status(of: names[peer]) != .down else { continue }
                fail("\(names[index]) still sees \(names[peer]) \(state.detector.status(of: names[peer])) \(now - since) ms after it crashed")
            }
        }
    }

    /// After the settling period: every node holds the newest ring, and sees every other node up.
    private mutating func checkConverged() {
        guard let newest = ringsByEpoch.keys.max() else { return }
        for (index, node) in nodes.enumerated() {
            guard let state = node.state else { continue }
            if state.ring.epoch != newest {
                fail("\(names[index]) holds epoch \(state.ring.epoch) after settling; the newest is \(newest)")
            }
        }
    }

    private mutating func fail(_ message: String) {
        result.violations.append(Violation(time: now, message: message))
    }

    /// A message in the trace: its kind and epoch as one number.
    private static func code(_ message: MembershipState.Message) -> Int {
        switch message {
        case .heartbeat(let epoch): 1 + Int(epoch) << 3
        case .heartbeatReply(let epoch): 2 + Int(epoch) << 3
        case .ringRequest: 3
        case .ring(let ring): 4 + Int(ring.epoch) << 3
        }
    }

    /// Kinds of traced events.
    private enum Event: Int {
        case deliver = 10, start, crash, cut, heal, propose
    }

    /// Folds an event into the trace hash (FNV-1a over its numbers).
    private mutating func trace(_ event: Event, _ numbers: [Int]) {
        var hash = result.traceHash
        for number in [now, event.rawValue] + numbers {
            hash = (hash ^ UInt64(bitPattern: Int64(number))) &* 0x0000_0100_0000_01B3
        }
        result.traceHash = hash
    }
}
