/// One member of a Raft group as a pure state machine: leader election and log replication
/// (Ongaro and Ousterhout, "In Search of an Understandable Consensus Algorithm", §5). It does no
/// I/O and reads no clock: every input carries `now` (milliseconds of the shell's clock), and
/// every output is an ``Action``. Chorus runs one group over all configured nodes for its
/// cluster metadata (ring epochs, membership, terms; docs/replication.md).
///
/// **Durability.** ``persistent`` (the current term, the vote, the log) must be durable before the
/// shell sends any message the same step produced: a node that forgot a vote or an
/// acknowledged entry after a crash could elect two leaders in one term or lose a committed entry.
/// A restarted node is created from what it had made durable.
///
/// **Timing.** A follower that hears from no leader for its election timeout (randomized between
/// `electionTimeout` and twice that, from `seed`, so nodes rarely time out together) first asks
/// for *pre-votes* (the dissertation's §9.6): would the others vote for it in the next term? Only
/// when a majority would does it become a candidate of that term and ask for votes. A node grants
/// a pre-vote only to a candidate whose log is as up to date as its own, and only when it has not
/// heard from a leader itself for an election timeout; a leader grants none. A pre-vote changes
/// no term and no vote. So a node that was cut off, paused, or too busy to hear its leader cannot
/// depose a leader the others still follow: without it, such a node's ever higher term reached
/// the leader (in any reply) and forced an election each time. A leader sends its log (or an
/// empty heartbeat) every `heartbeatInterval`.
///
/// **Leader claims.** A shell that already exchanges messages with its peers more often than the
/// election timeout (Chorus's membership heartbeats) can carry in them the term each node leads,
/// ``claim``; ``heardLeader(term:from:now:)`` counts such a claim as hearing from that leader,
/// as an empty append of that term would (it never touches the log or the commit index, and casts
/// no vote). Followers then stay quiet while the leader is heard, and the leader's own heartbeats
/// only repair logs and carry the commit index, so they can be rarer. A leader claims only while a
/// majority of the group, itself included, answered its appends within twice the election
/// timeout: one whose own messages no longer get through (a stuck shell, a broken connection)
/// stops claiming, and its followers elect another (docs/replication.md).
///
/// **Safety** (the invariants the simulator checks): at most one leader per term; a node votes
/// once per term, and only for a candidate whose log is at least as up to date as its own
/// (§5.4.1); a leader never overwrites its log; an entry is committed once a majority stores it
/// and it is of the leader's own term (§5.4.2), and a committed entry is in every later leader's
/// log.
public struct RaftNode<Command: Sendable & Equatable>: Sendable {
    public struct Entry: Sendable, Equatable {
        public var term: UInt64
        /// `nil` for the no-op a new leader appends (the shell skips it when applying).
        public var command: Command?

        public init(term: UInt64, command: Command?) {
            self.term = term
            self.command = command
        }
    }

    /// What must survive a crash.
    public struct Persistent: Sendable, Equatable {
        public var term: UInt64 = 0
        public var votedFor: String?
        /// Entry `i` (1-based in Raft) is `log[i - 1]`.
        public var log: [Entry] = []

        public init() {}

        public var lastIndex: UInt64 { UInt64(log.count) }
        public var lastTerm: UInt64 { log.last?.term ?? 0 }

        /// The term of entry `index` (0 for index 0, the empty prefix).
        public func term(at index: UInt64) -> UInt64? {
            index == 0 ? 0 : index <= lastIndex ? log[Int(index - 1)].term : nil
        }
    }

    public enum Role: Sendable, Equatable {
        case follower, candidate, leader
    }

    public enum Message: Sendable, Equatable {
        /// Would you vote for me in `term` (one above the sender's)? Changes nothing at the receiver.
        case preVote(term: UInt64, lastIndex: UInt64, lastTerm: UInt64)
        /// The answer: `term` is the pre-vote's when granted, else the receiver's own term (a
        /// sender behind it catches up, else it could never gather pre-votes).
        case preVoteReply(term: UInt64, granted: Bool)
        case requestVote(term: UInt64, lastIndex: UInt64, lastTerm: UInt64)
        case vote(term: UInt64, granted: Bool)
        /// Entries after `prevIndex` (whose term is `prevTerm`), and the leader's commit index.
        case append(term: UInt64, prevIndex: UInt64, prevTerm: UInt64, entries: [Entry], commit: UInt64)
        /// The follower's answer: whether it matched, and the last index it now has from the leader.
        case appendReply(term: UInt64, success: Bool, matchIndex: UInt64)
    }

