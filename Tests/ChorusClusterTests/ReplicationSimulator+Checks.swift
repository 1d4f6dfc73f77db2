import ChorusCluster
import ChorusTestSupport

/// The invariants a replication simulation run checks, as the steps report what they did, and the
/// plumbing: the seeded choices, the event queue, the network and the trace.
extension ReplicationSimulator {
    // MARK: Invariants

    /// One primary per term: a term is served once. No acknowledged record lost: the new primary's
    /// log holds every record acknowledged in its term or an older one, at its seq.
    mutating func checkServing(term: UInt64, at index: Int) {
        result.served += 1
        trace(.serving, [index, Int(term)])
        if let other = servers[term] {
            let who = other == index ? "\(names[index]) twice" : "\(names[other]) and \(names[index])"
            return fail("one primary per term: term \(term) was served by \(who)")
        }
        servers[term] = index
        guard let replica = nodes[index].replica, replica.role == .primary(term: term) else {
            return fail("one primary per term: \(names[index]) serves term \(term) as \(String(describing: nodes[index].replica?.role))")
        }
        for position in acknowledged.indices where acknowledgedTerms[position] <= term {
            let seq = UInt64(position + 1)
            guard Self.record(at: seq, in: replica.durable) == acknowledged[position] else {
                return fail(
                    "no acknowledged record lost: \(names[index]) serves term \(term) without record \(acknowledged[position]) "
                        + "at seq \(seq), acknowledged in term \(acknowledgedTerms[position]) (its log: \(replica.durable.position))")
            }
        }
    }

    /// As a node reports `committed(upTo:)`: its records up to there are the acknowledged history
    /// (a primary's extend it: the same seq is never acknowledged with two records; a backup's
    /// never go past it); within a life its commit only moves forward and never past its log.
    /// Records acknowledged now (or now by an older term) must already be in the log of every
    /// primary serving a term at least as new.
    mutating func checkCommitted(upTo: UInt64, at index: Int) {
        guard let replica = nodes[index].replica else { return }
        let reported = nodes[index].reported
        guard upTo > reported else {
            return fail("commit order: \(names[index]) reports committed up to \(upTo) after \(reported)")
        }
        var serving: UInt64?
        if case .primary(let term) = replica.role { serving = term }
        var changed: [Int] = []
        for seq in reported + 1...upTo {
            guard let record = Self.record(at: seq, in: replica.durable) else {
                return fail("commit order: \(names[index]) reports committed up to \(upTo) with a log ending at \(replica.lastSeq)")
            }
            let position = Int(seq - 1)
            if position < acknowledged.count {
                guard acknowledged[position] == record else {
                    let what = serving == nil ? "committed prefix: \(names[index]) (a backup)" : "acknowledged records conflict: \(names[index])"
                    return fail("\(what) commits record \(record) at seq \(seq), where \(acknowledged[position]) was acknowledged")
                }
                if let serving, serving < acknowledgedTerms[position] {
                    acknowledgedTerms[position] = serving
                    changed.append(position)
                }
            } else if let serving {
                acknowledged.append(record)
                acknowledgedTerms.append(serving)
                changed.append(position)
                if settleSeq == nil, let firstSettleRecord, record >= firstSettleRecord { settleSeq = seq }
            } else {
                return fail("committed prefix: \(names[index]) (a backup) commits seq \(seq), which no primary acknowledged")
            }
        }
        nodes[index].reported = upTo
        result.acknowledged = acknowledged.count
        for other in nodes.indices where other != index {
            guard let log = nodes[other].replica, case .primary(let term) = log.role else { continue }
            for position in changed where acknowledgedTerms[position] <= term {
                guard Self.record(at: UInt64(position + 1), in: log.durable) == acknowledged[position] else {
                    return fail(
                        "no acknowledged record lost: \(names[index]) acknowledged record \(acknowledged[position]) at seq \(position + 1) "
                            + "in term \(acknowledgedTerms[position]), which \(names[other]), serving term \(term), lacks")
                }
            }
        }
    }

    /// After an install: what the node reported committed is still its log's prefix.
    mutating func checkCommittedPrefix(at index: Int) {
        guard let replica = nodes[index].replica else { return }
        let reported = nodes[index].reported
        guard reported > 0 else { return }
        for seq in 1...reported {
            let position = Int(seq - 1)
            guard position < acknowledged.count, Self.record(at: seq, in: replica.durable) == acknowledged[position] else {
                return fail("committed prefix: an install gave \(names[index]) a log without acknowledged seq \(seq), which it had committed")
            }
        }
    }

    /// One history (the log-matching property of the replicas): a record at a seq of a log of term
    /// `T` is the record of the primary of `T` there, so a (term, seq) names one record in every
    /// log, batch, install and disk, at every time. Checked as records enter a log.
    mutating func checkHistory(_ records: [Int], from first: UInt64, logTerm: UInt64, at index: Int) {
        for (offset, record) in records.enumerated() {
            let position = Position(logTerm: logTerm, seq: first + UInt64(offset))
            if let known = history[position], known != record {
                return fail(
                    "one history: \(names[index]) has record \(record) at seq \(position.seq) of a log of term \(logTerm), "
                        + "where another log of that term had \(known)")
            }
            history[position] = record
        }
    }

