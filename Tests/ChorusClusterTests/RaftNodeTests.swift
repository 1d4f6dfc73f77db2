import ChorusCluster
import Testing

/// `RaftNode` driven by hand: explicit instants, messages written out, no network.
///
/// With the default timing an election timeout is random in 1,000..<2,000 ms, so a node started
/// (or last reset) at `t` has not timed out at `t + 999` and has at `t + 2,000`.
@Suite("RaftNode")
struct RaftNodeTests {
    typealias Raft = RaftNode<String>

    let members = ["a", "b", "c"]

    static func entry(_ term: UInt64, _ command: String?) -> Raft.Entry {
        Raft.Entry(term: term, command: command)
    }

    /// The no-op a new leader of `term` appends.
    static func noop(_ term: UInt64) -> Raft.Entry {
        Raft.Entry(term: term, command: nil)
    }

    /// `a`, leader of term 1 of `a`, `b` and `c`: it timed out at 2,000 ms, `b` granted its
    /// pre-vote at once and its vote at 2,010.
    func leaderA() -> Raft {
        var a = Raft(me: "a", members: members, seed: 1, now: 0)
        _ = Self.campaign(&a, at: 2_000, preVoteFrom: "b")
        _ = a.receive(.vote(term: 1, granted: true), from: "b", now: 2_010)
        return a
    }

    /// `node` times out at `now` and asks for pre-votes for its next term; `peer` grants one at
    /// once. Returns what the grant made `node` do (a candidate's vote requests).
    static func campaign(_ node: inout Raft, at now: Int64, preVoteFrom peer: String) -> [Raft.Action] {
        let asked = node.tick(now: now)
        let next = node.persistent.term + 1
        let request = Raft.Message.preVote(term: next, lastIndex: node.persistent.lastIndex, lastTerm: node.persistent.lastTerm)
        #expect(asked == node.peers.map { .send(request, to: $0) })
        #expect(node.persistent.term == next - 1, "a pre-vote changes no term")
        return node.receive(.preVoteReply(term: next, granted: true), from: peer, now: now)
    }

    @Test("a single member elects itself at its first deadline, commits its no-op, and commits a proposal at once")
    func singleMember() {
        var a = Raft(me: "a", members: ["a"], seed: 7, now: 0)
        let early = a.tick(now: 999)
        #expect(early.isEmpty)
        #expect(a.role == .follower)
        let elected = a.tick(now: 2_000)
        let expected: [Raft.Action] = [.becameLeader(term: 1), .committed(upTo: 1)]
        #expect(elected == expected)
        #expect(a.role == .leader)
        #expect(a.leader == "a")
        #expect(a.persistent.term == 1)
        #expect(a.persistent.votedFor == "a")
        guard let proposal = a.propose("x") else {
            Issue.record("the leader refused a proposal")
            return
        }
        #expect(proposal.index == 2)
        let committed: [Raft.Action] = [.committed(upTo: 2)]
        #expect(proposal.actions == committed)
        #expect(a.commitIndex == 2)
        #expect(a.persistent.log == [Self.noop(1), Self.entry(1, "x")])
    }

