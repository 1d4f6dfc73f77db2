import ChorusCluster
import Testing

/// `KeyReplica` driven by hand: explicit instants, messages written out, no network and no disk
/// (durability is reported by hand with `durable(upTo:)`).
@Suite("KeyReplica")
struct KeyReplicaTests {
    typealias Replica = KeyReplica<String, [String]>

    let replicas = ["a", "b", "c"]

    static func at(_ logTerm: UInt64, _ seq: UInt64) -> Replica.Position {
        Replica.Position(logTerm: logTerm, seq: seq)
    }

    static func log(promised: UInt64, logTerm: UInt64, _ records: [String], lineage: [Replica.Position] = []) -> Replica.Durable {
        Replica.Durable(promisedTerm: promised, logTerm: logTerm, records: records, lineage: lineage)
    }

    /// `a`, serving term 1 of `a`, `b` and `c` with an empty log: `b` answered its probe, `c` did not.
    func primaryA() -> Replica {
        var a = Replica(me: "a")
        _ = a.becomePrimary(term: 1, replicas: replicas, now: 0)
        _ = a.receive(.state(term: 1, log: Self.at(0, 0)), from: "b", now: 10)
        return a
    }

    @Test("a key with one replica serves at once, and commits a proposal once it is durable in the term")
    func singleReplica() {
        var a = Replica(me: "a")
        let serving = a.becomePrimary(term: 1, replicas: ["a"], now: 0)
        let expected: [Replica.Action] = [.persist(from: 1, records: [], logTerm: 1), .serving(term: 1)]
        #expect(serving == expected)
        #expect(a.role == .primary(term: 1))
        #expect(a.durable.logTerm == 1)
        guard let proposal = a.propose("x") else {
            Issue.record("the primary refused a proposal")
            return
        }
        #expect(proposal.seq == 1)
        let persist: [Replica.Action] = [.persist(from: 1, records: ["x"], logTerm: 1)]
        #expect(proposal.actions == persist)
        let markerOnly = a.durable(upTo: Self.at(1, 0))
        #expect(markerOnly.isEmpty, "the term's marker alone commits nothing")
        let committed = a.durable(upTo: Self.at(1, 1))
        let upTo1: [Replica.Action] = [.committed(upTo: 1)]
        #expect(committed == upTo1)
        #expect(a.commitSeq == 1)
    }

    @Test("a new primary probes, serves with its own log once a majority answered it is the best, and probes the silent on tick")
    func recoveryWithOwnLog() {
        var a = Replica(me: "a")
        let probes = a.becomePrimary(term: 1, replicas: replicas, now: 0)
        let expected: [Replica.Action] = [.send(.probe(term: 1), to: "b"), .send(.probe(term: 1), to: "c")]
        #expect(probes == expected)
        #expect(a.role == .recovering(term: 1))
        #expect(a.durable.promisedTerm == 1)
        let early = a.propose("x") == nil
        #expect(early, "a recovering primary takes no proposal")
        let stranger = a.receive(.state(term: 1, log: Self.at(0, 0)), from: "z", now: 5)
        #expect(stranger.isEmpty)
        #expect(a.role == .recovering(term: 1))

        let answered = a.receive(.state(term: 1, log: Self.at(0, 0)), from: "b", now: 10)
        let serving: [Replica.Action] = [
            .persist(from: 1, records: [], logTerm: 1), .serving(term: 1),
            .send(.append(term: 1, expect: Self.at(0, 0), records: [], commit: 0), to: "b"),
        ]
        #expect(answered == serving)
        #expect(a.role == .primary(term: 1))
        #expect(a.durable.logTerm == 1)

        let tooSoon = a.tick(now: 99)
        #expect(tooSoon.isEmpty)
        let retry = a.tick(now: 100)
        let probeC: [Replica.Action] = [.send(.probe(term: 1), to: "c")]
        #expect(retry == probeC, "b has everything; c never answered")
    }

