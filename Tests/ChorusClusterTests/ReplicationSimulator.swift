@testable import ChorusCluster
import ChorusTestSupport

/// A deterministic simulation of one key replicated on every node (3 or 5) with ``KeyReplica``,
/// driven as a shell drives it, with a metadata service that hands out terms and a client.
///
/// The seed's generator decides every message's delay (so messages overtake each other), loss and
/// duplication; when links are cut and healed (one link, or every link of one node, often the
/// primary's); when nodes crash and restart; how long each disk write takes; when rounds come
/// (every 10–50 ms: the metadata service may start a term, the client may propose, a node may
/// compact, each running node is ticked). Time is virtual (milliseconds).
///
/// **Disk.** After every step the node's promised term is durable before what the step sent can
/// arrive. Its records are durable only as its write-ahead log completes each `.persist` batch, in
/// order, a few ms later; then the simulator gives the node `durable(upTo:)`. An `.install` is
/// durable at once. A crashed node loses its pending writes and restarts from its disk.
///
/// **Metadata service.** It starts a new term (naming a random running node, perhaps the same one)
/// now and then, and always soon after the primary of the latest term crashed, was cut off from
/// every other node, or did not serve within a second. The old primary is not told: a deposed
/// primary that keeps taking proposals is part of every run.
///
/// **Client.** It proposes records 1, 2, 3, … to the node that served last (sometimes to a random
/// one). Records a primary reports committed are acknowledged.
///
/// The invariants are checked as the steps report what they did (`ReplicationSimulator+Checks.swift`).
/// The run ends with a settling period (every link healed, every node up, no loss, one last term):
/// its primary must serve and a record proposed while settling must be committed on every node.
/// The same seed gives the same run: ``Result/traceHash`` digests every delivery and every event.
struct ReplicationSimulator {
    typealias Replica = KeyReplica<Int, [Int]>
    typealias Position = Replica.Position

    /// What the simulation injects, and how long it runs.
    struct Configuration: Sendable {
        /// Nodes; the key is replicated on all of them.
        var nodes = 3
        /// Virtual ms of faults, then `settle` ms with every link healed, every node up and no loss.
        var duration = 20_000, settle = 5_000
        /// How often a primary retries (``KeyReplica/retryInterval``).
        var retryInterval: Int64 = 100
        /// Rounds come every `minTick...maxTick` ms.
        var minTick = 10, maxTick = 50
        /// Delivery delay, uniform in 1...maxDelay ms; loss and duplication per message.
        var maxDelay = 30, loss = 0.03, duplication = 0.02
        /// A disk write completes 1...maxDisk ms after it is issued (and after the one before it).
        var maxDisk = 20
        /// Chance per round that the client proposes, and that it proposes to a random node rather
        /// than to the one that served last.
        var propose = 0.2, stray = 0.1
        /// Chance per round that a running node crashes; it restarts `minRestart...maxRestart` ms later.
        var crash = 0.003, minRestart = 100, maxRestart = 3_000
        /// Chance per round of a partition: a third isolate the primary (if one is up), a third a
        /// random node, a third cut one link; healed `minHeal...maxHeal` ms later.
        var partition = 0.008, minHeal = 200, maxHeal = 3_000
        /// Chance per round that the metadata service starts a term anyway; how long after a term
        /// began it replaces a primary that is down or cut off, and one that does not serve.
        var newTerm = 0.01, failover = 100, recoveryTimeout = 1_000
        /// Chance per round that a node compacts its log, keeping at least `retain` records after
        /// its snapshot (and nothing uncommitted or not durable in it).
        var compact = 0.05, retain = 20
        /// A bug to inject, so a test can show that the checks catch it.
        var bug: Bug?

        init() {}
    }

    /// Bugs the simulation can inject (each a ``KeyReplicaFault`` of every replica).
    enum Bug: Sendable {
        /// A new primary serves at once with its own log, without a majority's answers.
        case skipRecovery
        /// Backups acknowledge records as soon as they accept them, before they are durable.
        case ackBeforeDurable
        /// A new primary appends on top of a backup with a longer log of the adopted log's term.
        case appendOverLongerSuffix
    }

    /// An invariant that broke, at the virtual time it broke.
    typealias Violation = ClusterSimulator.Violation

