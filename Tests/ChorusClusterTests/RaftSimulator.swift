import ChorusCluster
import ChorusTestSupport

/// A deterministic simulation of the metadata log's consensus: 3 or 5 ``RaftNode`` members over
/// an in-process network where one seed decides everything, driven as a shell drives them.
///
/// The seed's generator decides every message's delay (so messages overtake each other), loss
/// and duplication; when links are cut and healed (one link, or every link of one node, often
/// the leader's); when nodes crash and restart; when rounds come (every 10–50 ms: each running
/// node is ticked); and when a client proposes the next command (1, 2, 3, …) to the node it
/// believes leads. Time is virtual (milliseconds). After every step the simulator makes the
/// node's `persistent` durable before what the step sent can arrive ("durable before send"); a
/// crashed node loses everything else and restarts from it. The invariants are checked as the
/// steps report what they did (`RaftSimulator+Checks.swift`). The run ends with a settling
/// period (every link healed, every node up, no loss), after which a leader must exist and a
/// command proposed while settling must be committed on every node. The same seed gives the same
/// run: ``Result/traceHash`` digests every delivery and every event.
public struct RaftSimulator {
    typealias Raft = RaftNode<Int>

    /// What the simulation injects, and how long it runs.
    public struct Configuration: Sendable {
        /// Members of the group.
        public var nodes = 3
        /// Virtual ms of faults, then `settle` ms with every link healed, every node up and no loss.
        public var duration = 20_000, settle = 5_000
        /// The members' timing: an election timeout is random in `electionTimeout ..< 2 × electionTimeout`.
        public var electionTimeout: Int64 = 300, heartbeatInterval: Int64 = 100
        /// Rounds (restarts, faults, a client's proposal, a tick of every running node) come
        /// every `minTick...maxTick` ms.
        public var minTick = 10, maxTick = 50
        /// Delivery delay, uniform in 1...maxDelay ms; loss and duplication per message.
        public var maxDelay = 30, loss = 0.03, duplication = 0.02
        /// Chance per round that the client proposes a command.
        public var propose = 0.15
        /// Chance per round that each running node sends each peer its leader claim (its
        /// ``RaftNode/leading`` term, as Chorus's membership heartbeats carry it), over the same
        /// network as messages; 0 sends none.
        public var leaderClaims = 0.0
        /// Chance per round that a running node crashes (any number may be down at once); it
        /// restarts `minRestart...maxRestart` ms later.
        public var crash = 0.003, minRestart = 100, maxRestart = 3_000
        /// Chance per round of a partition: a third isolate the leader (if there is one), a third
        /// a random node, a third cut one link; healed `minHeal...maxHeal` ms later.
        public var partition = 0.008, minHeal = 200, maxHeal = 3_000
        /// A bug to inject, so a test can show that the checks catch it.
        public var bug: Bug?

        public init() {}
    }

    /// Bugs the simulation can inject.
    public enum Bug: Sendable {
        /// The shell makes `persistent` durable after it sends what the step produced, and a crash
        /// falls in between: modelled as saving only every other change of `persistent`, so a
        /// restarted node may have lost its last vote, its term, or entries it acknowledged.
        case persistAfterSend
    }

    /// An invariant that broke, at the virtual time it broke.
    public typealias Violation = ClusterSimulator.Violation

    /// What a run did.
    public struct Result: Sendable {
        public var seed: UInt64
        public var traceHash: UInt64
        public var delivered = 0, dropped = 0
        /// Leader claims delivered (``Configuration/leaderClaims``).
        public var claims = 0
        /// Elections won (`becameLeader`); crashes; partitions, and those that isolated the leader.
        public var elections = 0, crashes = 0, partitions = 0, leaderIsolations = 0
        /// Commands the client proposed, and those a leader accepted.
        public var proposed = 0, accepted = 0
        /// Entries committed (the highest index any node reported committed); entries a leader
        /// committed from an older term than its own (§5.4.2: along with one of its own term).
        public var committed = 0, olderTermCommits = 0
        /// Appends that made a follower drop a conflicting suffix of its log.
        public var overwrites = 0
        public var violations: [Violation] = []
    }

    enum Event {
        case round
        case deliver(from: Int, to: Int, RaftNode<Int>.Message)
        case claim(from: Int, to: Int, term: UInt64)
    }

    /// A member: the running state machine, and what survives a crash.
    struct Node {
        /// Nil while crashed.
        var raft: Raft?
        /// What it made durable: its `persistent`, as of its last save.
        var durable = Raft.Persistent()
        /// When a crashed node restarts.
        var restartAt = 0
        /// The highest `committed(upTo:)` it reported since it last started.
        var reported = 0
        /// For ``Bug/persistAfterSend``: a digest of the last `persistent` seen, and how many
        /// changes of it were seen.
        var seen = Fingerprint(Raft.Persistent())
        var changes = 0
    }

    /// Enough of a `persistent` to tell that a step changed it (its term, vote, last index and term).
    struct Fingerprint: Equatable {
        var term: UInt64
        var votedFor: String?
        var lastIndex: UInt64
        var lastTerm: UInt64