    @Test("a backup promises a probe's term, takes an append that fits, commits no further than its log, and acknowledges once durable")
    func backupAcceptsAndAcknowledges() {
        var b = Replica(me: "b")
        let probed = b.receive(.probe(term: 1), from: "a", now: 0)
        let state: [Replica.Action] = [.send(.state(term: 1, log: Self.at(0, 0)), to: "a")]
        #expect(probed == state)
        #expect(b.durable.promisedTerm == 1)

        let appended = b.receive(.append(term: 1, expect: Self.at(0, 0), records: ["x", "y"], commit: 5), from: "a", now: 10)
        let persisted: [Replica.Action] = [.persist(from: 1, records: ["x", "y"], logTerm: 1), .committed(upTo: 2)]
        #expect(appended == persisted, "no acknowledgement before the records are durable")
        #expect(b.durable.records == ["x", "y"])
        #expect(b.durable.logTerm == 1)
        #expect(b.commitSeq == 2)

        let durable = b.durable(upTo: Self.at(1, 2))
        let accepted: [Replica.Action] = [.send(.accepted(term: 1, upTo: 2), to: "a")]
        #expect(durable == accepted)
        let again = b.durable(upTo: Self.at(1, 2))
        #expect(again.isEmpty, "a repeated report is no progress")
    }

    @Test("requests of an older term are refused with the promised term; an append that does not fit is answered with the log's end")
    func refusalsAndMismatches() {
        var b = Replica(me: "b", durable: Self.log(promised: 3, logTerm: 1, ["x"]))
        let refused: [Replica.Action] = [.send(.refused(term: 3), to: "a")]
        let requests: [Replica.Message] = [
            .probe(term: 2),
            .append(term: 2, expect: Self.at(1, 1), records: ["y"], commit: 2),
            .snapshot(term: 2, base: nil, baseSeq: 0, records: ["q"], commit: 1),
            .fetch(term: 2, after: Self.at(0, 0)),
        ]
        for request in requests {
            let answer = b.receive(request, from: "a", now: 10)
            #expect(answer == refused, "\(request)")
        }
        #expect(b.durable == Self.log(promised: 3, logTerm: 1, ["x"]))
        #expect(b.commitSeq == 0)

        // A newer primary that thinks b's log ends elsewhere: b says where it ends, keeps its log.
        let mismatch = b.receive(.append(term: 4, expect: Self.at(1, 3), records: ["q"], commit: 3), from: "c", now: 20)
        let state: [Replica.Action] = [.send(.state(term: 4, log: Self.at(1, 1)), to: "c")]
        #expect(mismatch == state)
        #expect(b.durable == Self.log(promised: 4, logTerm: 1, ["x"]))
        #expect(b.commitSeq == 0)
    }

    @Test("a log of the primary's term takes a resent or overlapping append without dropping anything, and answers a repeat at once")
    func overlappingAppends() {
        var b = Replica(me: "b", durable: Self.log(promised: 1, logTerm: 1, ["x", "y"]))
        let overlap = b.receive(.append(term: 1, expect: Self.at(1, 1), records: ["y", "z"], commit: 0), from: "a", now: 10)
        let persistZ: [Replica.Action] = [.persist(from: 3, records: ["z"], logTerm: 1)]
        #expect(overlap == persistZ)
        #expect(b.durable.records == ["x", "y", "z"])

        // The same append again: nothing new; the acknowledgement (of what is durable) may have been lost.
        let repeated = b.receive(.append(term: 1, expect: Self.at(1, 1), records: ["y", "z"], commit: 0), from: "a", now: 20)
        let accepted: [Replica.Action] = [.send(.accepted(term: 1, upTo: 2), to: "a")]
        #expect(repeated == accepted)
        #expect(b.durable.records == ["x", "y", "z"])

        // An append past the end (one before it was lost): b says where it ends.
        let gap = b.receive(.append(term: 1, expect: Self.at(1, 5), records: ["v"], commit: 0), from: "a", now: 30)
        let state: [Replica.Action] = [.send(.state(term: 1, log: Self.at(1, 3)), to: "a")]
        #expect(gap == state)
    }