    @Test("a follower times out into pre-votes, one granted pre-vote makes it a candidate of the next term, and one granted vote of two peers makes it leader")
    func election() {
        var a = Raft(me: "a", members: members, seed: 1, now: 0)
        var b = Raft(me: "b", members: members, seed: 2, now: 0)
        let quiet = a.tick(now: 999)
        #expect(quiet.isEmpty)
        let polled = a.tick(now: 2_000)
        let poll = Raft.Message.preVote(term: 1, lastIndex: 0, lastTerm: 0)
        let polls: [Raft.Action] = [.send(poll, to: "b"), .send(poll, to: "c")]
        #expect(polled == polls)
        #expect(a.role == .follower)
        #expect(a.persistent.term == 0)
        #expect(a.persistent.votedFor == nil)

        let preVote = b.receive(poll, from: "a", now: 2_003)
        let preGranted: [Raft.Action] = [.send(.preVoteReply(term: 1, granted: true), to: "a")]
        #expect(preVote == preGranted)
        #expect(b.persistent.term == 0, "granting a pre-vote changes no term")
        #expect(b.persistent.votedFor == nil)

        let asked = a.receive(.preVoteReply(term: 1, granted: true), from: "b", now: 2_004)
        let request = Raft.Message.requestVote(term: 1, lastIndex: 0, lastTerm: 0)
        let requests: [Raft.Action] = [.send(request, to: "b"), .send(request, to: "c")]
        #expect(asked == requests)
        #expect(a.role == .candidate)
        #expect(a.persistent.term == 1)
        #expect(a.persistent.votedFor == "a")
        #expect(a.leader == nil)

        let answer = b.receive(request, from: "a", now: 2_005)
        let granted: [Raft.Action] = [.send(.vote(term: 1, granted: true), to: "a")]
        #expect(answer == granted)
        #expect(b.persistent.term == 1)
        #expect(b.persistent.votedFor == "a")

        let won = a.receive(.vote(term: 1, granted: true), from: "b", now: 2_010)
        // A new leader appends a no-op of its term and sends it (until a follower has it, every
        // heartbeat carries it).
        let heartbeat = Raft.Message.append(term: 1, prevIndex: 0, prevTerm: 0, entries: [Self.noop(1)], commit: 0)
        let leading: [Raft.Action] = [.becameLeader(term: 1), .send(heartbeat, to: "b"), .send(heartbeat, to: "c")]
        #expect(won == leading)
        #expect(a.role == .leader)
        #expect(a.leader == "a")
        let late = a.receive(.vote(term: 1, granted: true), from: "c", now: 2_020)
        #expect(late.isEmpty, "a vote after the election is won changes nothing")

        // Heartbeats every 200 ms.
        let tooSoon = a.tick(now: 2_209)
        #expect(tooSoon.isEmpty)
        let beat = a.tick(now: 2_210)
        let heartbeats: [Raft.Action] = [.send(heartbeat, to: "b"), .send(heartbeat, to: "c")]
        #expect(beat == heartbeats)

        let followed = b.receive(heartbeat, from: "a", now: 2_015)
        let reply: [Raft.Action] = [.send(.appendReply(term: 1, success: true, matchIndex: 1), to: "a")]
        #expect(followed == reply)
        #expect(b.role == .follower)
        #expect(b.leader == "a")
    }

    @Test("a candidate without a majority times out into the next term, and follows a leader of its term")
    func splitVote() {
        var a = Raft(me: "a", members: members, seed: 1, now: 0)
        _ = Self.campaign(&a, at: 2_000, preVoteFrom: "c")
        let refused = a.receive(.vote(term: 1, granted: false), from: "b", now: 2_010)
        #expect(refused.isEmpty)
        #expect(a.role == .candidate)
        let again = Self.campaign(&a, at: 4_000, preVoteFrom: "b")
        let request = Raft.Message.requestVote(term: 2, lastIndex: 0, lastTerm: 0)
        let requests: [Raft.Action] = [.send(request, to: "b"), .send(request, to: "c")]
        #expect(again == requests)
        #expect(a.persistent.term == 2)

        let heartbeat = a.receive(.append(term: 2, prevIndex: 0, prevTerm: 0, entries: [], commit: 0), from: "c", now: 4_010)
        let reply: [Raft.Action] = [.send(.appendReply(term: 2, success: true, matchIndex: 0), to: "c")]
        #expect(heartbeat == reply)
        #expect(a.role == .follower)
        #expect(a.leader == "c")
        #expect(a.persistent.votedFor == "a", "its own vote in term 2 stands")
    }

