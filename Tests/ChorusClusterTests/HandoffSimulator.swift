import ChorusCluster
import ChorusTestSupport

/// A deterministic simulation of hand-off and storage: nodes that own keys by a ``HashRing``,
/// admit writes through a ``HandoffGate``, make them durable by group commit, and hand keys to
/// their new owners with a ``HandoffTransfer`` when the operator changes the ring, as
/// `Handoff.swift` does. One seed decides every write, message delay, loss, group commit, crash
/// and ring change; time is virtual (milliseconds). A crashed node loses its memory and keeps its
/// store and ring. The invariants (docs/testing.md) are checked at every step that could break
/// them. The same seed gives the same run: ``Result/traceHash`` digests every event.
public struct HandoffSimulator {
    /// What the simulation injects, and how long it runs.
    public struct Configuration: Sendable {
        /// Nodes, and keys (`channel/1` … `channel/<keys>`).
        public var nodes = 3, keys = 40
        /// Virtual ms of writes and faults, then `settle` ms with every node up and neither.
        public var duration = 20_000, settle = 10_000
        /// Rounds come every `roundInterval` ms; `write` is the chance per round of a client write.
        public var roundInterval = 25, write = 0.5
        /// Delivery delay, uniform in 1...maxDelay ms; loss and duplication per message.
        public var maxDelay = 30, loss = 0.002, duplication = 0.01
        /// A group commit makes pending records durable 1...commitDelay ms after the first of them;
        /// records per hand-off page; how long (ms) a giver waits for the answer to a step.
        public var commitDelay = 20, pageSize = 4, stepTimeout = 200
        /// Chances per round that a node crashes (a majority stays up), that a crashed node
        /// restarts, and that the operator starts a ring change (one at a time).
        public var crash = 0.002, restart = 0.02, ringChange = 0.005
        /// A bug to inject, so a test can show that the checks catch it.
        public var bug: Bug?
        public init() {}
    }

    /// Bugs the simulation can inject.
    public enum Bug: Sendable {
        /// Acknowledge a write as it is appended, before its group commit: a crash loses it, and
        /// a hand-off's drain no longer waits for it to be durable.
        case ackBeforeDurable
        /// Hand keys over at once, without waiting for the writes on them that are running.
        case skipDrain
    }

    /// An invariant that broke, at the virtual time it broke.
    public typealias Violation = ClusterSimulator.Violation

    /// What a run did.
    public struct Result: Sendable {
        public var seed: UInt64
        public var traceHash: UInt64
        /// Writes acknowledged; crashes; ring changes adopted and aborted; records in hand-off pages.
        public var acknowledged = 0, crashes = 0, ringChanges = 0, aborted = 0, recordsSent = 0
        public var violations: [Violation] = []
    }

    private enum Message {
        case write(key: String, record: Int)
        case page(change: Int, key: String, after: Int?, records: [Int])
        case finalStep(change: Int, key: String)
        case pageStored(change: Int, key: String, after: Int?, last: Int?)
        case finalStored(change: Int, key: String)
    }

    private enum Event {
        case round
        case deliver(from: Int, to: Int, Message)
        case commit(Int)
        /// A giver's wait for the answer to step `step` ran out.
        case timeout(Int, step: Int)
    }

    /// A node: its ring and store (each key's record ids) are durable; a crash loses the rest.
    private struct Node {
        var up = true
        var ring: HashRing
        var store: [String: Set<Int>] = [:]
        var gate: HandoffGate
        /// Records appended but not yet durable; the first schedules the next group commit.
        var pending: [(key: String, record: Int)] = []
        var transfer: HandoffTransfer<Int>?
        /// The step whose answer the transfer waits for (a later timeout of it fails the transfer).
        var awaitedStep: Int?
    }

    /// The ring change that is running.
    private struct Change {
        var target: HashRing
        var moves: [(key: String, from: Int, to: Int)]
        var givers: [Int]
    }

    private let configuration: Configuration
    private var random: SeededRandom
    private let names: [String]
    private let keys: [String]
    private var nodes: [Node] = []
    /// The newest ring, which every node adopted.
    private var ring: HashRing
    private var change: Change?
    private var events: [(at: Int, order: Int, event: Event)] = []
    /// The virtual time; events scheduled, ring changes started (the running one's id), transfer
    /// steps sent and records written so far.
    private var now = 0, scheduled = 0, changes = 0, steps = 0, written = 0
    /// Every acknowledged write, in order.
    private var acknowledged: [(key: String, record: Int)] = []
    /// The node that served each key under each epoch.
    private var owners: [UInt64: [String: Int]] = [:]
    private var result: Result

