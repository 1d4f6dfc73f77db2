import ChorusCluster
import ChorusTestSupport

/// The invariants a Raft simulation run checks (Raft §5.2–§5.4, as the steps report what they
/// did), and the plumbing: the seeded choices, the event queue, the network and the trace.
extension RaftSimulator {
    // MARK: Invariants

    /// Election safety: at most one election is won per term. (A node that wins one term twice
    /// forgot its vote or its term in a crash; with a different log it can give one (index, term)
    /// two entries.) Leader completeness: the winner's log holds every entry that was reported
    /// committed in an earlier term, at the same index.
    mutating func checkLeader(of term: UInt64, at index: Int) {
        result.elections += 1
        trace(.elected, [index, Int(term)])
        guard let raft = nodes[index].raft else { return }
        if let other = leaders[term] {
            let who = other == index ? "\(names[index]) twice" : "\(names[other]) and \(names[index])"
            return fail("election safety: term \(term) has two leaders: \(who)")
        }
        leaders[term] = index
        guard raft.persistent.term == term, raft.role == .leader else {
            return fail("election safety: \(names[index]) became leader of term \(term) in term \(raft.persistent.term) as a \(raft.role)")
        }
        let log = raft.persistent.log
        for position in committed.indices where commitTerms[position] < term {
            guard position < log.count, log[position] == committed[position] else {
                return fail(
                    "leader completeness: \(names[index]), leader of term \(term), lacks entry \(position + 1) "
                        + "(\(Self.describe(committed[position]))), committed in term \(commitTerms[position])")
            }
        }
    }

    /// Log matching (§5.3), checked as entries enter a log (from index `first` on): an entry's
    /// index and term name one command and one term of the entry before it, in every log and at
    /// every time. So, by induction, two logs that share an entry's index and term are the same
    /// up to it.
    mutating func checkLogMatching(at index: Int, from first: Int) {
        guard let log = nodes[index].raft?.persistent.log else { return }
        var position = max(first, 1)
        while position <= log.count {
            let entry = log[position - 1]
            let facts = EntryFacts(command: entry.command, previousTerm: position == 1 ? 0 : log[position - 2].term)
            let id = EntryID(index: position, term: entry.term)
            if let known = history[id], known != facts {
                return fail(
                    "log matching: \(names[index]) has \(Self.describe(entry)) at \(position) after term \(facts.previousTerm); "
                        + "another log had \(known.command.map { "command \($0)" } ?? "a no-op") there, after term \(known.previousTerm)")
            }
            history[id] = facts
            position += 1
        }
    }

    /// State machine safety, as a node reports `committed(upTo:)`: each newly committed entry is
    /// the one every other node committed at that index (across its restarts too: a restarted
    /// node commits from index 1 again). Commit order: within a life a node's commit only moves
    /// forward, and never past its log.
    mutating func checkCommitted(upTo: Int, at index: Int) {
        guard let raft = nodes[index].raft else { return }
        let reported = nodes[index].reported
        guard upTo > reported else {
            return fail("commit order: \(names[index]) reports committed up to \(upTo) after \(reported)")
        }
        let log = raft.persistent.log
        guard upTo <= log.count else {
            return fail("state machine safety: \(names[index]) commits up to \(upTo) with \(log.count) entries")
        }
        for position in reported + 1...upTo {
            let entry = log[position - 1]
            if position <= committed.count {
                guard entry == committed[position - 1] else {
                    return fail(
                        "state machine safety: \(names[index]) commits \(Self.describe(entry)) at \(position), "
                            + "where \(Self.describe(committed[position - 1])) was committed")
                }
                commitTerms[position - 1] = min(commitTerms[position - 1], raft.persistent.term)
            } else {
                committed.append(entry)
                commitTerms.append(raft.persistent.term)
                if raft.role == .leader, entry.term < raft.persistent.term { result.olderTermCommits += 1 }
                if settleIndex == nil, let firstSettleCommand, let command = entry.command, command >= firstSettleCommand { settleIndex = position }
            }
        }
        nodes[index].reported = upTo
        result.committed = committed.count
    }

    /// Liveness after settling (every link healed, every node up, no loss): a leader exists, and
    /// every node has committed a command proposed while settling. Then log matching once more,
    /// over every log.
    mutating func checkSettled() {
        guard nodes.contains(where: { $0.raft?.role == .leader }) else {
            return fail("liveness: no leader after settling")
        }
        guard let settleIndex else {
            return fail("liveness: no command proposed while settling was committed")
        }
        if let behind = nodes.indices.first(where: { nodes[$0].raft == nil || nodes[$0].reported < settleIndex }) {
            return fail(
                "liveness: \(names[behind]) has committed up to \(nodes[behind].reported) after settling, "
                    + "not \(settleIndex) (a command proposed while settling)")
        }
        for index in nodes.indices { checkLogMatching(at: index, from: 1) }
    }

    mutating func fail(_ message: String) {
        result.violations.append(Violation(time: now, message: message))
    }

    static func describe(_ entry: RaftNode<Int>.Entry) -> String {
        "\(entry.command.map { "command \($0)" } ?? "no-op") of term \(entry.term)"
    }

    // MARK: Plumbing

    /// A uniform number in 0..<count.
    mutating func pick(_ count: Int) -> Int {
        Int(random.next() % UInt64(count))
    }

    /// A uniform number in low...high.
    mutating func pick(_ low: Int, _ high: Int) -> Int {
        low + pick(high - low + 1)
    }

    mutating func schedule(_ event: Event, after delay: Int) {
        scheduled += 1
        events.append((now + delay, scheduled, event))
    }

    /// Sends `message` (``transmit(_:)``).
    mutating func send(_ message: RaftNode<Int>.Message, from: Int, to: Int) {
        transmit(.deliver(from: from, to: to, message))
    }

    /// Delivers `event` (a message or a claim) after a random delay, unless it is lost (never
    /// while settling); sometimes twice.
    mutating func transmit(_ event: Event) {
        guard now >= configuration.duration || !random.chance(configuration.loss) else {
            result.dropped += 1
            return
        }
        for _ in 0..<(random.chance(configuration.duplication) ? 2 : 1) {
            schedule(event, after: 1 + pick(configuration.maxDelay))
        }
    }

    /// A link between two nodes, either way round.
    static func link(_ a: Int, _ b: Int) -> Int { min(a, b) << 16 | max(a, b) }

    /// A message in the trace: its kind and numbers.
    static func code(_ message: RaftNode<Int>.Message) -> [Int] {
        switch message {
        case .requestVote(let term, let lastIndex, let lastTerm): [1, Int(term), Int(lastIndex), Int(lastTerm)]
        case .vote(let term, let granted): [2, Int(term), granted ? 1 : 0]
        case .append(let term, let prevIndex, _, let entries, let commit): [3, Int(term), Int(prevIndex), entries.count, Int(commit)]
        case .appendReply(let term, let success, let matchIndex): [4, Int(term), success ? 1 : 0, Int(matchIndex)]
        case .preVote(let term, let lastIndex, let lastTerm): [5, Int(term), Int(lastIndex), Int(lastTerm)]
        case .preVoteReply(let term, let granted): [6, Int(term), granted ? 1 : 0]
        }
    }

    /// Kinds of traced events.
    enum Traced: Int {
        case deliver = 10, start, crash, cut, isolate, heal, propose, elected, claim
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