    @Test("a node grants one vote per term, only to a candidate whose log is at least as up to date (§5.4.1)")
    func voting() {
        var c = Raft(me: "c", members: members, seed: 3, now: 0)
        let entries = [Self.entry(1, "x"), Self.entry(2, "y")]
        _ = c.receive(.append(term: 2, prevIndex: 0, prevTerm: 0, entries: entries, commit: 0), from: "a", now: 10)
        #expect(c.persistent.log == entries)

        // A longer log whose last term is older is less up to date: refused, though the term moves on.
        let olderLastTerm = c.receive(.requestVote(term: 3, lastIndex: 5, lastTerm: 1), from: "b", now: 20)
        let refusedB: [Raft.Action] = [.send(.vote(term: 3, granted: false), to: "b")]
        #expect(olderLastTerm == refusedB)
        #expect(c.persistent.term == 3)
        #expect(c.persistent.votedFor == nil)
        // The same last term and a shorter log: refused.
        let shorter = c.receive(.requestVote(term: 3, lastIndex: 1, lastTerm: 2), from: "b", now: 30)
        #expect(shorter == refusedB)
        // As up to date: granted; and granted again to the same candidate (a duplicate request).
        let grantedB: [Raft.Action] = [.send(.vote(term: 3, granted: true), to: "b")]
        let equal = c.receive(.requestVote(term: 3, lastIndex: 2, lastTerm: 2), from: "b", now: 40)
        #expect(equal == grantedB)
        #expect(c.persistent.votedFor == "b")
        let duplicate = c.receive(.requestVote(term: 3, lastIndex: 2, lastTerm: 2), from: "b", now: 45)
        #expect(duplicate == grantedB)
        // Another candidate of the same term, even with a more up-to-date log: refused.
        let refusedA: [Raft.Action] = [.send(.vote(term: 3, granted: false), to: "a")]
        let second = c.receive(.requestVote(term: 3, lastIndex: 9, lastTerm: 3), from: "a", now: 50)
        #expect(second == refusedA)
        #expect(c.persistent.votedFor == "b")
        // An older term: refused, with the current term.
        let stale = c.receive(.requestVote(term: 2, lastIndex: 9, lastTerm: 3), from: "a", now: 60)
        #expect(stale == refusedA)
        // The next term: a new vote.
        let next = c.receive(.requestVote(term: 4, lastIndex: 9, lastTerm: 3), from: "a", now: 70)
        let grantedA: [Raft.Action] = [.send(.vote(term: 4, granted: true), to: "a")]
        #expect(next == grantedA)
        #expect(c.persistent.votedFor == "a")
    }

    @Test("a node restarted from its persistent state does not vote twice in a term")
    func voteSurvivesRestart() {
        var c = Raft(me: "c", members: members, seed: 3, now: 0)
        _ = c.receive(.requestVote(term: 1, lastIndex: 0, lastTerm: 0), from: "a", now: 10)
        var restarted = Raft(me: "c", members: members, persistent: c.persistent, seed: 4, now: 20)
        #expect(restarted.role == .follower)
        #expect(restarted.commitIndex == 0)
        let answer = restarted.receive(.requestVote(term: 1, lastIndex: 0, lastTerm: 0), from: "b", now: 30)
        let refused: [Raft.Action] = [.send(.vote(term: 1, granted: false), to: "b")]
        #expect(answer == refused)
    }

    @Test("a higher term in any message makes a leader step down")
    func higherTermDeposes() {
        let messages: [Raft.Message] = [
            .requestVote(term: 2, lastIndex: 0, lastTerm: 0),
            .vote(term: 2, granted: false),
            .append(term: 2, prevIndex: 0, prevTerm: 0, entries: [], commit: 0),
            .appendReply(term: 2, success: false, matchIndex: 0),
        ]
        for message in messages {
            var a = leaderA()
            #expect(a.role == .leader)
            _ = a.receive(message, from: "c", now: 2_100)
            #expect(a.role == .follower, "\(message)")
            #expect(a.persistent.term == 2, "\(message)")
            let refused = a.propose("x") == nil
            #expect(refused, "\(message)")
        }
        var a = leaderA()
        _ = a.receive(.appendReply(term: 2, success: false, matchIndex: 0), from: "c", now: 2_100)
        #expect(a.leader == nil)
        #expect(a.persistent.votedFor == nil)
        var deposed = leaderA()
        _ = deposed.receive(.append(term: 2, prevIndex: 0, prevTerm: 0, entries: [], commit: 0), from: "c", now: 2_100)
        #expect(deposed.leader == "c")
    }