    @Test("a primary pipelines proposals, commits once a majority has them durable (its own copy included), and resends on tick")
    func pipelineAndCommit() {
        var a = primaryA()
        let inLine = a.receive(.state(term: 1, log: Self.at(0, 0)), from: "c", now: 20)
        let appendC: [Replica.Action] = [.send(.append(term: 1, expect: Self.at(0, 0), records: [], commit: 0), to: "c")]
        #expect(inLine == appendC)

        guard let x = a.propose("x") else {
            Issue.record("the primary refused a proposal")
            return
        }
        let firstAppend = Replica.Message.append(term: 1, expect: Self.at(1, 0), records: ["x"], commit: 0)
        let sentX: [Replica.Action] = [.persist(from: 1, records: ["x"], logTerm: 1), .send(firstAppend, to: "b"), .send(firstAppend, to: "c")]
        #expect(x.seq == 1)
        #expect(x.actions == sentX)

        let ackB = a.receive(.accepted(term: 1, upTo: 1), from: "b", now: 30)
        #expect(ackB.isEmpty, "b alone is no majority: a's own copy is not durable yet")
        let own = a.durable(upTo: Self.at(1, 1))
        let upTo1: [Replica.Action] = [.committed(upTo: 1)]
        #expect(own == upTo1)
        let stale = a.receive(.accepted(term: 1, upTo: 0), from: "b", now: 40)
        #expect(stale.isEmpty, "an overtaken acknowledgement changes nothing")

        let y = a.propose("y")
        let secondAppend = Replica.Message.append(term: 1, expect: Self.at(1, 1), records: ["y"], commit: 1)
        let sentY: [Replica.Action] = [.persist(from: 2, records: ["y"], logTerm: 1), .send(secondAppend, to: "b"), .send(secondAppend, to: "c")]
        #expect(y?.seq == 2)
        #expect(y?.actions == sentY)

        // The first tick that finds them behind waits a retry interval (an append in flight is
        // usually acknowledged by then); nothing more acknowledged by the next: b gets what it
        // lacks, c everything.
        #expect(a.tick(now: 100).isEmpty)
        let retry = a.tick(now: 200)
        let resent: [Replica.Action] = [
            .send(.append(term: 1, expect: Self.at(1, 1), records: ["y"], commit: 1), to: "b"),
            .send(.append(term: 1, expect: Self.at(1, 0), records: ["x", "y"], commit: 1), to: "c"),
        ]
        #expect(retry == resent)
    }

    @Test("a backup that has every record gets a newer commit seq with the next append, or after the commit interval; then ticks are idle")
    func commitReachesBackups() {
        var a = primaryA()
        #expect(!a.isIdle, "c never answered its probe")
        _ = a.receive(.state(term: 1, log: Self.at(0, 0)), from: "c", now: 5)
        #expect(a.isIdle)
        _ = a.propose("x")
        #expect(!a.isIdle)
        _ = a.durable(upTo: Self.at(1, 1))
        _ = a.receive(.accepted(term: 1, upTo: 1), from: "b", now: 10)
        _ = a.receive(.accepted(term: 1, upTo: 1), from: "c", now: 11)
        #expect(a.commitSeq == 1 && !a.isIdle, "b and c have x, not the commit seq")
        // No resend for a commit seq alone before the commit interval (10 retry intervals).
        let early = stride(from: 100, through: 1_000, by: 100).flatMap { a.tick(now: Int64($0)) }
        #expect(early.isEmpty, "\(early)")
        let commit = Replica.Message.append(term: 1, expect: Self.at(1, 1), records: [], commit: 1)
        #expect(a.tick(now: 1_100) == [.send(commit, to: "b"), .send(commit, to: "c")])
        #expect(a.isIdle && a.tick(now: 1_200).isEmpty)
    }

