/// The giving side of one hand-off once its ``HandoffGate`` has drained: which piece of which
/// moving key to send next, and when the hand-off is done. A pure state machine (no I/O, clock
/// or tasks); the shell reads the pages from its store, sends them, and reports each answer.
///
/// The moving keys go one at a time, in the order given. A key's data goes in pages: the machine
/// asks for the page after a cursor (from the start first), and the shell reports the cursor of
/// the last item the receiver stored durably; the machine then asks for the page after that,
/// until the shell reports an empty page (which need not cross the network). Then it asks for the
/// key's final step (its metadata or state), and once that is stored it goes on to the next key.
/// So the machine guarantees:
///
/// - a key's final step is asked for only after every page of it was stored;
/// - ``Action/finished(moved:)`` comes only after every key's final step was stored;
/// - a failure (``failed(_:)``) before that gives ``Action/abort(reason:)``, once: the shell opens
///   the gate again (``HandoffGate/abort()``) and fails the hand-off, so nothing is adopted.
///
/// Each answer names the step it answers (the key, and for a page the cursor it started after),
/// so an answer that does not fit the step the machine waits for — a duplicate, a late answer to
/// an earlier step, anything after the machine finished or aborted — is ignored: the input
/// returns `nil` and changes nothing. No input traps. The shell must still tell answers of one
/// hand-off from another's (the real shell's are call replies; the simulator tags its messages).
///
/// `Cursor` is where a page ends: a message id in the real shell, a record id in the simulator.
public struct HandoffTransfer<Cursor: Sendable & Equatable>: Sendable {
    /// One key that moves, and its owner under the new ring.
    public struct Move: Sendable, Equatable {
        public var key: String
        public var owner: String

        public init(key: String, owner: String) {
            self.key = key
            self.owner = owner
        }
    }

    /// What the shell does next.
    public enum Action: Sendable, Equatable {
        /// Send `key`'s next page, the items after `after` (`nil`: from the start), to `to`.
        case sendPage(key: String, after: Cursor?, to: String)
        /// Send `key`'s metadata or state to `to`; every page of it is stored there.
        case sendFinal(key: String, to: String)
        /// Every key's final step was stored: the new ring may be adopted.
        case finished(moved: Int)
        /// The hand-off failed: open the gate again and fail it.
        case abort(reason: String)
    }

    /// Where the machine is: which answer it waits for.
    private enum Step: Sendable {
        case ready
        case page(Int, after: Cursor?)
        case finalStep(Int)
        case finished
        case aborted
    }

    /// The keys to move, in the order they go.
    public let moves: [Move]
    private var step = Step.ready

    public init(moves: [Move]) {
        self.moves = moves
    }

    /// Whether the machine has finished or aborted (every input is ignored from now on).
    public var isOver: Bool {
        switch step {
        case .finished, .aborted: true
        case .ready, .page, .finalStep: false
        }
    }

    /// Starts the hand-off: the first key's first page (or ``Action/finished(moved:)`` if no key
    /// moves). `nil` if it has started already.
    public mutating func start() -> Action? {
        guard case .ready = step else { return nil }
        return page(0, after: nil)
    }

    /// The receiver stored `key`'s page that started after `after`; `last` is the cursor of its
    /// last item, `nil` if the page was empty (the key has no more pages).
    public mutating func pageStored(key: String, after: Cursor?, last: Cursor?) -> Action? {
        guard case .page(let index, let expected) = step, moves[index].key == key, expected == after else { return nil }
        guard let last else {
            step = .finalStep(index)
            return .sendFinal(key: key, to: moves[index].owner)
        }
        return page(index, after: last)
    }

    /// The receiver stored `key`'s final step: on to the next key.
    public mutating func finalStored(key: String) -> Action? {
        guard case .finalStep(let index) = step, moves[index].key == key else { return nil }
        return page(index + 1, after: nil)
    }

    /// A step failed (the receiver is unreachable, or did not answer in time).
    public mutating func failed(_ reason: String) -> Action? {
        guard !isOver else { return nil }
        step = .aborted
        return .abort(reason: reason)
    }

    /// Asks for the page after `after` of the key at `index`, or finishes past the last key.
    private mutating func page(_ index: Int, after: Cursor?) -> Action {
        guard index < moves.count else {
            step = .finished
            return .finished(moved: moves.count)
        }
        step = .page(index, after: after)
        return .sendPage(key: moves[index].key, after: after, to: moves[index].owner)
    }
}