    @Test("an append of an older term is refused with the current term and changes nothing")
    func staleAppend() {
        var b = Raft(me: "b", members: members, seed: 2, now: 0)
        _ = b.receive(.requestVote(term: 3, lastIndex: 0, lastTerm: 0), from: "c", now: 10)
        let answer = b.receive(.append(term: 2, prevIndex: 0, prevTerm: 0, entries: [Self.entry(2, "x")], commit: 1), from: "a", now: 20)
        let refused: [Raft.Action] = [.send(.appendReply(term: 3, success: false, matchIndex: 0), to: "a")]
        #expect(answer == refused)
        #expect(b.persistent.log.isEmpty)
        #expect(b.commitIndex == 0)
        #expect(b.leader == nil)
    }

    @Test("a follower drops a conflicting suffix for the leader's entries, and only a conflicting one")
    func conflictingSuffix() {
        var b = Raft(me: "b", members: members, seed: 2, now: 0)
        let old = [Self.entry(1, "x"), Self.entry(1, "y"), Self.entry(1, "z")]
        let first = b.receive(.append(term: 1, prevIndex: 0, prevTerm: 0, entries: old, commit: 1), from: "a", now: 10)
        let stored: [Raft.Action] = [.send(.appendReply(term: 1, success: true, matchIndex: 3), to: "a"), .committed(upTo: 1)]
        #expect(first == stored)
        #expect(b.persistent.log == old)

        // `c`, leader of term 2, has x and then entries of term 2: b's entry 3 is not its entry 3.
        let mismatch = b.receive(.append(term: 2, prevIndex: 3, prevTerm: 2, entries: [Self.entry(2, "q")], commit: 1), from: "c", now: 20)
        let refused: [Raft.Action] = [.send(.appendReply(term: 2, success: false, matchIndex: 0), to: "c")]
        #expect(mismatch == refused)
        #expect(b.persistent.log == old, "a failed consistency check changes nothing")
        #expect(b.leader == "c")

        let repair = b.receive(
            .append(term: 2, prevIndex: 1, prevTerm: 1, entries: [Self.entry(2, "p"), Self.entry(2, "q")], commit: 2), from: "c", now: 30)
        let repaired: [Raft.Action] = [.send(.appendReply(term: 2, success: true, matchIndex: 3), to: "c"), .committed(upTo: 2)]
        #expect(repair == repaired)
        let expected = [Self.entry(1, "x"), Self.entry(2, "p"), Self.entry(2, "q")]
        #expect(b.persistent.log == expected)

        // A delayed, shorter append of the same leader matches what b has: nothing is dropped.
        let delayed = b.receive(.append(term: 2, prevIndex: 1, prevTerm: 1, entries: [Self.entry(2, "p")], commit: 1), from: "c", now: 40)
        let matched: [Raft.Action] = [.send(.appendReply(term: 2, success: true, matchIndex: 2), to: "c")]
        #expect(delayed == matched)
        #expect(b.persistent.log == expected)
        #expect(b.commitIndex == 2)
    }

    @Test("a follower commits what its leader committed, but no further than what it has from that leader")
    func followerCommit() {
        var b = Raft(me: "b", members: members, seed: 2, now: 0)
        let answer = b.receive(.append(term: 1, prevIndex: 0, prevTerm: 0, entries: [Self.entry(1, "x")], commit: 5), from: "a", now: 10)
        let expected: [Raft.Action] = [.send(.appendReply(term: 1, success: true, matchIndex: 1), to: "a"), .committed(upTo: 1)]
        #expect(answer == expected)
        #expect(b.commitIndex == 1)
    }