    @Test("resends to a backup that acknowledges nothing come at doubling intervals (capped); an acknowledgement resets them")
    func resendBackoff() {
        var a = primaryA()
        _ = a.propose("x")
        _ = a.durable(upTo: Self.at(1, 1))
        // b answered its probe with an empty log, so it is in line: resends go to it, c only gets probes.
        func resendsToB(from start: Int64, through end: Int64) -> [Int64] {
            stride(from: start, through: end, by: 100).filter { now in
                a.tick(now: now).contains { if case .send(.append, "b") = $0 { true } else { false } }
            }
        }
        // The first resend comes a retry interval after a tick found b behind.
        #expect(resendsToB(from: 100, through: 1_600) == [200, 300, 500, 900])
        // Once b acknowledges, the next record's resends start at one interval again.
        _ = a.receive(.accepted(term: 1, upTo: 1), from: "b", now: 1_550)
        _ = a.propose("y")
        #expect(resendsToB(from: 1_700, through: 2_000) == [1_800, 1_900])
        // The wait never grows past 16 intervals.
        let later = resendsToB(from: 2_100, through: 12_000)
        #expect(later.count >= 5 && zip(later, later.dropFirst()).allSatisfy { $1 - $0 <= 1_600 }, "\(later)")
    }

    @Test("recovery adopts the best answer (highest log term, then longest) from its holder, then serves")
    func recoveryFetchesTheBestLog() {
        var b = Replica(me: "b", durable: Self.log(promised: 2, logTerm: 2, ["x", "z"]))
        let probed = b.receive(.probe(term: 3), from: "a", now: 0)
        let state: [Replica.Action] = [.send(.state(term: 3, log: Self.at(2, 2)), to: "a")]
        #expect(probed == state)
        // The holder sends what extends a log of its own term, and its whole log to any other.
        let suffix = b.receive(.fetch(term: 3, after: Self.at(2, 1)), from: "a", now: 5)
        let extends: [Replica.Action] = [.send(.fetched(term: 3, log: Self.at(2, 2), base: nil, baseSeq: 1, records: ["z"]), to: "a")]
        #expect(suffix == extends)
        let whole = b.receive(.fetch(term: 3, after: Self.at(1, 1)), from: "a", now: 6)
        let everything = Replica.Message.fetched(term: 3, log: Self.at(2, 2), base: nil, baseSeq: 0, records: ["x", "z"])
        let wholeLog: [Replica.Action] = [.send(everything, to: "a")]
        #expect(whole == wholeLog)

        var a = Replica(me: "a", durable: Self.log(promised: 1, logTerm: 1, ["x"]))
        _ = a.becomePrimary(term: 3, replicas: replicas, now: 0)
        let fetch = a.receive(.state(term: 3, log: Self.at(2, 2)), from: "b", now: 10)
        let fetchB: [Replica.Action] = [.send(.fetch(term: 3, after: Self.at(1, 1)), to: "b")]
        #expect(fetch == fetchB)
        let late = a.receive(.state(term: 3, log: Self.at(1, 0)), from: "c", now: 12)
        #expect(late.isEmpty, "the choice is made; c is brought in line once a serves")

        let adopted = a.receive(everything, from: "b", now: 20)
        let serving: [Replica.Action] = [
            .install(base: nil, baseSeq: 0, records: ["x", "z"], logTerm: 2),
            .persist(from: 3, records: [], logTerm: 3),
            .serving(term: 3),
            // Logs of older terms get the lineage: the adopted log's end is a claim now.
            .send(.append(term: 3, expect: Self.at(2, 2), records: [], commit: 0, lineage: [Self.at(2, 2)]), to: "b"),
            // An empty log is a prefix of any.
            .send(.append(term: 3, expect: Self.at(1, 0), records: ["x", "z"], commit: 0, lineage: [Self.at(2, 2)]), to: "c"),
        ]
        #expect(adopted == serving)
        #expect(a.role == .primary(term: 3))
        #expect(a.durable == Self.log(promised: 3, logTerm: 3, ["x", "z"], lineage: [Self.at(2, 2)]))
    }

