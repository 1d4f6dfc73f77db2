import ChorusCluster
import ChorusTestSupport

/// What a hand-off simulation run found and the bugs it can inject; how a decided ring spreads
/// (adoption and gossip); the invariants (docs/testing.md); and the plumbing: the seeded choices,
/// the event queue, the network and the trace.
extension HandoffSimulator {
    /// Bugs the simulation can inject.
    public enum Bug: Sendable {
        /// Acknowledge a write as it is appended, before its group commit: a crash loses it, and
        /// a hand-off's drain no longer waits for it to be durable.
        case ackBeforeDurable
        /// Hand keys over at once, without waiting for the writes on them that are running.
        case skipDrain
        /// Keep the hand-off target in memory only (the shell before `handoff.json`): a giver
        /// that crashes after its part and restarts before it adopts the new ring has an open
        /// gate and its old ring, and serves keys that have already moved.
        case volatileHandoffTarget
    }

    /// An invariant that broke, at the virtual time it broke.
    public typealias Violation = ClusterSimulator.Violation

    /// What a run did.
    public struct Result: Sendable {
        public var seed: UInt64
        public var traceHash: UInt64
        /// Writes acknowledged; crashes; ring changes decided, aborted, and abandoned (their
        /// coordinator crashed before deciding); records in hand-off pages.
        public var acknowledged = 0, crashes = 0, ringChanges = 0, aborted = 0, abandoned = 0, recordsSent = 0
        /// Rings adopted from gossip (by a node that missed the coordinator's message); restarts
        /// that closed the gate again for a saved hand-off target.
        public var gossipAdoptions = 0, restoredGates = 0
        /// Keys that their owner under the newest ring still refuses at the end: its gate holds the
        /// target of a change that was abandoned, or aborted while it was down (unavailable, not unsafe).
        public var stuckKeys = 0
        public var violations: [Violation] = []
    }

    // MARK: Rings spread

    /// Each running node sends its ring to a random peer (while settling too, so rings converge).
    mutating func gossip() {
        schedule(.gossip, after: configuration.gossipInterval)
        guard nodes.count > 1 else { return }
        for index in nodes.indices where nodes[index].up {
            send(.ring(nodes[index].ring, reply: false), from: index, to: (index + 1 + pick(nodes.count - 1)) % nodes.count)
        }
    }

    /// A node adopts `newer` if it is newer than its ring: its ring (durable) becomes it, and a
    /// hand-off towards it or an older ring is over (the saved target is cleared with the gate's).
    @discardableResult
    mutating func adopt(_ newer: HashRing, at index: Int) -> Bool {
        guard newer.epoch > nodes[index].ring.epoch else { return false }
        checkOneRing(newer, adoptedBy: index)
        nodes[index].ring = newer
        nodes[index].gate.adopted(epoch: newer.epoch)
        nodes[index].savedTarget = nodes[index].gate.target
        trace(.adopt, [index, Int(newer.epoch)])
        return true
    }

    // MARK: Invariants

    /// (a) Rings only move forward (a node adopts only a newer ring, and keeps it across a crash),
    /// and an epoch names one ring: no two nodes ever adopt different rings with the same epoch.
    mutating func checkOneRing(_ newer: HashRing, adoptedBy index: Int) {
        if let known = rings[newer.epoch], known != newer {
            fail("\(names[index]) adopts ring \(newer.nodes) with epoch \(newer.epoch), which names \(known.nodes) already")
        }
        rings[newer.epoch] = newer
    }

    /// (b) A key has one serving owner: as a node admits a write, no other node holds writes on
    /// that key that are not durable yet, and no other node served it under the same epoch.
    mutating func checkServing(_ key: String, by index: Int) {
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
    mutating func checkReadable(_ when: String, moved: [String] = []) {
        for (key, record) in acknowledged {
            guard let owner = nodeIndex(ring.owner(of: key)), nodes[owner].store[key]?.contains(record) != true else { continue }
            let loss = moved.contains(key) ? "the hand-off lost it" : "it cannot be read back"
            return fail("\(when): acknowledged record \(record) of \(key) is not at its owner \(names[owner]); \(loss)")
        }
    }

    /// (d) at the moment of acknowledgement: the node that acknowledges a write owns its key under
    /// the newest ring decided so far (one that serves a key it already handed over does not).
    mutating func checkAcknowledged(_ key: String, record: Int, by index: Int) {
        guard let owner = nodeIndex(ring.owner(of: key)), owner != index else { return }
        fail("\(names[index]) acknowledged record \(record) of \(key), which \(names[owner]) owns under the newest ring (epoch \(ring.epoch)): it cannot be read back")
    }

    /// After settling: (e) no ring change is still running (an abandoned one has ended) and every
    /// node holds the newest ring; (d) every acknowledged record can be read back. Then counts the
    /// keys that their owner still refuses.
    mutating func checkSettled() {
        if let change {
            return fail("ring change \(changes) to epoch \(change.target.epoch) is still running after settling")
        }
        if let stale = nodes.indices.first(where: { nodes[$0].ring != ring }) {
            return fail("\(names[stale]) holds the ring of epoch \(nodes[stale].ring.epoch) after settling, not the newest (\(ring.epoch))")
        }
        checkReadable("after settling")
        result.stuckKeys = keys.filter { key in nodeIndex(ring.owner(of: key)).map { nodes[$0].gate.isClosed(key) } ?? false }.count
    }

    mutating func fail(_ message: String) {
        result.violations.append(Violation(time: now, message: message))
    }

    func nodeIndex(_ name: String?) -> Int? {
        name.flatMap { names.firstIndex(of: $0) }
    }

    // MARK: Plumbing

    /// A uniform number in 0..<count.
    mutating func pick(_ count: Int) -> Int {
        Int(random.next() % UInt64(count))
    }

    mutating func schedule(_ event: Event, after delay: Int) {
        scheduled += 1
        events.append((now + delay, scheduled, event))
    }

    /// Sends `message` after a random delay, unless it is lost; sometimes twice.
    mutating func send(_ message: Message, from: Int, to: Int) {
        guard !random.chance(configuration.loss) else { return }
        for _ in 0..<(random.chance(configuration.duplication) ? 2 : 1) {
            schedule(.deliver(from: from, to: to, message), after: 1 + pick(configuration.maxDelay))
        }
    }

    /// Kinds of traced events.
    enum Traced: Int {
        case deliver = 10, write, commit, timeout, crash, restart, change, adopt, abort, complete, abandon, restore
    }

    /// Folds an event into the trace hash (FNV-1a over its numbers).
    mutating func trace(_ event: Traced, _ numbers: [Int]) {
        var hash = result.traceHash
        for number in [now, event.rawValue] + numbers {
            hash = (hash ^ UInt64(bitPattern: Int64(number))) &* 0x0000_0100_0000_01B3
        }
        result.traceHash = hash
    }
}