    @Test("a leader commits an entry of an older term only along with one of its own term (§5.4.2)")
    func olderTermEntryCommitsWithCurrentTerm() {
        var a = Raft(me: "a", members: members, seed: 1, now: 0)
        let old = Self.entry(1, "old")
        _ = a.receive(.append(term: 1, prevIndex: 0, prevTerm: 0, entries: [old], commit: 0), from: "c", now: 100)
        let asked = Self.campaign(&a, at: 2_100, preVoteFrom: "b")
        let request = Raft.Message.requestVote(term: 2, lastIndex: 1, lastTerm: 1)
        let requests: [Raft.Action] = [.send(request, to: "b"), .send(request, to: "c")]
        #expect(asked == requests)

        let won = a.receive(.vote(term: 2, granted: true), from: "b", now: 2_110)
        let noop = Self.noop(2)
        let probe = Raft.Message.append(term: 2, prevIndex: 1, prevTerm: 1, entries: [noop], commit: 0)
        let leading: [Raft.Action] = [.becameLeader(term: 2), .send(probe, to: "b"), .send(probe, to: "c")]
        #expect(won == leading)
        #expect(a.persistent.log == [old, noop])

        // b lacks entry 1: the leader backs off one entry and sends it with the no-op.
        let backOff = a.receive(.appendReply(term: 2, success: false, matchIndex: 0), from: "b", now: 2_120)
        let resend: [Raft.Action] = [.send(.append(term: 2, prevIndex: 0, prevTerm: 0, entries: [old, noop], commit: 0), to: "b")]
        #expect(backOff == resend)

        // A majority (a and b) stores the entry of term 1 (b's reply covers only it so far), but
        // counting replicas does not commit an entry of an older term.
        let stored = a.receive(.appendReply(term: 2, success: true, matchIndex: 1), from: "b", now: 2_130)
        #expect(stored.isEmpty)
        #expect(a.commitIndex == 0)
        let beat = a.tick(now: 2_310)
        let heartbeats: [Raft.Action] = [.send(probe, to: "b"), .send(probe, to: "c")]
        #expect(beat == heartbeats, "the heartbeat still says commit 0")

        // The leader's own no-op, once a majority stores it, commits both, and the new commit
        // index goes to the followers at once (c still lacks entry 2; b has everything).
        let committed = a.receive(.appendReply(term: 2, success: true, matchIndex: 2), from: "b", now: 2_330)
        let upTo2: [Raft.Action] = [
            .committed(upTo: 2), .send(.append(term: 2, prevIndex: 2, prevTerm: 2, entries: [], commit: 2), to: "b"),
            .send(.append(term: 2, prevIndex: 1, prevTerm: 1, entries: [noop], commit: 2), to: "c"),
        ]
        #expect(committed == upTo2)
        #expect(a.commitIndex == 2)
    }

    @Test("propose on a follower or a candidate returns nil and leaves the log alone")
    func proposeOnNonLeader() {
        var a = Raft(me: "a", members: members, seed: 1, now: 0)
        let asFollower = a.propose("x") == nil
        #expect(asFollower)
        _ = Self.campaign(&a, at: 2_000, preVoteFrom: "b")
        #expect(a.role == .candidate)
        let asCandidate = a.propose("x") == nil
        #expect(asCandidate)
        #expect(a.persistent.log.isEmpty)
    }

    @Test("a message from a node outside the group is ignored")
    func strangerIgnored() {
        var a = Raft(me: "a", members: members, seed: 1, now: 0)
        let answer = a.receive(.requestVote(term: 5, lastIndex: 0, lastTerm: 0), from: "z", now: 10)
        #expect(answer.isEmpty)
        #expect(a.persistent.term == 0)
    }

    // MARK: Pre-votes

    @Test("a follower that heard its leader within the election timeout grants no pre-vote; later it does, and no pre-vote moves its term")
    func preVoteWhileLeaderHeard() {
        var c = Raft(me: "c", members: members, seed: 3, now: 0)
        _ = c.receive(.append(term: 1, prevIndex: 0, prevTerm: 0, entries: [Self.entry(1, "x")], commit: 0), from: "a", now: 100)
        let poll = Raft.Message.preVote(term: 2, lastIndex: 1, lastTerm: 1)
        let early = c.receive(poll, from: "b", now: 1_099)
        let denied: [Raft.Action] = [.send(.preVoteReply(term: 1, granted: false), to: "b")]
        #expect(early == denied)
        let late = c.receive(poll, from: "b", now: 1_100)
        let granted: [Raft.Action] = [.send(.preVoteReply(term: 2, granted: true), to: "b")]
        #expect(late == granted)
        #expect(c.persistent.term == 1)
        #expect(c.persistent.votedFor == nil)
        #expect(c.leader == "a", "a pre-vote does not unseat the leader it knows")
    }

