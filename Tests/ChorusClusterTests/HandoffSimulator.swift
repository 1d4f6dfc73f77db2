import ChorusCluster
import ChorusTestSupport

/// A deterministic simulation of hand-off and storage: nodes that own keys by a ``HashRing``,
/// admit writes through a ``HandoffGate``, make them durable by group commit, and hand keys to
/// their new owners with a ``HandoffTransfer`` when the operator changes the ring, as the shell
/// does (`ClusterMember.leave`, `joinIfNeeded`, `handOff(to:)`): a coordinator (the leaving or
/// joining node) has every giver hand its keys over, then sends the new ring to each node; a node
/// that misses it learns it by gossip. One seed decides every write, message delay, loss, group
/// commit, crash and ring change; time is virtual (ms). A crashed node loses its memory and keeps
/// its store, ring and hand-off target. The invariants (docs/testing.md, checked at every step
/// that could break them), gossip and the trace are in `HandoffSimulator+Checks.swift`. The same
/// seed gives the same run: ``Result/traceHash`` digests every event.
public struct HandoffSimulator {
    /// What the simulation injects, and how long it runs.
    public struct Configuration: Sendable {
        /// Nodes, and keys (`channel/1` … `channel/<keys>`).
        public var nodes = 3, keys = 40
        /// Virtual ms of writes and faults, then `settle` ms with every node up and neither.
        public var duration = 20_000, settle = 10_000
        /// Rounds come every `roundInterval` ms; `write` is the chance per round of a client write.
        public var roundInterval = 25, write = 0.5
        /// Every `gossipInterval` ms each running node sends its ring to a random peer (a heartbeat).
        public var gossipInterval = 500
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

    enum Message {
        case write(key: String, record: Int)
        case page(change: Int, key: String, after: Int?, records: [Int])
        case finalStep(change: Int, key: String)
        case pageStored(change: Int, key: String, after: Int?, last: Int?)
        case finalStored(change: Int, key: String)
        /// The coordinator's `adoptRing`.
        case adopt(HashRing)
        /// A heartbeat, modelled as the sender's ring; `reply` answers one from an older ring.
        case ring(HashRing, reply: Bool)
    }

    enum Event {
        case round
        case gossip
        case deliver(from: Int, to: Int, Message)
        case commit(Int)
        /// A giver's wait for the answer to step `step` ran out.
        case timeout(Int, step: Int)
    }

    /// A node: its ring, store (each key's record ids) and hand-off target are durable.
    struct Node {
        var up = true
        var ring: HashRing
        var store: [String: Set<Int>] = [:]
        /// The target of the hand-off it began (`handoff.json`), until that ends (adopted or aborted).
        var savedTarget: HashRing?
        var gate: HandoffGate
        /// Records appended but not yet durable; the first schedules the next group commit.
        var pending: [(key: String, record: Int)] = []
        var transfer: HandoffTransfer<Int>?
        /// The step whose answer the transfer waits for (a later timeout of it fails the transfer).
        var awaitedStep: Int?
    }

    /// The ring change that is running (until it is decided, aborted or abandoned).
    struct Change {
        var target: HashRing
        var moves: [(key: String, from: Int, to: Int)]
        var givers: [Int]
        /// The node that runs the change: the leaving or joining node.
        var coordinator: Int
        /// Givers whose part is done: a crash of one of them no longer fails the change.
        var done: Set<Int> = []
    }

    let configuration: Configuration
    var random: SeededRandom
    let names: [String]
    let keys: [String]
    var nodes: [Node] = []
    /// The newest ring decided (every node holds it once gossip has spread it).
    var ring: HashRing
    /// Every ring adopted anywhere, by epoch.
    var rings: [UInt64: HashRing] = [:]
    var change: Change?
    var events: [(at: Int, order: Int, event: Event)] = []
    /// The virtual time; ring changes started (the running one's id).
    var now = 0, changes = 0
    /// Events scheduled so far.
    var scheduled = 0
    /// Transfer steps sent and records written so far.
    private var steps = 0, written = 0
    /// Every acknowledged write, in order.
    var acknowledged: [(key: String, record: Int)] = []
    /// The node that served each key under each epoch.
    var owners: [UInt64: [String: Int]] = [:]
    var result: Result

    private init(seed: UInt64, configuration: Configuration) {
        let names = (1...configuration.nodes).map { "node-\($0)" }
        let ring = HashRing(nodes: names, virtualNodes: 8, epoch: 1)
        self.configuration = configuration
        self.random = SeededRandom(seed: seed)
        self.names = names
        self.keys = (1...configuration.keys).map { "channel/\($0)" }
        self.ring = ring
        self.rings = [ring.epoch: ring]
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
        schedule(.gossip, after: configuration.gossipInterval)
        while result.violations.isEmpty,
              let next = events.indices.min(by: { (events[$0].at, events[$0].order) < (events[$1].at, events[$1].order) }),
              events[next].at <= configuration.duration + configuration.settle {
            let event = events.remove(at: next)
            now = event.at
            handle(event.event)
        }
        if result.violations.isEmpty { checkSettled() }
        return result
    }