    @Test("a lineage's claim lets a log of an older term take the records after it; a longer one is replaced, and by how much is known")
    func lineageCatchUp() {
        // b's log of term 3 started from a's log of term 2 ("x", "y"): its lineage claims seq 2 of term 2.
        var b = Replica(me: "b", durable: Self.log(promised: 3, logTerm: 3, ["x", "y", "z"], lineage: [Self.at(2, 2)]))
        #expect(b.durable.extends(Self.at(2, 2)) && b.durable.extends(Self.at(2, 1)) && b.durable.extends(Self.at(3, 3)))
        #expect(!b.durable.extends(Self.at(2, 3)) && !b.durable.extends(Self.at(1, 1)) && !b.durable.extends(Self.at(3, 4)))
        #expect(b.durable.agreement(with: Self.at(2, 3)) == 2 && b.durable.agreement(with: Self.at(1, 1)) == nil)

        // a comes back with the log it had in term 2 and becomes primary of term 4: it fetches only "z".
        var a = Replica(me: "a", durable: Self.log(promised: 2, logTerm: 2, ["x", "y"]))
        _ = a.becomePrimary(term: 4, replicas: replicas, now: 0)
        _ = b.receive(.probe(term: 4), from: "a", now: 1)
        #expect(a.receive(.state(term: 4, log: Self.at(3, 3)), from: "b", now: 2) == [.send(.fetch(term: 4, after: Self.at(2, 2)), to: "b")])
        let answer = b.receive(.fetch(term: 4, after: Self.at(2, 2)), from: "a", now: 3)
        let suffix = Replica.Message.fetched(term: 4, log: Self.at(3, 3), base: nil, baseSeq: 2, records: ["z"], lineage: [Self.at(2, 2)])
        #expect(answer == [.send(suffix, to: "a")])
        let adopted = a.receive(suffix, from: "b", now: 4)
        #expect(adopted.prefix(3) == [.persist(from: 3, records: ["z"], logTerm: 3), .persist(from: 4, records: [], logTerm: 4), .serving(term: 4)])
        #expect(a.durable == Self.log(promised: 4, logTerm: 4, ["x", "y", "z"], lineage: [Self.at(2, 2), Self.at(3, 3)]))

        // Had a kept a record of term 2 that b's log does not hold, it would get b's whole log.
        var c = Replica(me: "c", durable: Self.log(promised: 2, logTerm: 2, ["x", "y", "q"]))
        _ = c.becomePrimary(term: 5, replicas: replicas, now: 0)
        _ = b.receive(.probe(term: 5), from: "c", now: 1)
        _ = c.receive(.state(term: 5, log: Self.at(3, 3)), from: "b", now: 2)
        let whole = b.receive(.fetch(term: 5, after: Self.at(2, 3)), from: "c", now: 3)
        let wholeLog = Replica.Message.fetched(term: 5, log: Self.at(3, 3), base: nil, baseSeq: 0, records: ["x", "y", "z"], lineage: [Self.at(2, 2)])
        #expect(whole == [.send(wholeLog, to: "c")])
        let installed = c.receive(wholeLog, from: "b", now: 4)
        #expect(installed.first == .install(base: nil, baseSeq: 0, records: ["x", "y", "z"], logTerm: 3))
        #expect(c.durable.records == ["x", "y", "z"] && c.durable.agreement(with: Self.at(2, 3)) == 2, "seq 3 of term 2 was discarded")
    }

    @Test("a holder that no longer has the log it reported (it restarted) is asked again, and what it has now is weighed")
    func holderLostItsLog() {
        var a = Replica(me: "a", durable: Self.log(promised: 1, logTerm: 1, ["x"]))
        _ = a.becomePrimary(term: 3, replicas: replicas, now: 0)
        _ = a.receive(.state(term: 3, log: Self.at(2, 2)), from: "b", now: 10)
        // b lost "z", which it had not made durable.
        let shorter = a.receive(.fetched(term: 3, log: Self.at(2, 1), base: nil, baseSeq: 0, records: ["x"]), from: "b", now: 20)
        let fetchAgain: [Replica.Action] = [.send(.fetch(term: 3, after: Self.at(1, 1)), to: "b")]
        #expect(shorter == fetchAgain)
        #expect(a.role == .recovering(term: 3))
        #expect(a.durable.records == ["x"])
        let adopted = a.receive(.fetched(term: 3, log: Self.at(2, 1), base: nil, baseSeq: 0, records: ["x"]), from: "b", now: 30)
        #expect(adopted.contains(.serving(term: 3)))
        #expect(a.durable == Self.log(promised: 3, logTerm: 3, ["x"], lineage: [Self.at(2, 1)]))
    }