    /// The whole log of node `index` against the history (when its log term changes, and as it
    /// restarts from its disk): a log of term `T` is a prefix of the log of the primary of `T`.
    mutating func checkLog(at index: Int) {
        guard let log = nodes[index].replica?.durable else { return }
        guard (log.base?.count ?? 0) == Int(log.baseSeq) else {
            return fail("simulator: \(names[index])'s snapshot holds \(log.base?.count ?? 0) records, not \(log.baseSeq)")
        }
        checkHistory(Self.content(of: log), from: 1, logTerm: log.logTerm, at: index)
    }

    /// Durability, as a node crashes: its disk holds everything it acknowledged (or a log of a
    /// newer term, which replaced it).
    mutating func checkDurability(at index: Int) {
        guard let promised = nodes[index].acknowledged else { return }
        let disk = nodes[index].disk.position
        guard disk.logTerm > promised.logTerm || (disk.logTerm == promised.logTerm && disk.seq >= promised.seq) else {
            return fail("durability: \(names[index]) crashed having acknowledged \(promised), with a disk ending at \(disk)")
        }
    }

    /// Liveness after settling (every link healed, every node up, no loss, one last term): its
    /// primary serves, and every node holds a record proposed while settling and knows it committed.
    mutating func checkSettled() {
        guard let finalTerm, let lastPrimary = named[finalTerm] else {
            return fail("liveness: no term began while settling")
        }
        guard nodes[lastPrimary].replica?.role == .primary(term: finalTerm) else {
            return fail(
                "liveness: \(names[lastPrimary]), primary of the last term \(finalTerm), is \(String(describing: nodes[lastPrimary].replica?.role)) after settling")
        }
        guard let settleSeq else {
            return fail("liveness: no record proposed while settling was acknowledged")
        }
        let record = acknowledged[Int(settleSeq - 1)]
        for index in nodes.indices {
            guard let replica = nodes[index].replica, Self.record(at: settleSeq, in: replica.durable) == record,
                  replica.commitSeq >= settleSeq else {
                return fail(
                    "liveness: after settling, \(names[index]) lacks record \(record) at seq \(settleSeq) "
                        + "(acknowledged while settling), or does not know it committed")
            }
        }
    }

    mutating func fail(_ message: String) {
        result.violations.append(Violation(time: now, message: message))
    }

    /// The record at `seq` of a log (in its snapshot or after it), if the log reaches it.
    static func record(at seq: UInt64, in log: Replica.Durable) -> Int? {
        guard seq >= 1, seq <= log.lastSeq else { return nil }
        guard seq > log.baseSeq else {
            let base = log.base ?? []
            return Int(seq) <= base.count ? base[Int(seq - 1)] : nil
        }
        return log.records[Int(seq - log.baseSeq - 1)]
    }

    /// A whole log, seq 1 first (the snapshot is the records it covers).
    static func content(of log: Replica.Durable) -> [Int] {
        (log.base ?? []) + log.records
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

    /// Sends `message` after a random delay, unless it is lost (never while settling); sometimes twice.
    mutating func send(_ message: Replica.Message, from: Int, to: Int) {
        guard now >= configuration.duration || !random.chance(configuration.loss) else {
            result.dropped += 1
            return
        }
        for _ in 0..<(random.chance(configuration.duplication) ? 2 : 1) {
            schedule(.deliver(from: from, to: to, message), after: 1 + pick(configuration.maxDelay))
        }
    }

    /// A link between two nodes, either way round.
    static func link(_ a: Int, _ b: Int) -> Int { min(a, b) << 16 | max(a, b) }

    /// A message in the trace: its kind and numbers.
    static func code(_ message: Replica.Message) -> [Int] {
        switch message {
        case .probe(let term): [1, Int(term)]
        case .state(let term, let log): [2, Int(term), Int(log.logTerm), Int(log.seq)]
        case .append(let term, let expect, let records, let commit, _):
            [3, Int(term), Int(expect.logTerm), Int(expect.seq), records.count, Int(commit)]
        case .snapshot(let term, _, let baseSeq, let records, let commit, _): [4, Int(term), Int(baseSeq), records.count, Int(commit)]
        case .accepted(let term, let upTo): [5, Int(term), Int(upTo)]
        case .refused(let term): [6, Int(term)]
        case .fetch(let term, let after): [7, Int(term), Int(after.logTerm), Int(after.seq)]
        case .fetched(let term, let log, _, let baseSeq, let records, _):
            [8, Int(term), Int(log.logTerm), Int(log.seq), Int(baseSeq), records.count]
        }
    }

    /// Kinds of traced events.
    enum Traced: Int {
        case deliver = 10, start, crash, cut, isolate, heal, propose, term, serving, disk, compact
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
