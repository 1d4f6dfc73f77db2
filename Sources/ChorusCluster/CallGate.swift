import ChorusActorSystem
import ChorusModel
import Synchronization

/// The calls running on a node's keyed actors, and the keys refused while a hand-off moves them:
/// the shell of a pure ``HandoffGate`` (with the hand-off waiting for running calls, and its
/// deadline). One per node; the chat layer runs every call on a channel or user through
/// ``track(_:_:)``, so this is the one in-flight count that both passivation (``isBusy(_:)``) and
/// hand-offs use. Node-level calls do not go through it (the hand-off itself runs through them).
public final class CallGate: Sendable {
    private struct State {
        var gate: HandoffGate
        /// The hand-off waiting for running calls to finish, if one is.
        var waiter: CheckedContinuation<Void, any Error>?
    }
    private let state: Mutex<State>
    /// Keeps the hand-off target durable (set when a hand-off begins, `nil` when it ends).
    /// A ``ClosureSlot``, not a bare optional closure (see there).
    private let persist = Mutex<ClosureSlot<@Sendable (HashRing?) throws -> Void>?>(nil)
    /// The clock of hand-off deadlines.
    private let clock: any TimeSource

    public init(me: String, clock: any TimeSource = SystemTimeSource()) {
        state = Mutex(State(gate: HandoffGate(me: me)))
        self.clock = clock
    }

    /// Keeps the hand-off target durable through `save`: called with the target when a hand-off
    /// begins (before anything moves) and with `nil` when it ends (adopted or aborted). A node
    /// that restarts with a saved target gives it to ``restore(target:)``, so keys that may already
    /// live on their new owner are never served here again.
    ///
    /// Saves happen under the gate's lock, in the order the target changes. A hand-off whose
    /// target cannot be saved does not begin; a failure to forget one is logged by `save` itself.
    public func persistTarget(with save: @escaping @Sendable (HashRing?) throws -> Void) {
        persist.withLock { $0 = ClosureSlot(save) }
    }

    /// A hand-off towards `target` was under way when the node stopped: refuse the keys it moves
    /// until it is adopted or aborted (``HandoffGate/restore(target:)``).
    public func restore(target: HashRing) {
        state.withLock { $0.gate.restore(target: target) }
    }

    /// The ring a hand-off moves keys towards, while one runs (or waits for adoption).
    public var target: HashRing? { state.withLock { $0.gate.target } }

    /// Whether calls for `id` are refused because it is moving to another node.
    public func isMoving(_ id: ActorIdentity) -> Bool {
        state.withLock { $0.gate.isClosed(id.description) }
    }

    /// Whether a call on `id` is running (an actor with one must not be passivated).
    public func isBusy(_ id: ActorIdentity) -> Bool {
        state.withLock { $0.gate.isBusy(id.description) }
    }

    /// Runs `body` as a call on `id`: refused with `moving` while `id` moves away, and
    /// counted, so a hand-off can wait until calls that started before it have finished.
    public func track<Result>(_ id: ActorIdentity, _ body: () async throws -> Result) async throws -> Result {
        let key = id.description
        guard state.withLock({ $0.gate.start(key) }) else {
            throw RemoteCallError(.moving, "\(id) is moving to another node; retry in a moment")
        }
        defer { takeWaiter { $0.finished(key) == .proceed }?.resume() }
        return try await body()
    }

    /// Starts refusing calls for the keys `target` gives to other nodes, and returns once the
    /// calls on them that are already running have finished. If they do not finish within
    /// `deadline` (on the gate's clock), the hand-off is aborted (every key is served again) and this throws.
    public func beginHandoff(to target: HashRing, deadline: Duration) async throws {
        let timer = Task { [clock] in
            try await clock.sleep(for: deadline)
            // Only a hand-off still waiting gives up; one that has gone on is not disturbed.
            self.takeWaiter { gate in
                guard gate.draining else { return false }
                gate.abort()
                return true
            }?.resume(throwing: RemoteCallError(.unreachable, "calls on the moving keys did not finish within \(deadline); hand-off aborted"))
        }
        defer { timer.cancel() }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome = state.withLock { state -> Result<Bool, RemoteCallError> in
                // One hand-off at a time: a second one would take the first one's place. The same
                // target restored after a restart (nothing of it runs here) begins again.
                if let running = state.gate.target, running != target || !state.gate.restored {
                    return .failure(RemoteCallError(.unreachable, "a hand-off towards ring \(running.epoch) is already running"))
                }
                let save = persist.withLock { $0 }?.closure
                do {
                    try save?(target)
                } catch {
                    return .failure(RemoteCallError(.unreachable, "cannot save the hand-off target: \(error)"))
                }
                if state.gate.begin(target: target) == .proceed { return .success(true) }
                state.waiter = continuation
                return .success(false)
            }
            switch outcome {
            case .success(true): continuation.resume()
            case .success(false): break
            case .failure(let error): continuation.resume(throwing: error)
            }
        }
    }

    /// Ends a hand-off that failed (only one towards ring `epoch`, if given, so a late abort
    /// cannot end a newer one): the gate opens and this node serves its keys again; a hand-off
    /// still waiting for running calls fails with `error`.
    public func abortHandoff(epoch: UInt64? = nil, _ error: any Error = RemoteCallError(.unreachable, "hand-off aborted")) {
        takeWaiter { gate in
            guard let target = gate.target, epoch == nil || target.epoch == epoch else { return false }
            gate.abort()
            return true
        }?.resume(throwing: error)
    }

    /// Applies `change` to the gate under the lock; if it returns true, hands back the waiting
    /// hand-off (if any), to be resumed outside the lock.
    /// A hand-off that ends (its target cleared) is forgotten by the persisted target too.
    private func takeWaiter(_ change: (inout HandoffGate) -> Bool) -> CheckedContinuation<Void, any Error>? {
        let save = persist.withLock { $0 }?.closure
        return state.withLock { state in
            let before = state.gate.target
            guard change(&state.gate) else { return nil }
            if before != nil && state.gate.target == nil { try? save?(nil) }
            defer { state.waiter = nil }
            return state.waiter
        }
    }

    /// A ring of `epoch` was adopted: a hand-off towards it (or an older one) is over, and one
    /// still waiting for running calls stops waiting (its keys belong to their new owners now).
    public func adopted(epoch: UInt64) {
        takeWaiter { gate in
            gate.adopted(epoch: epoch)
            return gate.target == nil
        }?.resume(throwing: RemoteCallError(.unreachable, "ring \(epoch) was adopted while the hand-off waited"))
    }
}
