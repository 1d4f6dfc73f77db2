/// Which calls a node admits while it hands keys over, and when the hand-off may go on: a pure
/// state machine (no locks, tasks or clock; every input carries what it needs).
///
/// Calls are counted per key. A hand-off towards `target` first closes the gate for the keys
/// `target` gives to other nodes (new calls on them are refused), then waits until the calls on
/// them that were already running have finished: ``begin(target:)`` says ``Decision/proceed`` at
/// once if there are none, else the last ``finished(_:)`` of such a call does. A hand-off that
/// fails, or whose wait passes its deadline, is aborted (``abort()``): the gate opens again and
/// the node serves its keys as before, instead of refusing them until a newer ring arrives.
/// Adopting `target` (or a newer ring) ends the hand-off too: the keys now belong to their new owners.
public struct HandoffGate: Sendable {
    public enum Decision: Equatable, Sendable {
        /// Every call on a moving key has finished: hand the keys over.
        case proceed
        /// Calls on moving keys are still running.
        case wait
    }

    /// This node's name.
    public let me: String
    /// The ring the keys move to, while a hand-off runs.
    public private(set) var target: HashRing?
    /// Whether the hand-off is waiting for running calls (``Decision/proceed`` not yet given).
    public private(set) var draining = false
    /// Whether the target was restored after a restart (nothing of it is running here now).
    public private(set) var restored = false
    private var inFlight: [String: Int] = [:]

    public init(me: String) {
        self.me = me
    }

    /// Whether calls on `key` are refused now (it moves to another node under `target`).
    public func isClosed(_ key: String) -> Bool {
        guard let target else { return false }
        return target.owner(of: key) != me
    }

    /// Whether a call on `key` is running.
    public func isBusy(_ key: String) -> Bool {
        inFlight[key] != nil
    }

    /// A call on `key` wants to start: admitted (and counted) unless the key is moving.
    public mutating func start(_ key: String) -> Bool {
        guard !isClosed(key) else { return false }
        inFlight[key, default: 0] += 1
        return true
    }

    /// A call on `key` that ``start(_:)`` admitted has finished.
    public mutating func finished(_ key: String) -> Decision? {
        guard let count = inFlight[key] else { return nil }
        inFlight[key] = count > 1 ? count - 1 : nil
        return draining && isClosed(key) ? decide() : nil
    }

    /// A hand-off towards `target` starts: calls on the keys it moves away are refused from now on.
    public mutating func begin(target: HashRing) -> Decision {
        self.target = target
        draining = true
        restored = false
        return decide()
    }

    /// A restarted node had begun a hand-off towards `target` (its target is durable): the keys
    /// `target` gives away stay refused, as before the restart, until `target` (or a newer ring)
    /// is adopted or the hand-off is aborted. ``begin(target:)`` with the same target drains again.
    public mutating func restore(target: HashRing) {
        self.target = target
        draining = false
        restored = true
    }

    /// The hand-off failed or ran out of time: serve every key again.
    public mutating func abort() {
        target = nil
        draining = false
        restored = false
    }

    /// A ring of `epoch` was adopted: a hand-off towards it (or an older ring) is over.
    public mutating func adopted(epoch: UInt64) {
        if let target, target.epoch <= epoch { abort() }
    }

    private mutating func decide() -> Decision {
        guard draining else { return .wait }
        if inFlight.keys.contains(where: isClosed) { return .wait }
        draining = false
        return .proceed
    }
}