    @Test("a leader claim keeps a follower from timing out and from granting pre-votes, as an append would, and sends nothing")
    func leaderClaimKeepsFollowerQuiet() {
        var c = Raft(me: "c", members: members, seed: 3, now: 0)
        _ = c.receive(.append(term: 1, prevIndex: 0, prevTerm: 0, entries: [Self.entry(1, "x")], commit: 0), from: "a", now: 100)
        // Claims every 500 ms, no append after the first: 10 s without an election.
        for now in stride(from: Int64(600), through: 10_100, by: 500) {
            c.heardLeader(term: 1, from: "a", now: now)
            #expect(c.tick(now: now + 499).isEmpty, "timed out at \(now + 499)")
        }
        #expect(c.role == .follower)
        #expect(c.leader == "a")
        #expect(c.persistent.term == 1)
        #expect(c.persistent.log == [Self.entry(1, "x")], "a claim touches no log")
        #expect(c.commitIndex == 0, "nor the commit index")
        let poll = Raft.Message.preVote(term: 2, lastIndex: 1, lastTerm: 1)
        let denied: [Raft.Action] = [.send(.preVoteReply(term: 1, granted: false), to: "b")]
        #expect(c.receive(poll, from: "b", now: 11_000) == denied, "the leader was heard 900 ms ago")
        // Without claims it times out as before.
        let polls = c.tick(now: 10_100 + 2_000)
        #expect(polls.count == 2)
    }

    @Test("a claim of a newer term is followed; a candidate steps back for a claim of its term; a stale claim, a leader's own term and a stranger change nothing")
    func leaderClaimTerms() {
        // Newer: a follower of term 0 follows b in term 3, with no vote cast in it.
        var c = Raft(me: "c", members: members, seed: 3, now: 0)
        c.heardLeader(term: 3, from: "b", now: 10)
        #expect(c.persistent.term == 3)
        #expect(c.persistent.votedFor == nil)
        #expect(c.leader == "b")
        #expect(c.role == .follower)
        // Stale: a claim of term 2 changes nothing.
        c.heardLeader(term: 2, from: "a", now: 20)
        #expect(c.leader == "b")
        #expect(c.persistent.term == 3)
        // A candidate of term 1 hears that b leads term 1: it steps back.
        var a = Raft(me: "a", members: members, seed: 1, now: 0)
        _ = Self.campaign(&a, at: 2_000, preVoteFrom: "b")
        #expect(a.role == .candidate)
        #expect(a.persistent.term == 1)
        a.heardLeader(term: 1, from: "c", now: 2_005)
        #expect(a.role == .follower)
        #expect(a.leader == "c")
        #expect(a.persistent.votedFor == "a", "its own vote stays cast")
        // A leader ignores a claim of its own term (there is one leader a term), and steps down for a newer one.
        var leader = leaderA()
        leader.heardLeader(term: 1, from: "b", now: 2_100)
        #expect(leader.role == .leader)
        #expect(leader.persistent.term == 1)
        leader.heardLeader(term: 2, from: "b", now: 2_200)
        #expect(leader.role == .follower)
        #expect(leader.leader == "b")
        // A node outside the group is not heard.
        var stranger = Raft(me: "c", members: members, seed: 3, now: 0)
        stranger.heardLeader(term: 5, from: "z", now: 10)
        #expect(stranger.persistent.term == 0)
        #expect(stranger.leader == nil)
    }