    /// What a run did.
    struct Result: Sendable {
        var seed: UInt64
        var traceHash: UInt64
        var delivered = 0, dropped = 0
        /// Terms started, and those whose primary served; `.deposed` reports.
        var terms = 0, served = 0, deposed = 0
        var crashes = 0, partitions = 0, primaryIsolations = 0
        /// Records the client proposed, those a primary took, and those acknowledged (committed).
        var proposed = 0, accepted = 0, acknowledged = 0
        /// Snapshots a primary sent; installs that shortened a log (a suffix no majority had);
        /// fetches of a better log in recovery; compactions.
        var snapshotsSent = 0, truncations = 0, fetches = 0, compactions = 0
        /// Records after a log of an older term instead of a whole log (a lineage's claim made it
        /// a prefix): a primary's appends, and holders' answers to fetches.
        var crossTermAppends = 0, crossTermSuffixes = 0
        var violations: [Violation] = []
    }

    enum Event {
        case round
        case deliver(from: Int, to: Int, Replica.Message)
        /// The oldest pending write of a node completes (unless the node crashed or installed since: `epoch`).
        case disk(node: Int, epoch: Int)
    }

    /// A batch on its way to a node's disk.
    struct Write {
        var from: UInt64
        var records: [Int]
        var logTerm: UInt64
    }