    private init(seed: UInt64, configuration: Configuration) {
        let names = (1...configuration.nodes).map { "node-\($0)" }
        let ring = HashRing(nodes: names, virtualNodes: 8, epoch: 1)
        self.configuration = configuration
        self.random = SeededRandom(seed: seed)
        self.names = names
        self.keys = (1...configuration.keys).map { "channel/\($0)" }
        self.ring = ring
        self.result = Result(seed: seed, traceHash: 0xcbf2_9ce4_8422_2325)
        self.nodes = names.map { Node(ring: ring, gate: HandoffGate(me: $0)) }
    }

    /// Runs the whole simulation.
    public static func run(seed: UInt64, configuration: Configuration = Configuration()) -> Result {
        var simulator = HandoffSimulator(seed: seed, configuration: configuration)
        return simulator.run()
    }

    private mutating func run() -> Result {
        schedule(.round, after: 0)
        while result.violations.isEmpty,
              let next = events.indices.min(by: { (events[$0].at, events[$0].order) < (events[$1].at, events[$1].order) }),
              events[next].at <= configuration.duration + configuration.settle {
            let event = events.remove(at: next)
            now = event.at
            handle(event.event)
        }
        if result.violations.isEmpty, let change { fail("ring change \(changes) to epoch \(change.target.epoch) is still running after settling") }
        if result.violations.isEmpty { checkReadable("after settling") }
        return result
    }

    private mutating func round() {
        schedule(.round, after: configuration.roundInterval)
        // Settling: every node up, no new writes or faults.
        let settling = now >= configuration.duration
        for index in nodes.indices where !nodes[index].up && (settling || random.chance(configuration.restart)) {
            nodes[index].up = true
            trace(.restart, [index])
        }
        guard !settling else { return }
        if random.chance(configuration.write) { write() }
        for index in nodes.indices where nodes[index].up && random.chance(configuration.crash) {
            guard nodes.filter(\.up).count > nodes.count / 2 + 1 else { break }
            crash(index)
        }
        if change == nil, random.chance(configuration.ringChange) { startChange() }
    }

    /// A client writes a record to a random key via a random node, which sends it to the owner.
    private mutating func write() {
        let up = nodes.indices.filter { nodes[$0].up }
        let via = up[pick(up.count)]
        let key = keys[pick(keys.count)]
        written += 1
        guard let owner = nodeIndex(nodes[via].ring.owner(of: key)) else { return }
        trace(.write, [written, via, owner])
        send(.write(key: key, record: written), from: via, to: owner)
    }

    private mutating func crash(_ index: Int) {
        nodes[index] = Node(up: false, ring: nodes[index].ring, store: nodes[index].store, gate: HandoffGate(me: names[index]))
        result.crashes += 1
        trace(.crash, [index])
        // The operator's hand-off call to a crashed giver fails, even if its part was done: once
        // restarted with an open gate, it would serve its moving keys again.
        if change?.givers.contains(index) == true { abortChange() }
    }

    /// The operator makes a random node leave the newest ring (keeping two), or join it if it left.
    private mutating func startChange() {
        let chosen = pick(nodes.count)
        let leaving = ring.nodes.contains(names[chosen])
        guard nodes[chosen].up, !leaving || ring.nodes.count > 2 else { return }
        let target = leaving ? ring.removing(names[chosen]) : ring.adding(names[chosen])
        var moves: [(key: String, from: Int, to: Int)] = []
        for key in keys {
            guard let from = nodeIndex(ring.owner(of: key)), let to = nodeIndex(target.owner(of: key)), from != to else { continue }
            moves.append((key, from, to))
        }
        let givers = Array(Set(moves.map { $0.from })).sorted()
        changes += 1
        change = Change(target: target, moves: moves, givers: givers)
        trace(.change, [changes, chosen, Int(target.epoch), moves.count])
        // The operator's hand-off call to a giver that is down fails at once.
        if givers.contains(where: { !nodes[$0].up }) { abortChange() } else if givers.isEmpty { complete() }
        for giver in givers where change != nil {
            let decision = nodes[giver].gate.begin(target: target)
            if decision == .proceed || configuration.bug == .skipDrain { startTransfer(giver) }
        }
    }