    @Test("a leader claims its term only while a majority answered its appends within twice the election timeout")
    func claimNeedsAnswers() {
        var a = leaderA()
        #expect(a.claim == nil, "no follower answered yet")
        #expect(a.leading(now: 2_010) == nil)
        _ = a.receive(.appendReply(term: 1, success: true, matchIndex: 1), from: "b", now: 2_020)
        #expect(a.claim?.term == 1)
        #expect(a.claim?.until == 4_020)
        #expect(a.leading(now: 4_019) == 1)
        #expect(a.leading(now: 4_020) == nil, "b has not answered for twice the election timeout")
        // A refusal is an answer too: the follower hears the leader.
        _ = a.receive(.appendReply(term: 1, success: false, matchIndex: 0), from: "c", now: 3_000)
        #expect(a.claim?.until == 5_000)
        // Answers of an older term do not count.
        var b = leaderA()
        _ = b.receive(.appendReply(term: 0, success: true, matchIndex: 0), from: "b", now: 2_020)
        #expect(b.claim == nil)
        // A follower claims nothing; a group of one always may.
        let c = Raft(me: "c", members: members, seed: 3, now: 0)
        #expect(c.claim == nil)
        var solo = Raft(me: "a", members: ["a"], seed: 7, now: 0)
        _ = solo.tick(now: 2_000)
        #expect(solo.leading(now: 1_000_000) == 1)
    }

    @Test("a pre-vote is refused to a log less up to date, and to a term that is not above the receiver's")
    func preVoteRules() {
        var c = Raft(me: "c", members: members, seed: 3, now: 0)
        _ = c.receive(.append(term: 2, prevIndex: 0, prevTerm: 0, entries: [Self.entry(1, "x"), Self.entry(2, "y")], commit: 0), from: "a", now: 10)
        let later: Int64 = 5_000
        let behind = c.receive(.preVote(term: 3, lastIndex: 1, lastTerm: 1), from: "b", now: later)
        let refusedB: [Raft.Action] = [.send(.preVoteReply(term: 2, granted: false), to: "b")]
        #expect(behind == refusedB)
        let sameTerm = c.receive(.preVote(term: 2, lastIndex: 2, lastTerm: 2), from: "b", now: later)
        #expect(sameTerm == refusedB)
        let fine = c.receive(.preVote(term: 3, lastIndex: 2, lastTerm: 2), from: "b", now: later)
        let grantedB: [Raft.Action] = [.send(.preVoteReply(term: 3, granted: true), to: "b")]
        #expect(fine == grantedB)
        #expect(c.persistent.term == 2)
    }

    @Test("a node that was cut off comes back without deposing the leader: its pre-vote is refused and it catches up on the term")
    func cutOffNodeDoesNotDisrupt() {
        var a = leaderA()
        // `c` heard nothing (cut off) and timed out twice: its pre-votes went unanswered, so its
        // term never moved (without pre-votes it would be at term 2 and more by now).
        var c = Raft(me: "c", members: members, seed: 3, now: 0)
        _ = c.tick(now: 2_000)
        _ = c.tick(now: 4_000)
        #expect(c.persistent.term == 0)
        let poll = Raft.Message.preVote(term: 1, lastIndex: 0, lastTerm: 0)
        let answer = a.receive(poll, from: "c", now: 4_100)
        let refused: [Raft.Action] = [.send(.preVoteReply(term: 1, granted: false), to: "c")]
        #expect(answer == refused, "a leader grants no pre-vote")
        #expect(a.role == .leader)
        #expect(a.persistent.term == 1)
        let caughtUp = c.receive(.preVoteReply(term: 1, granted: false), from: "a", now: 4_105)
        #expect(caughtUp.isEmpty)
        #expect(c.persistent.term == 1, "a refusal with a higher term brings the node to that term")
        #expect(c.role == .follower)
    }

    @Test("a pre-vote grant for a term already passed starts no election")
    func stalePreVoteGrant() {
        var a = Raft(me: "a", members: members, seed: 1, now: 0)
        _ = a.tick(now: 2_000)
        _ = a.receive(.append(term: 3, prevIndex: 0, prevTerm: 0, entries: [], commit: 0), from: "b", now: 2_001)
        let late = a.receive(.preVoteReply(term: 1, granted: true), from: "c", now: 2_002)
        #expect(late.isEmpty)
        #expect(a.role == .follower)
        #expect(a.persistent.term == 3)
    }
}