    /// A node: the running replica, and what survives a crash.
    struct Node {
        /// Nil while crashed.
        var replica: Replica?
        /// What it made durable.
        var disk = Replica.Durable()
        /// Batches not yet durable, in order, and when the last of them completes.
        var writes: [Write] = []
        var diskFreeAt = 0
        /// Bumped by a crash or an install, so the writes they voided do not complete.
        var epoch = 0
        var restartAt = 0
        /// The highest `committed(upTo:)` it reported since it last started.
        var reported: UInt64 = 0
        /// The log term its log was last checked against the history under.
        var checkedLogTerm: UInt64 = 0
        /// The highest (term, seq) it acknowledged, ever.
        var acknowledged: Position?
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
    /// The metadata service: the latest term, the node it named for each term, when the latest
    /// began, and the term it started while settling.
    var term: UInt64 = 0
    var named: [UInt64: Int] = [:]
    var termStartedAt = 0
    var finalTerm: UInt64?
    /// The node that served each term.
    var servers: [UInt64: Int] = [:]
    /// The client: the node it believes serves, and the last record it proposed.
    var believed: Int?
    var lastRecord = 0
    /// The first record proposed while settling, and the first seq acknowledged that holds one.
    var firstSettleRecord: Int?
    var settleSeq: UInt64?
    /// The acknowledged history (`acknowledged[s - 1]` for seq `s`), and the lowest term that
    /// acknowledged each record.
    var acknowledged: [Int] = []
    var acknowledgedTerms: [UInt64] = []
    /// Every record that was at a seq of a log of some term: one record per (term, seq).
    var history: [Position: Int] = [:]
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
    static func run(seed: UInt64, configuration: Configuration = Configuration()) -> Result {
        var simulator = ReplicationSimulator(seed: seed, configuration: configuration)
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
            case .disk(let node, let epoch):
                completeWrite(at: node, epoch: epoch)
            }
        }
        if result.violations.isEmpty { checkSettled() }
        return result
    }

    private var fault: KeyReplicaFault? {
        switch configuration.bug {
        case .skipRecovery: .skipRecovery
        case .ackBeforeDurable: .ackBeforeDurable
        case .appendOverLongerSuffix: .appendOverLongerSuffix
        case nil: nil
        }
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
        for index in nodes.indices where nodes[index].replica == nil && (settling || nodes[index].restartAt <= now) {
            start(index)
        }
        if !settling { injectFaults() }
        metadata(settling: settling)
        client(settling: settling)
        compact()
        for index in nodes.indices where nodes[index].replica != nil {
            let actions = nodes[index].replica!.tick(now: Int64(now))
            perform(actions, at: index)
        }
    }

    private mutating func injectFaults() {
        for index in nodes.indices where nodes[index].replica != nil && random.chance(configuration.crash) {
            crash(index)
        }
        guard random.chance(configuration.partition) else { return }
        let count = nodes.count
        let healAt = now + pick(configuration.minHeal, configuration.maxHeal)
        let primary = named[term].flatMap { index -> Int? in nodes[index].replica == nil ? nil : index }
        result.partitions += 1
        let kind = pick(3)
        if kind < 2 {
            // One node cut off from every other: the primary, or any node.
            var isolated = pick(count)
            if kind == 0, let primary { isolated = primary }
            if isolated == primary { result.primaryIsolations += 1 }
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

    /// A crash: the node keeps its disk, and loses its pending writes and everything else.
    private mutating func crash(_ index: Int) {
        checkDurability(at: index)
        nodes[index].replica = nil
        nodes[index].writes = []
        nodes[index].epoch += 1
        nodes[index].diskFreeAt = 0
        nodes[index].restartAt = now + pick(configuration.minRestart, configuration.maxRestart)
        result.crashes += 1
        trace(.crash, [index])
    }

    /// A node (re)starts, as a backup, from its disk.
    private mutating func start(_ index: Int) {
        var replica = Replica(me: names[index], durable: nodes[index].disk, retryInterval: configuration.retryInterval)
        replica.fault = fault
        nodes[index].replica = replica
        nodes[index].reported = 0
        nodes[index].checkedLogTerm = replica.durable.logTerm
        trace(.start, [index])
        checkLog(at: index)
    }

    /// The metadata service. While settling it starts one last term, on any node (all are up).
    private mutating func metadata(settling: Bool) {
        if settling {
            guard finalTerm == nil else { return }
            startTerm(at: pick(nodes.count))
            finalTerm = term
            return
        }
        var due = term == 0 || random.chance(configuration.newTerm)
        if let current = named[term], now - termStartedAt >= configuration.failover {
            let gone = nodes[current].replica == nil || isolated(current)
            let stuck = servers[term] == nil && now - termStartedAt >= configuration.recoveryTimeout
            if gone || stuck { due = true }
        }
        guard due else { return }
        let up = nodes.indices.filter { nodes[$0].replica != nil }
        guard !up.isEmpty else { return }
        startTerm(at: up[pick(up.count)])
    }

    private mutating func startTerm(at index: Int) {
        guard nodes[index].replica != nil else { return }
        term += 1
        named[term] = index
        termStartedAt = now
        result.terms += 1
        trace(.term, [index, Int(term)])
        let actions = nodes[index].replica!.becomePrimary(term: term, replicas: names, now: Int64(now))
        perform(actions, at: index)
    }

    private func isolated(_ index: Int) -> Bool {
        nodes.indices.allSatisfy { $0 == index || cutLinks[Self.link(index, $0)] != nil }
    }

    /// The client proposes the next record to the node that served last (or, sometimes or when it
    /// knows none, to a random node). A node that is down or does not serve loses the proposal.
    /// While settling, it proposes until a record proposed while settling is acknowledged.
    private mutating func client(settling: Bool) {
        if settling {
            if settleSeq != nil { return }
            if firstSettleRecord == nil { firstSettleRecord = lastRecord + 1 }
        }
        guard random.chance(configuration.propose) else { return }
        var target = believed ?? pick(nodes.count)
        if !settling, random.chance(configuration.stray) { target = pick(nodes.count) }
        lastRecord += 1
        result.proposed += 1
        trace(.propose, [lastRecord, target])
        guard nodes[target].replica != nil, let proposal = nodes[target].replica!.propose(lastRecord) else {
            if believed == target { believed = nil }
            return
        }
        result.accepted += 1
        perform(proposal.actions, at: target)
    }

    /// Now and then a node compacts its log: up to what it knows committed and has durable,
    /// keeping `retain` records after the snapshot. Its disk compacts the same prefix.
    private mutating func compact() {
        for index in nodes.indices {
            guard let replica = nodes[index].replica, random.chance(configuration.compact) else { continue }
            let log = replica.durable
            let keep = UInt64(configuration.retain)
            let upTo = min(replica.commitSeq, nodes[index].disk.lastSeq, log.lastSeq > keep ? log.lastSeq - keep : 0)
            guard upTo > log.baseSeq, upTo > nodes[index].disk.baseSeq else { continue }
            let snapshot = Array(Self.content(of: log).prefix(Int(upTo)))
            nodes[index].replica!.compacted(upTo: upTo, into: snapshot)
            var disk = nodes[index].disk
            disk.records.removeFirst(Int(upTo - disk.baseSeq))
            disk.base = snapshot
            disk.baseSeq = upTo
            nodes[index].disk = disk
            result.compactions += 1
            trace(.compact, [index, Int(upTo)])
        }
    }

    private mutating func deliver(_ message: Replica.Message, from: Int, to: Int) {
        guard nodes[to].replica != nil, cutLinks[Self.link(from, to)] == nil else {
            result.dropped += 1
            return
        }
        result.delivered += 1
        trace(.deliver, [from, to] + Self.code(message))
        let before = nodes[to].replica!.lastSeq
        if case .fetched(_, let log, nil, let baseSeq, _, _) = message, baseSeq > 0, log.logTerm != nodes[to].replica!.durable.logTerm {
            result.crossTermSuffixes += 1
        }
        let actions = nodes[to].replica!.receive(message, from: names[from], now: Int64(now))
        if actions.contains(where: Self.isInstall), nodes[to].replica!.lastSeq < before { result.truncations += 1 }
        perform(actions, at: to)
    }

    /// The oldest pending write of node `index` is durable: its disk gets the batch, and the node
    /// is told.
    private mutating func completeWrite(at index: Int, epoch: Int) {
        guard nodes[index].epoch == epoch, nodes[index].replica != nil, !nodes[index].writes.isEmpty else { return }
        let write = nodes[index].writes.removeFirst()
        guard write.from == nodes[index].disk.lastSeq + 1 else {
            return fail("simulator: \(names[index]) writes a batch at seq \(write.from) on a disk ending at \(nodes[index].disk.lastSeq)")
        }
        // As the shell logs a batch: one of a newer log term claims where the log stood.
        nodes[index].disk.lineage = nodes[index].disk.lineage.switching(from: nodes[index].disk.position, to: write.logTerm)
        nodes[index].disk.records += write.records
        nodes[index].disk.logTerm = write.logTerm
        let position = Position(logTerm: write.logTerm, seq: nodes[index].disk.lastSeq)
        trace(.disk, [index, Int(position.logTerm), Int(position.seq)])
        let actions = nodes[index].replica!.durable(upTo: position)
        perform(actions, at: index)
    }

    /// What the shell does after a step of node `index`: make the promise durable, then carry out
    /// the actions in order (an install reaches the disk at once; a batch is queued for it).
    mutating func perform(_ actions: [Replica.Action], at index: Int) {
        guard let replica = nodes[index].replica else { return }
        nodes[index].disk.promisedTerm = replica.durable.promisedTerm
        if replica.durable.logTerm != nodes[index].checkedLogTerm {
            nodes[index].checkedLogTerm = replica.durable.logTerm
            checkLog(at: index)
        }
        for action in actions {
            switch action {
            case .send(let message, let peer):
                guard let to = names.firstIndex(of: peer) else { continue }
                note(message, from: index)
                send(message, from: index, to: to)
            case .persist(let from, let records, let logTerm):
                checkHistory(records, from: from, logTerm: logTerm, at: index)
                enqueue(Write(from: from, records: records, logTerm: logTerm), at: index)
            case .install(let base, let baseSeq, let records, let logTerm):
                nodes[index].disk = Replica.Durable(
                    promisedTerm: replica.durable.promisedTerm, logTerm: logTerm, base: base, baseSeq: baseSeq, records: records,
                    lineage: replica.durable.lineage)
                nodes[index].writes = []
                nodes[index].epoch += 1
                nodes[index].diskFreeAt = 0
                checkHistory((base ?? []) + records, from: 1, logTerm: logTerm, at: index)
                checkCommittedPrefix(at: index)
            case .serving(let term):
                believed = index
                checkServing(term: term, at: index)
            case .committed(let upTo):
                checkCommitted(upTo: upTo, at: index)
            case .deposed:
                result.deposed += 1
            }
        }
    }

    /// Queues a batch for node `index`'s disk: it completes a few ms from now, after the batches before it.
    private mutating func enqueue(_ write: Write, at index: Int) {
        let at = max(now + pick(1, configuration.maxDisk), nodes[index].diskFreeAt)
        nodes[index].diskFreeAt = at
        nodes[index].writes.append(write)
        schedule(.disk(node: index, epoch: nodes[index].epoch), after: at - now)
    }

    /// Counts what a node sends, and remembers the highest acknowledgement it gave.
    private mutating func note(_ message: Replica.Message, from index: Int) {
        switch message {
        case .snapshot:
            result.snapshotsSent += 1
        case .fetch:
            result.fetches += 1
        case .append(let term, let expect, _, _, _) where expect.logTerm != term && expect.seq > 0:
            result.crossTermAppends += 1
        case .accepted(let term, let upTo):
            let position = Position(logTerm: term, seq: upTo)
            if nodes[index].acknowledged.map({ $0 < position }) ?? true { nodes[index].acknowledged = position }
        default:
            break
        }
    }

    static func isInstall(_ action: Replica.Action) -> Bool {
        if case .install = action { return true }
        return false
    }
}