    @Test("a backup with the adopted log's term but a longer log gets the whole log, never an append on top of its suffix")
    func longerSuffixGetsSnapshot() {
        var a = Replica(me: "a", durable: Self.log(promised: 2, logTerm: 2, ["x"]))
        _ = a.becomePrimary(term: 3, replicas: replicas, now: 0)
        let serving = a.receive(.state(term: 3, log: Self.at(1, 1)), from: "c", now: 10)
        let wholeLog = Replica.Message.snapshot(term: 3, base: nil, baseSeq: 0, records: ["x"], commit: 0, lineage: [Self.at(2, 1)])
        let expected: [Replica.Action] = [.persist(from: 2, records: [], logTerm: 3), .serving(term: 3), .send(wholeLog, to: "c")]
        #expect(serving == expected, "a's own log (term 2) beats c's (term 1); c's older term gets the whole log")

        // b holds a record of term 2 after seq 1 that a did not adopt.
        let longer = a.receive(.state(term: 3, log: Self.at(2, 2)), from: "b", now: 20)
        let snapshotB: [Replica.Action] = [.send(wholeLog, to: "b")]
        #expect(longer == snapshotB)
        // No longer than the adopted log: a prefix of it, so the records after it.
        let shorter = a.receive(.state(term: 3, log: Self.at(2, 0)), from: "b", now: 30)
        let appendB: [Replica.Action] = [.send(.append(term: 3, expect: Self.at(2, 0), records: ["x"], commit: 0, lineage: [Self.at(2, 1)]), to: "b")]
        #expect(shorter == appendB)

        // b takes the whole log, dropping its suffix; a resent or overtaken snapshot of the same
        // term never shortens its log again.
        var b = Replica(me: "b", durable: Self.log(promised: 2, logTerm: 2, ["x", "y"]))
        let installed = b.receive(wholeLog, from: "a", now: 40)
        let install: [Replica.Action] = [
            .install(base: nil, baseSeq: 0, records: ["x"], logTerm: 3), .send(.accepted(term: 3, upTo: 1), to: "a"),
        ]
        #expect(installed == install)
        #expect(b.durable == Self.log(promised: 3, logTerm: 3, ["x"], lineage: [Self.at(2, 1)]))
        _ = b.receive(.append(term: 3, expect: Self.at(3, 1), records: ["w"], commit: 1), from: "a", now: 50)
        let overtaken = b.receive(wholeLog, from: "a", now: 60)
        let accepted: [Replica.Action] = [.send(.accepted(term: 3, upTo: 1), to: "a")]
        #expect(overtaken == accepted)
        #expect(b.durable.records == ["x", "w"])
    }

    @Test("a newer term deposes a primary: it takes no proposal and commits nothing more, even on late acknowledgements")
    func deposed() {
        var a = primaryA()
        _ = a.propose("x")
        let refused = a.receive(.refused(term: 2), from: "c", now: 50)
        let deposed: [Replica.Action] = [.deposed(term: 2)]
        #expect(refused == deposed)
        #expect(a.role == .backup)
        #expect(a.durable.promisedTerm == 2)
        let proposal = a.propose("y") == nil
        #expect(proposal)
        let late = a.receive(.accepted(term: 1, upTo: 1), from: "b", now: 60)
        #expect(late.isEmpty)
        let durable = a.durable(upTo: Self.at(1, 1))
        #expect(durable.isEmpty)
        #expect(a.commitSeq == 0)

        var other = primaryA()
        _ = other.propose("x")
        let probed = other.receive(.probe(term: 2), from: "c", now: 50)
        let answer: [Replica.Action] = [.deposed(term: 2), .send(.state(term: 2, log: Self.at(1, 1)), to: "c")]
        #expect(probed == answer)
    }