    private mutating func round() {
        schedule(.round, after: configuration.roundInterval)
        // Settling: every node up, no new writes, faults or ring changes.
        let settling = now >= configuration.duration
        for index in nodes.indices where !nodes[index].up && (settling || random.chance(configuration.restart)) {
            restart(index)
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

    /// A crash loses memory (records not yet durable, the gate, the transfer). A giver whose part
    /// is not done fails the change; one whose part is done goes unnoticed; a coordinator abandons it.
    private mutating func crash(_ index: Int) {
        let node = nodes[index]
        nodes[index] = Node(up: false, ring: node.ring, store: node.store, savedTarget: node.savedTarget, gate: HandoffGate(me: names[index]))
        result.crashes += 1
        trace(.crash, [index])
        guard let change else { return }
        if index == change.coordinator {
            abandonChange()
        } else if change.givers.contains(index), !change.done.contains(index) {
            abortChange()
        }
    }

    /// A node restarts with what it made durable: a saved hand-off target newer than its ring
    /// closes its gate for that target again (`HandoffGate.restore`), as the shell does at start.
    private mutating func restart(_ index: Int) {
        nodes[index].up = true
        trace(.restart, [index])
        guard let target = nodes[index].savedTarget else { return }
        if configuration.bug != .volatileHandoffTarget, target.epoch > nodes[index].ring.epoch {
            nodes[index].gate.restore(target: target)
            result.restoredGates += 1
            trace(.restore, [index, Int(target.epoch)])
        } else {
            nodes[index].savedTarget = nil
        }
    }

    /// The operator makes a random node leave the newest ring (keeping two), or join it if it left;
    /// that node coordinates. It asks each giver in turn to begin: one that is down fails, and so
    /// does one whose gate holds a hand-off that is not a restored one of the same target (as
    /// `CallGate` refuses; a join then aborts the givers it asked, a leave, its own giver, just fails).
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
        change = Change(target: target, moves: moves, givers: givers, coordinator: chosen)
        trace(.change, [changes, chosen, Int(target.epoch), moves.count])
        for (position, giver) in givers.enumerated() {
            let gate = nodes[giver].gate
            guard nodes[giver].up, gate.target == nil || (gate.target == target && gate.restored) else {
                return abortChange(asked: leaving ? [] : Array(givers.prefix(position + 1)))
            }
            let decision = nodes[giver].gate.begin(target: target)
            // Durable before anything moves.
            nodes[giver].savedTarget = target
            if decision == .proceed || configuration.bug == .skipDrain { startTransfer(giver) }
        }
        if givers.isEmpty { complete() }
    }

    private mutating func handle(_ event: Event) {
        switch event {
        case .round:
            round()
        case .gossip:
            gossip()
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
        case .adopt(let target):
            adopt(target, at: index)
        case .ring(let other, let reply):
            if adopt(other, at: index) {
                result.gossipAdoptions += 1
            } else if !reply, other.epoch < nodes[index].ring.epoch {
                send(.ring(nodes[index].ring, reply: true), from: index, to: from)
            }
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
        checkAcknowledged(key, record: record, by: index)
        acknowledged.append((key, record))
        result.acknowledged += 1
        if nodes[index].gate.finished(key) == .proceed { startTransfer(index) }
    }

    // MARK: Hand-off

    /// A giver whose gate has drained sends its moving keys (once: the transfer stays to the end).
    private mutating func startTransfer(_ giver: Int) {
        guard let change, change.givers.contains(giver), !change.done.contains(giver), nodes[giver].transfer == nil else { return }
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
            // The giver's call returns to the coordinator; its gate stays closed until it adopts.
            nodes[giver].awaitedStep = nil
            self.change?.done.insert(giver)
            if self.change?.done.count == change.givers.count { complete() }
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

    /// Every giver finished: the change is decided. The coordinator adopts the new ring and sends
    /// it to each other node (`adoptRing`); one that misses it (down, or lost) learns it by gossip.
    private mutating func complete() {
        guard let change else { return }
        self.change = nil
        ring = change.target
        for giver in change.givers { nodes[giver].transfer = nil }
        result.ringChanges += 1
        trace(.complete, [changes])
        checkReadable("as the hand-off to epoch \(change.target.epoch) is decided", moved: change.moves.map { $0.key })
        adopt(change.target, at: change.coordinator)
        for index in nodes.indices where index != change.coordinator {
            send(.adopt(change.target), from: change.coordinator, to: index)
        }
    }

    /// The change failed before it was decided: the givers asked that are up abort a hand-off
    /// towards its epoch (`abortHandoff(epoch:)`); one that is down keeps its saved target.
    private mutating func abortChange(asked: [Int]? = nil) {
        guard let change else { return }
        self.change = nil
        for giver in asked ?? change.givers {
            nodes[giver].transfer = nil
            guard nodes[giver].up, nodes[giver].gate.target?.epoch == change.target.epoch else { continue }
            nodes[giver].gate.abort()
            nodes[giver].savedTarget = nil
        }
        result.aborted += 1
        trace(.abort, [changes])
    }

    /// The coordinator crashed before deciding: nobody adopts or aborts the change. Its givers stop
    /// but keep refusing the keys they were giving away until a newer ring, or an abort of that epoch.
    private mutating func abandonChange() {
        guard let change else { return }
        self.change = nil
        for giver in change.givers { nodes[giver].transfer = nil }
        result.abandoned += 1
        trace(.abandon, [changes])
    }
}