        init(_ persistent: RaftNode<Int>.Persistent) {
            term = persistent.term
            votedFor = persistent.votedFor
            lastIndex = persistent.lastIndex
            lastTerm = persistent.lastTerm
        }
    }

    /// An entry's place in the history: its index and term.
    struct EntryID: Hashable {
        var index: Int
        var term: UInt64
    }

    /// What an entry's place determines: its command, and the term of the entry before it.
    struct EntryFacts: Equatable {
        var command: Int?
        var previousTerm: UInt64
    }

    let configuration: Configuration
    var random: SeededRandom
    let names: [String]
    var nodes: [Node]
    var events: [(at: Int, order: Int, event: Event)] = []
    /// The virtual time, and events scheduled so far.
    var now = 0, scheduled = 0
    /// Cut links (``link(_:_:)``) and when they heal.
    var cutLinks: [Int: Int] = [:]
    /// The client: the node it believes leads (nil: it knows none), and the last command it proposed.
    var believed: Int?
    var lastCommand = 0
    /// The first command proposed while settling, and the first index committed that holds one.
    var firstSettleCommand: Int?
    var settleIndex: Int?
    /// The node that won each term's election.
    var leaders: [UInt64: Int] = [:]
    /// The entry committed at each index (`committed[i - 1]` for index `i`), and the lowest term
    /// in which a node reported it committed.
    var committed: [RaftNode<Int>.Entry] = []
    var commitTerms: [UInt64] = []
    /// Every (index, term) that was ever in a log, with what it determines.
    var history: [EntryID: EntryFacts] = [:]
    var result: Result

    private init(seed: UInt64, configuration: Configuration) {
        self.configuration = configuration
        self.random = SeededRandom(seed: seed)
        self.names = (1...configuration.nodes).map { "node-\($0)" }
        self.nodes = Array(repeating: Node(), count: configuration.nodes)
        self.result = Result(seed: seed, traceHash: 0xcbf2_9ce4_8422_2325)
        for index in nodes.indices { start(index) }
    }

    /// Runs the whole simulation.
    public static func run(seed: UInt64, configuration: Configuration = Configuration()) -> Result {
        var simulator = RaftSimulator(seed: seed, configuration: configuration)
        return simulator.run()
    }

    private mutating func run() -> Result {
        let end = configuration.duration + configuration.settle
        schedule(.round, after: 0)
        while result.violations.isEmpty,
              let next = events.indices.min(by: { (events[$0].at, events[$0].order) < (events[$1].at, events[$1].order) }),
              events[next].at <= end {
            let event = events.remove(at: next)
            now = event.at
            switch event.event {
            case .round:
                round()
            case .deliver(let from, let to, let message):
                deliver(message, from: from, to: to)
            case .claim(let from, let to, let term):
                deliverClaim(term, from: from, to: to)
            }
        }
        if result.violations.isEmpty { checkSettled() }
        return result
    }

    // MARK: Steps

    private mutating func round() {
        schedule(.round, after: pick(configuration.minTick, configuration.maxTick))
        // Settling: every link healed, every node up, no faults.
        let settling = now >= configuration.duration
        if settling {
            cutLinks = [:]
        } else {
            // In key order, so the trace does not depend on the process's hash seed.
            for (link, healAt) in cutLinks.sorted(by: { $0.key < $1.key }) where healAt <= now {
                cutLinks[link] = nil
                trace(.heal, [link])
            }
        }
        for index in nodes.indices where nodes[index].raft == nil && (settling || nodes[index].restartAt <= now) {
            start(index)
        }
        if !settling { injectFaults() }
        client(settling: settling)
        for index in nodes.indices where nodes[index].raft != nil {
            let actions = nodes[index].raft!.tick(now: Int64(now))
            perform(actions, at: index)
        }
        sendClaims()
    }

    /// Each running leader's claim to each peer, by chance, while it may claim (read as it is
    /// sent: it may be stale when it arrives).
    private mutating func sendClaims() {
        guard configuration.leaderClaims > 0 else { return }
        for index in nodes.indices {
            guard let term = nodes[index].raft?.leading(now: Int64(now)) else { continue }
            for peer in nodes.indices where peer != index && random.chance(configuration.leaderClaims) {
                transmit(.claim(from: index, to: peer, term: term))
            }
        }
    }

    private mutating func deliverClaim(_ term: UInt64, from: Int, to: Int) {
        guard nodes[to].raft != nil, cutLinks[Self.link(from, to)] == nil else {
            result.dropped += 1
            return
        }
        result.claims += 1
        trace(.claim, [from, to, Int(term)])
        nodes[to].raft!.heardLeader(term: term, from: names[from], now: Int64(now))
        perform([], at: to)
    }