    public enum Action: Sendable, Equatable {
        case send(Message, to: String)
        /// Entries up to this index are committed: apply them, in order, to the metadata.
        case committed(upTo: UInt64)
        /// This node became the leader of `term`.
        case becameLeader(term: UInt64)
    }

    public let me: String
    /// The other members.
    public let peers: [String]
    public let electionTimeout: Int64
    public let heartbeatInterval: Int64

    public private(set) var persistent: Persistent
    public private(set) var role = Role.follower
    /// The leader of the current term, once known.
    public private(set) var leader: String?
    public private(set) var commitIndex: UInt64 = 0

    private var random: UInt64
    /// When ``tick(now:)`` next has something to do: a leader's heartbeat, or a follower's or
    /// candidate's election timeout (later inputs may move it).
    public private(set) var deadline: Int64
    private var votes: Set<String> = []
    /// While asking for pre-votes: who granted one (this node included).
    private var preVotes: Set<String>?
    /// When this node last heard from the leader of its term (a leader: when it became one).
    private var leaderContact: Int64?
    /// Leader state: the next index to send to each peer, the highest index each has, and when
    /// each last answered an append of this term.
    private var nextIndex: [String: UInt64] = [:]
    private var matchIndex: [String: UInt64] = [:]
    private var answeredAt: [String: Int64] = [:]

    /// A member (re)started at `now` with what it had made durable.
    public init(
        me: String, members: [String], persistent: Persistent = Persistent(), electionTimeout: Int64 = 1_000,
        heartbeatInterval: Int64 = 200, seed: UInt64, now: Int64
    ) {
        precondition(electionTimeout > 0 && heartbeatInterval > 0, "Raft timeouts must be positive")
        self.me = me
        self.peers = members.filter { $0 != me }.sorted()
        self.persistent = persistent
        self.electionTimeout = electionTimeout
        self.heartbeatInterval = heartbeatInterval
        self.random = seed
        self.deadline = 0
        resetElectionDeadline(now: now)
    }

    private var majority: Int { (peers.count + 1) / 2 + 1 }

    /// What this node may claim to its peers (``heardLeader(term:from:now:)``): the term it leads,
    /// and until when, which is twice the election timeout after the latest time by which a
    /// majority (itself included) had answered its appends. Nil when it does not lead or no
    /// majority answered yet.
    public var claim: (term: UInt64, until: Int64)? {
        guard role == .leader else { return nil }
        let others = majority - 1
        guard others > 0 else { return (persistent.term, .max) }
        let answered = peers.compactMap { answeredAt[$0] }.sorted(by: >)
        guard answered.count >= others else { return nil }
        return (persistent.term, answered[others - 1] + 2 * electionTimeout)
    }

    /// The term this node may claim to lead at `now` (``claim``).
    public func leading(now: Int64) -> UInt64? {
        claim.flatMap { now < $0.until ? $0.term : nil }
    }

    // MARK: Inputs

    /// Time passed: a follower or candidate whose deadline passed starts an election; a leader
    /// whose heartbeat is due sends its log.
    public mutating func tick(now: Int64) -> [Action] {
        guard now >= deadline else { return [] }
        switch role {
        case .leader:
            deadline = now + heartbeatInterval
            return peers.map { appendMessage(to: $0) }
        case .follower, .candidate:
            return startPreVote(now: now)
        }
    }

    /// `command` for the log; returns its index and what to send, or `nil` when this node is not
    /// the leader (the shell redirects to ``leader``).
    public mutating func propose(_ command: Command) -> (index: UInt64, actions: [Action])? {
        guard role == .leader else { return nil }
        persistent.log.append(Entry(term: persistent.term, command: command))
        var actions = peers.map { appendMessage(to: $0) }
        actions += advanceCommit()
        return (persistent.lastIndex, actions)
    }