    private mutating func handle(_ event: Event) {
        switch event {
        case .round:
            round()
        case .deliver(let from, let to, let message) where nodes[to].up:
            trace(.deliver, [from, to])
            receive(message, from: from, at: to)
        case .deliver:
            break  // the receiver is down
        case .commit(let index):
            commit(index)
        case .timeout(let index, let step):
            guard nodes[index].up, nodes[index].awaitedStep == step else { return }
            trace(.timeout, [index, step])
            perform(nodes[index].transfer?.failed("no answer within \(configuration.stepTimeout) ms"), giver: index)
        }
    }

    private mutating func receive(_ message: Message, from: Int, at index: Int) {
        switch message {
        case .write(let key, let record):
            admit(key: key, record: record, at: index)
        case .page(let id, let key, let after, let records):
            // Durable before the answer, as `adoptMessages` stores a page before it returns.
            nodes[index].store[key, default: []].formUnion(records)
            send(.pageStored(change: id, key: key, after: after, last: records.last), from: index, to: from)
        case .finalStep(let id, let key):
            send(.finalStored(change: id, key: key), from: index, to: from)
        case .pageStored(let id, let key, let after, let last) where change != nil && id == changes:
            perform(nodes[index].transfer?.pageStored(key: key, after: after, last: last), giver: index)
        case .finalStored(let id, let key) where change != nil && id == changes:
            perform(nodes[index].transfer?.finalStored(key: key), giver: index)
        case .pageStored, .finalStored:
            break  // an answer for a change that is over
        }
    }

    /// A write is admitted if this node owns its key and its gate is open for it; else refused.
    private mutating func admit(key: String, record: Int, at index: Int) {
        guard nodes[index].ring.owner(of: key) == names[index], nodes[index].gate.start(key) else { return }
        checkServing(key, by: index)
        nodes[index].pending.append((key, record))
        if nodes[index].pending.count == 1 { schedule(.commit(index), after: 1 + pick(configuration.commitDelay)) }
        if configuration.bug == .ackBeforeDurable { acknowledge(key: key, record: record, at: index) }
    }

    /// The group commit: every pending record becomes durable, then is acknowledged.
    private mutating func commit(_ index: Int) {
        guard nodes[index].up else { return }
        let batch = nodes[index].pending
        nodes[index].pending = []
        for (key, record) in batch { nodes[index].store[key, default: []].insert(record) }
        trace(.commit, [index, batch.count])
        guard configuration.bug != .ackBeforeDurable else { return }
        for (key, record) in batch { acknowledge(key: key, record: record, at: index) }
    }

    /// The client gets its acknowledgement; the write is finished for the gate.
    private mutating func acknowledge(key: String, record: Int, at index: Int) {
        acknowledged.append((key, record))
        result.acknowledged += 1
        if nodes[index].gate.finished(key) == .proceed { startTransfer(index) }
    }

    // MARK: Hand-off

    /// A giver whose gate has drained sends its moving keys (once: the transfer stays to the end).
    private mutating func startTransfer(_ giver: Int) {
        guard let change, change.givers.contains(giver), nodes[giver].transfer == nil else { return }
        let moves = change.moves.filter { $0.from == giver }.map { HandoffTransfer<Int>.Move(key: $0.key, owner: names[$0.to]) }
        nodes[giver].transfer = HandoffTransfer(moves: moves)
        perform(nodes[giver].transfer?.start(), giver: giver)
    }

    /// Carries out what a giver's transfer asks for.
    private mutating func perform(_ action: HandoffTransfer<Int>.Action?, giver: Int) {
        guard let action, let change else { return }
        switch action {
        case .sendPage(let key, let after, let owner):
            let records = nodes[giver].store[key, default: []].filter { record in after.map { record > $0 } ?? true }
            let page = Array(records.sorted().prefix(configuration.pageSize))
            if page.isEmpty {
                // Nothing left to send: answered here, as the real shell stops at an empty page.
                perform(nodes[giver].transfer?.pageStored(key: key, after: after, last: nil), giver: giver)
            } else {
                result.recordsSent += page.count
                sendStep(.page(change: changes, key: key, after: after, records: page), from: giver, to: owner)
            }
        case .sendFinal(let key, let owner):
            sendStep(.finalStep(change: changes, key: key), from: giver, to: owner)
        case .finished:
            if change.givers.allSatisfy({ nodes[$0].transfer?.isOver == true }) { complete() }
        case .abort:
            abortChange()
        }
    }