    private mutating func injectFaults() {
        for index in nodes.indices where nodes[index].raft != nil && random.chance(configuration.crash) {
            nodes[index].raft = nil
            nodes[index].restartAt = now + pick(configuration.minRestart, configuration.maxRestart)
            result.crashes += 1
            trace(.crash, [index])
        }
        guard random.chance(configuration.partition) else { return }
        let count = nodes.count
        let healAt = now + pick(configuration.minHeal, configuration.maxHeal)
        let leader = nodes.indices.first { nodes[$0].raft?.role == .leader }
        result.partitions += 1
        let kind = pick(3)
        if kind < 2 {
            // One node cut off from every other: the leader, or any node.
            var isolated = pick(count)
            if kind == 0, let leader { isolated = leader }
            if isolated == leader { result.leaderIsolations += 1 }
            for other in nodes.indices where other != isolated {
                cutLinks[Self.link(isolated, other)] = healAt
            }
            trace(.isolate, [isolated, healAt])
        } else {
            let a = pick(count)
            let b = (a + 1 + pick(count - 1)) % count
            cutLinks[Self.link(a, b)] = healAt
            trace(.cut, [Self.link(a, b), healAt])
        }
    }

    /// A node (re)starts with what it made durable, and a fresh seed for its election timeouts.
    private mutating func start(_ index: Int) {
        nodes[index].raft = Raft(
            me: names[index], members: names, persistent: nodes[index].durable,
            electionTimeout: configuration.electionTimeout, heartbeatInterval: configuration.heartbeatInterval,
            seed: random.next(), now: Int64(now))
        nodes[index].reported = 0
        nodes[index].seen = Fingerprint(nodes[index].durable)
        trace(.start, [index])
    }

    /// The client proposes the next command to the node it believes leads, or to a random node
    /// if it knows none. A node that is down loses the proposal (the client forgets its belief);
    /// a follower or candidate refuses it and the client turns to the leader that node names,
    /// if any (the redirect; the command itself is dropped). While settling, the client proposes
    /// until every node has committed a command proposed while settling (a new leader commits
    /// the entries of older terms only along with one of its own).
    private mutating func client(settling: Bool) {
        if settling {
            if let settleIndex, !nodes.contains(where: { $0.raft == nil || $0.reported < settleIndex }) { return }
            if firstSettleCommand == nil { firstSettleCommand = lastCommand + 1 }
        }
        guard random.chance(configuration.propose) else { return }
        let target = believed ?? pick(nodes.count)
        lastCommand += 1
        result.proposed += 1
        trace(.propose, [lastCommand, target])
        guard nodes[target].raft != nil else {
            believed = nil
            return
        }
        guard let proposal = nodes[target].raft!.propose(lastCommand) else {
            if let leader = nodes[target].raft!.leader {
                believed = names.firstIndex(of: leader)
            } else {
                believed = nil
            }
            return
        }
        believed = target
        result.accepted += 1
        perform(proposal.actions, at: target, changedFrom: Int(proposal.index))
    }

    private mutating func deliver(_ message: Raft.Message, from: Int, to: Int) {
        guard nodes[to].raft != nil, cutLinks[Self.link(from, to)] == nil else {
            result.dropped += 1
            return
        }
        result.delivered += 1
        trace(.deliver, [from, to] + Self.code(message))
        // An append may change the log from the entry after `prevIndex` on: note the terms the
        // entries it carries would replace, to count a conflicting suffix dropped.
        var first = Int.max
        var replaced: [UInt64] = []
        if case .append(_, let prevIndex, _, let entries, _) = message, !entries.isEmpty {
            first = Int(prevIndex) + 1
            let log = nodes[to].raft!.persistent.log
            replaced = log[min(first - 1, log.count) ..< min(first - 1 + entries.count, log.count)].map(\.term)
        }
        let actions = nodes[to].raft!.receive(message, from: names[from], now: Int64(now))
        if !replaced.isEmpty {
            let log = nodes[to].raft!.persistent.log
            for (offset, term) in replaced.enumerated() {
                let position = first - 1 + offset
                guard position < log.count, log[position].term == term else {
                    result.overwrites += 1
                    break
                }
            }
        }
        perform(actions, at: to, changedFrom: first)
    }

    /// What the shell does after a step of node `index`: make `persistent` durable, then carry
    /// out the actions in order. Entries from index `first` on may have entered its log.
    mutating func perform(_ actions: [Raft.Action], at index: Int, changedFrom first: Int = .max) {
        save(index)
        if first != .max { checkLogMatching(at: index, from: first) }
        for action in actions {
            switch action {
            case .send(let message, let peer):
                guard let to = names.firstIndex(of: peer) else { continue }
                send(message, from: index, to: to)
            case .committed(let upTo):
                checkCommitted(upTo: Int(upTo), at: index)
            case .becameLeader(let term):
                checkLeader(of: term, at: index)
            }
        }
    }

    /// Makes node `index`'s `persistent` durable (with the bug, only every other change of it).
    private mutating func save(_ index: Int) {
        guard let persistent = nodes[index].raft?.persistent else { return }
        guard configuration.bug == .persistAfterSend else {
            nodes[index].durable = persistent
            return
        }
        let fingerprint = Fingerprint(persistent)
        guard fingerprint != nodes[index].seen else { return }
        nodes[index].seen = fingerprint
        nodes[index].changes += 1
        if nodes[index].changes % 2 == 0 { nodes[index].durable = persistent }
    }
}