    /// `message` arrived from `peer` at `now`.
    public mutating func receive(_ message: Message, from peer: String, now: Int64) -> [Action] {
        guard peers.contains(peer) else { return [] }
        let term = message.term
        // Pre-votes carry a term that is not (yet) anybody's: they move no term forward.
        if term > persistent.term, !message.isPreVote { stepDown(to: term, now: now) }
        switch message {
        case .preVote(let term, let lastIndex, let lastTerm):
            let upToDate = lastTerm > persistent.lastTerm || (lastTerm == persistent.lastTerm && lastIndex >= persistent.lastIndex)
            let granted = term > persistent.term && upToDate && !hearsLeader(now: now)
            return [.send(.preVoteReply(term: granted ? term : persistent.term, granted: granted), to: peer)]
        case .preVoteReply(let term, let granted):
            if !granted, term > persistent.term {
                stepDown(to: term, now: now)
                return []
            }
            guard granted, term == persistent.term + 1, preVotes != nil else { return [] }
            preVotes!.insert(peer)
            return preVotes!.count >= majority ? startElection(now: now) : []
        case .requestVote(let term, let lastIndex, let lastTerm):
            let upToDate = lastTerm > persistent.lastTerm || (lastTerm == persistent.lastTerm && lastIndex >= persistent.lastIndex)
            let granted = term == persistent.term && upToDate && (persistent.votedFor == nil || persistent.votedFor == peer)
            if granted {
                persistent.votedFor = peer
                resetElectionDeadline(now: now)
            }
            return [.send(.vote(term: persistent.term, granted: granted), to: peer)]
        case .vote(let term, let granted):
            guard role == .candidate, term == persistent.term, granted else { return [] }
            votes.insert(peer)
            return votes.count >= majority ? becomeLeader(now: now) : []
        case .append(let term, let prevIndex, let prevTerm, let entries, let commit):
            guard term == persistent.term else {
                return [.send(.appendReply(term: persistent.term, success: false, matchIndex: 0), to: peer)]
            }
            follow(peer, now: now)
            guard persistent.term(at: prevIndex) == prevTerm else {
                return [.send(.appendReply(term: term, success: false, matchIndex: 0), to: peer)]
            }
            // Append, dropping a conflicting suffix only (never entries the leader may not have sent yet).
            var index = prevIndex
            for entry in entries {
                index += 1
                if let existing = persistent.term(at: index) {
                    if existing == entry.term { continue }
                    persistent.log.removeSubrange(Int(index - 1)...)
                }
                persistent.log.append(entry)
            }
            var actions: [Action] = [.send(.appendReply(term: term, success: true, matchIndex: index), to: peer)]
            let newCommit = min(commit, index)
            if newCommit > commitIndex {
                commitIndex = newCommit
                actions.append(.committed(upTo: commitIndex))
            }
            return actions
        case .appendReply(let term, let success, let match):
            guard role == .leader, term == persistent.term else { return [] }
            answeredAt[peer] = now
            if success {
                matchIndex[peer] = max(matchIndex[peer] ?? 0, match)
                nextIndex[peer] = max(nextIndex[peer] ?? 1, match + 1)
                // A new commit index goes to the followers at once, not with the next heartbeat:
                // a ring change takes effect on every node a heartbeat interval sooner.
                let committed = advanceCommit()
                return committed.isEmpty ? [] : committed + peers.map { appendMessage(to: $0) }
            }
            // Back off one entry and try again.
            nextIndex[peer] = max(1, (nextIndex[peer] ?? 1) - 1)
            return [appendMessage(to: peer)]
        }
    }

    /// `peer` claimed, outside the log's messages, that it leads `term` (its ``claim``, read when
    /// it sent it). Only the leader of a term claims it, so the claim tells what an empty append of
    /// `term` would about leadership, and is taken the same way: a newer term is followed (with no
    /// vote cast in it, as for any newer term); in this node's term a candidate steps back; and
    /// the election timeout restarts. A claim of an older term is stale and changes nothing, and a
    /// leader ignores one of its own term. Claims are never answered.
    public mutating func heardLeader(term: UInt64, from peer: String, now: Int64) {
        guard peers.contains(peer), term >= persistent.term else { return }
        if term > persistent.term {
            stepDown(to: term, now: now)
        } else if role == .leader {
            return  // one leader per term: a claim of this leader's own term cannot be current
        }
        follow(peer, now: now)
    }

    // MARK: Steps