    @Test("a backup whose next records were compacted away gets the snapshot and the records after it")
    func compactedLogIsSentAsSnapshot() {
        var a = primaryA()
        _ = a.propose("x")
        _ = a.propose("y")
        _ = a.propose("z")
        a.compacted(upTo: 2, into: ["x", "y"])
        #expect(a.durable.baseSeq == 2)
        #expect(a.durable.records == ["z"])
        #expect(a.lastSeq == 3)
        let behind = a.receive(.state(term: 1, log: Self.at(1, 1)), from: "c", now: 20)
        let snapshot: [Replica.Action] = [.send(.snapshot(term: 1, base: ["x", "y"], baseSeq: 2, records: ["z"], commit: 0), to: "c")]
        #expect(behind == snapshot)
        let close = a.receive(.state(term: 1, log: Self.at(1, 2)), from: "c", now: 30)
        let append: [Replica.Action] = [.send(.append(term: 1, expect: Self.at(1, 2), records: ["z"], commit: 0), to: "c")]
        #expect(close == append)
    }

    @Test("a replica restarted from its durable part is a backup that keeps its promise, and a promised term cannot be served again")
    func restart() {
        var b = Replica(me: "b")
        _ = b.receive(.probe(term: 1), from: "a", now: 0)
        _ = b.receive(.append(term: 1, expect: Self.at(0, 0), records: ["x"], commit: 1), from: "a", now: 10)
        _ = b.receive(.probe(term: 2), from: "c", now: 20)
        var restarted = Replica(me: "b", durable: b.durable)
        #expect(restarted.role == .backup)
        #expect(restarted.commitSeq == 0)
        #expect(restarted.lastSeq == 1)
        #expect(restarted.durablePosition == Self.at(1, 1))
        let stale = restarted.receive(.probe(term: 1), from: "a", now: 30)
        let refused: [Replica.Action] = [.send(.refused(term: 2), to: "a")]
        #expect(stale == refused)
        let again = restarted.becomePrimary(term: 2, replicas: replicas, now: 40)
        #expect(again.isEmpty)
        #expect(restarted.role == .backup)
        let next = restarted.becomePrimary(term: 3, replicas: replicas, now: 50)
        let probes: [Replica.Action] = [.send(.probe(term: 3), to: "a"), .send(.probe(term: 3), to: "c")]
        #expect(next == probes)
    }

    @Test("a backup acknowledges a newer term only once its switch to that term is durable, and never an older primary after a newer promise")
    func termSwitchDurability() {
        var b = Replica(me: "b", durable: Self.log(promised: 1, logTerm: 1, ["x", "y"]))
        let switched = b.receive(.append(term: 2, expect: Self.at(1, 2), records: [], commit: 0), from: "c", now: 10)
        let marker: [Replica.Action] = [.persist(from: 3, records: [], logTerm: 2)]
        #expect(switched == marker, "no acknowledgement: after a crash now, b's log would be of term 1")
        #expect(b.durable.logTerm == 2)
        let olderBatch = b.durable(upTo: Self.at(1, 2))
        #expect(olderBatch.isEmpty)
        let durable = b.durable(upTo: Self.at(2, 2))
        let accepted: [Replica.Action] = [.send(.accepted(term: 2, upTo: 2), to: "c")]
        #expect(durable == accepted)

        var d = Replica(me: "d")
        _ = d.receive(.append(term: 1, expect: Self.at(0, 0), records: ["x"], commit: 0), from: "a", now: 0)
        _ = d.receive(.probe(term: 2), from: "c", now: 10)
        let late = d.durable(upTo: Self.at(1, 1))
        #expect(late.isEmpty, "d promised term 2: an acknowledgement to term 1's primary could commit after term 2 took its answer")
    }
}