    /// Sends one step of a transfer and starts waiting for its answer.
    private mutating func sendStep(_ message: Message, from giver: Int, to owner: String) {
        guard let to = nodeIndex(owner) else { return }
        steps += 1
        nodes[giver].awaitedStep = steps
        send(message, from: giver, to: to)
        schedule(.timeout(giver, step: steps), after: configuration.stepTimeout)
    }

    /// Every giver finished: every node adopts the new ring at once (one that is down has it as it
    /// restarts; how rings spread is ``ClusterSimulator``'s subject).
    private mutating func complete() {
        guard let change else { return }
        self.change = nil
        ring = change.target
        for index in nodes.indices {
            // (a) Ring epochs only move forward (the ring is durable, so this is its only change).
            if change.target.epoch <= nodes[index].ring.epoch { fail("\(names[index]) would go back to epoch \(change.target.epoch)") }
            nodes[index].ring = change.target
            nodes[index].gate.adopted(epoch: change.target.epoch)
            nodes[index].transfer = nil
        }
        result.ringChanges += 1
        trace(.adopt, [changes])
        checkReadable("after the hand-off to epoch \(change.target.epoch)", moved: change.moves.map { $0.key })
    }

    /// The change failed before any node adopted it: the givers serve their keys again.
    private mutating func abortChange() {
        guard let change else { return }
        self.change = nil
        for giver in change.givers where nodes[giver].up {
            nodes[giver].gate.abort()
            nodes[giver].transfer = nil
        }
        result.aborted += 1
        trace(.abort, [changes])
    }

    // MARK: Invariants

    /// (b) A key has one serving owner: as a node admits a write, no other node holds writes on
    /// that key that are not durable yet, and no other node served it under the same epoch.
    private mutating func checkServing(_ key: String, by index: Int) {
        if let other = nodes.indices.first(where: { node in node != index && nodes[node].pending.contains(where: { $0.key == key }) }) {
            fail("\(key) is served by \(names[other]) and \(names[index]) at once")
        }
        let epoch = nodes[index].ring.epoch
        if let other = owners[epoch]?[key], other != index {
            fail("\(key) has two serving owners in epoch \(epoch): \(names[other]) and \(names[index])")
        }
        owners[epoch, default: [:]][key] = index
    }

    /// (c) A hand-off loses no record (of the keys in `moved`), and (d) every acknowledged write
    /// can be read back: each acknowledged record is durable at its owner under the newest ring.
    private mutating func checkReadable(_ when: String, moved: [String] = []) {
        for (key, record) in acknowledged {
            guard let owner = nodeIndex(ring.owner(of: key)), nodes[owner].store[key]?.contains(record) != true else { continue }
            let loss = moved.contains(key) ? "the hand-off lost it" : "it cannot be read back"
            return fail("\(when): acknowledged record \(record) of \(key) is not at its owner \(names[owner]); \(loss)")
        }
    }

    private mutating func fail(_ message: String) {
        result.violations.append(Violation(time: now, message: message))
    }

    private func nodeIndex(_ name: String?) -> Int? {
        name.flatMap { names.firstIndex(of: $0) }
    }

    /// A uniform number in 0..<count.
    private mutating func pick(_ count: Int) -> Int {
        Int(random.next() % UInt64(count))
    }

    private mutating func schedule(_ event: Event, after delay: Int) {
        scheduled += 1
        events.append((now + delay, scheduled, event))
    }

    private mutating func send(_ message: Message, from: Int, to: Int) {
        guard !random.chance(configuration.loss) else { return }
        for _ in 0..<(random.chance(configuration.duplication) ? 2 : 1) {
            schedule(.deliver(from: from, to: to, message), after: 1 + pick(configuration.maxDelay))
        }
    }

    /// Kinds of traced events.
    private enum Traced: Int {
        case deliver = 10, write, commit, timeout, crash, restart, change, adopt, abort
    }

    /// Folds an event into the trace hash (FNV-1a over its numbers).
    private mutating func trace(_ event: Traced, _ numbers: [Int]) {
        var hash = result.traceHash
        for number in [now, event.rawValue] + numbers {
            hash = (hash ^ UInt64(bitPattern: Int64(number))) &* 0x0000_0100_0000_01B3
        }
        result.traceHash = hash
    }
}