    /// Whether this node has heard from a leader of its term within the (shortest) election
    /// timeout: it then grants no pre-vote, as that leader is most likely alive.
    private func hearsLeader(now: Int64) -> Bool {
        if role == .leader { return true }
        guard let leaderContact, leader != nil else { return false }
        return now - leaderContact < electionTimeout
    }

    /// Asks the others whether they would vote for this node in the next term (nothing changes
    /// until a majority would); a new round at each deadline until then.
    private mutating func startPreVote(now: Int64) -> [Action] {
        preVotes = [me]
        resetElectionDeadline(now: now)
        if preVotes!.count >= majority { return startElection(now: now) }
        let request = Message.preVote(term: persistent.term + 1, lastIndex: persistent.lastIndex, lastTerm: persistent.lastTerm)
        return peers.map { .send(request, to: $0) }
    }

    private mutating func startElection(now: Int64) -> [Action] {
        preVotes = nil
        persistent.term += 1
        persistent.votedFor = me
        role = .candidate
        leader = nil
        votes = [me]
        resetElectionDeadline(now: now)
        if votes.count >= majority { return becomeLeader(now: now) }
        let request = Message.requestVote(term: persistent.term, lastIndex: persistent.lastIndex, lastTerm: persistent.lastTerm)
        return peers.map { .send(request, to: $0) }
    }

    /// Leads the current term. It appends a no-op of its term at once (§8): entries of older
    /// terms commit only with one of the current term, so without it they could stay uncommitted
    /// (and unapplied on some nodes) until the next proposal.
    private mutating func becomeLeader(now: Int64) -> [Action] {
        role = .leader
        leader = me
        leaderContact = now
        nextIndex = Dictionary(uniqueKeysWithValues: peers.map { ($0, persistent.lastIndex + 1) })
        matchIndex = [:]
        answeredAt = [:]
        deadline = now + heartbeatInterval
        persistent.log.append(Entry(term: persistent.term, command: nil))
        return [.becameLeader(term: persistent.term)] + peers.map { appendMessage(to: $0) } + advanceCommit()
    }

    /// `peer` leads this node's term: a candidate of it steps back, and the election timeout restarts.
    private mutating func follow(_ peer: String, now: Int64) {
        role = .follower
        leader = peer
        leaderContact = now
        preVotes = nil
        resetElectionDeadline(now: now)
    }

    /// A newer term exists: follow (a leader or candidate also waits a whole timeout again).
    private mutating func stepDown(to term: UInt64, now: Int64) {
        persistent.term = term
        persistent.votedFor = nil
        if role != .follower { resetElectionDeadline(now: now) }
        role = .follower
        leader = nil
        preVotes = nil
    }

    private func appendMessage(to peer: String) -> Action {
        let next = min(nextIndex[peer] ?? persistent.lastIndex + 1, persistent.lastIndex + 1)
        let prevIndex = next - 1
        let entries = Array(persistent.log[Int(prevIndex)...])
        return .send(
            .append(term: persistent.term, prevIndex: prevIndex, prevTerm: persistent.term(at: prevIndex) ?? 0, entries: entries, commit: commitIndex),
            to: peer)
    }

    /// Commits the highest index a majority stores, if it is of this leader's term (§5.4.2).
    private mutating func advanceCommit() -> [Action] {
        let stored = ([persistent.lastIndex] + peers.map { matchIndex[$0] ?? 0 }).sorted(by: >)
        let candidate = stored[majority - 1]
        guard candidate > commitIndex, persistent.term(at: candidate) == persistent.term else { return [] }
        commitIndex = candidate
        return [.committed(upTo: commitIndex)]
    }

    private mutating func resetElectionDeadline(now: Int64) {
        random &+= 0x9E37_79B9_7F4A_7C15
        var z = random
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        deadline = now + electionTimeout + Int64(z % UInt64(electionTimeout))
    }
}

extension RaftNode.Message {
    var term: UInt64 {
        switch self {
        case .preVote(let term, _, _), .preVoteReply(let term, _), .requestVote(let term, _, _), .vote(let term, _), .append(let term, _, _, _, _),
            .appendReply(let term, _, _):
            term
        }
    }

    var isPreVote: Bool {
        switch self {
        case .preVote, .preVoteReply: true
        default: false
        }
    }
}

extension RaftNode.Entry: Codable where Command: Codable {}
extension RaftNode.Persistent: Codable where Command: Codable {}
extension RaftNode.Message: Codable where Command: Codable {}
