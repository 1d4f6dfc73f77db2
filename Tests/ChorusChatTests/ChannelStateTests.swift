@testable import ChorusChat
import ChorusModel
import Foundation
import Testing

let alice = UserID("alice")!
let bob = UserID("bob")!
let carol = UserID("carol")!
let t0 = Timestamp.seconds(1_800_000_000)

func makeChannel(_ kind: ChannelKind = .group, members: [(UserID, MemberRole)] = [(alice, .owner), (bob, .member)]) -> ChannelState {
    let info = ChannelInfo(id: ChannelID(rawValue: 7), kind: kind, name: kind == .dm ? "" : "Team", ownerID: kind == .dm ? nil : alice, createdAt: t0)
    return ChannelState(info: info, members: members.map { Member(userID: $0.0, role: $0.1, joinedAt: t0) })
}

/// The code of the ``ChatError`` `body` throws, or `nil` if it succeeds.
func code<T>(_ body: () throws -> T) -> ChatError.Code? {
    do {
        _ = try body()
        return nil
    } catch let error as ChatError {
        return error.code
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

@Suite("ChannelState")
struct ChannelStateTests {
    let limits = ChatLimits()

    /// Sends `body` as `sender` with id `id` and applies it.
    func send(_ state: inout ChannelState, _ id: UInt64, _ body: String, from sender: UserID = alice) throws {
        state.apply(try state.decideSend(MessageDraft(body: body), id: MessageID(rawValue: id), from: sender, senderName: sender.rawValue, at: t0, limits: limits))
    }

    @Test("every record advances seq; messages take the seq of their record")
    func seqs() throws {
        var state = makeChannel()
        #expect(state.lastSeq == 1)
        try send(&state, 10, "a")
        state.apply(.reactionAdded(MessageID(rawValue: 10), emote: AssetID("1")!, user: bob, at: t0))
        try send(&state, 11, "b")
        #expect(state.recent.map(\.seq) == [2, 4])
        #expect(state.lastSeq == 4)
    }

    @Test("a send's client message id is remembered per sender, for the newest 1,000 such sends, and in stored metadata")
    func clientMessageIDs() throws {
        var state = makeChannel()
        func send(_ n: UInt64, from sender: UserID, clientID: String?) throws {
            state.apply(
                try state.decideSend(
                    MessageDraft(body: "m\(n)"), id: MessageID(rawValue: n), from: sender, senderName: "x", at: t0, limits: limits,
                    clientMessageID: clientID))
        }
        try send(1, from: alice, clientID: "a")
        try send(2, from: bob, clientID: "a")
        try send(3, from: alice, clientID: nil)
        #expect(state.message(sentBy: alice, clientID: "a") == MessageID(rawValue: 1))
        #expect(state.message(sentBy: bob, clientID: "a") == MessageID(rawValue: 2))
        #expect(state.message(sentBy: carol, clientID: "a") == nil)
        #expect(code { try state.decideSend(MessageDraft(body: "x"), id: MessageID(rawValue: 9), from: alice, senderName: "x", at: t0, limits: limits, clientMessageID: "has space") } == .invalidRequest)
        #expect(code { try state.decideSend(MessageDraft(body: "x"), id: MessageID(rawValue: 9), from: alice, senderName: "x", at: t0, limits: limits, clientMessageID: "") } == .invalidRequest)
        #expect(code { try state.decideSend(MessageDraft(body: "x"), id: MessageID(rawValue: 9), from: alice, senderName: "x", at: t0, limits: limits, clientMessageID: String(repeating: "k", count: 65)) } == .invalidRequest)

        // The stored metadata keeps them (a checkpointed channel still recognises a retry).
        let decoded = try JSONDecoder().decode(ChannelState.self, from: try JSONEncoder().encode(state.metadata))
        #expect(decoded.message(sentBy: bob, clientID: "a") == MessageID(rawValue: 2))

        for n in UInt64(10)..<UInt64(10 + RecentSends.capacity) { try send(n, from: alice, clientID: "k\(n)") }
        #expect(state.message(sentBy: alice, clientID: "a") == nil, "the oldest ids are forgotten past capacity")
        #expect(state.message(sentBy: bob, clientID: "a") == nil)
        #expect(state.message(sentBy: alice, clientID: "k10") == MessageID(rawValue: 10))
    }

    @Test("a snapshot stored before client message ids existed still decodes")
    func oldSnapshotDecodes() throws {
        var json = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(makeChannel().metadata)) as! [String: Any]
        json["clientSends"] = nil
        let state = try JSONDecoder().decode(ChannelState.self, from: try JSONSerialization.data(withJSONObject: json))
        #expect(state.message(sentBy: alice, clientID: "a") == nil)
        #expect(state.memberOrder == [alice, bob])
    }

    @Test("replaying the same records reproduces the same state")
    func deterministicReplay() throws {
        var live = makeChannel()
        var records: [ChannelRecord] = []
        func commit(_ record: ChannelRecord) {
            records.append(record)
            live.apply(record)
        }
        commit(try live.decideSend(MessageDraft(body: "one"), id: MessageID(rawValue: 1), from: alice, senderName: "A", at: t0, limits: limits))
        commit(try live.decideAddMember(Member(userID: carol, role: .admin, joinedAt: t0), by: alice))
        commit(try live.decideAddReaction(MessageID(rawValue: 1), emote: AssetID("e")!, by: carol, at: t0))
        commit(try live.decideEdit(MessageID(rawValue: 1), body: "uno", inlineEmotes: [], by: alice, at: t0, limits: limits))
        commit(try live.decideMarkRead(MessageID(rawValue: 1), by: bob, at: t0))
        commit(try #require(try live.decideHidden(true, by: bob, at: t0)))
        commit(try live.decideRemoveMember(carol, by: alice, at: t0))
        var replayed = makeChannel()
        for record in records { replayed.apply(record) }
        #expect(replayed == live)
        #expect(replayed.message(MessageID(rawValue: 1))?.body == "uno")
    }

    @Test("pages are ascending with has_more in the paging direction")
    func paging() throws {
        var state = makeChannel()
        for i in 1...5 { try send(&state, UInt64(i * 10), "m\(i)") }
        func bodies(_ request: MessagePageRequest) -> ([String], Bool) {
            let page = state.memoryPage(request)!
            return (page.messages.map(\.body), page.hasMore)
        }
        #expect(bodies(.latest(limit: 2)) == (["m4", "m5"], true))
        #expect(bodies(.latest(limit: 5)) == (["m1", "m2", "m3", "m4", "m5"], false))
        #expect(bodies(.before(MessageID(rawValue: 30), limit: 5)) == (["m1", "m2"], false))
        #expect(bodies(.before(MessageID(rawValue: 35), limit: 1)) == (["m3"], true))  // ids between messages work too
        #expect(bodies(.after(MessageID(rawValue: 20), limit: 2)) == (["m3", "m4"], true))
        #expect(bodies(.after(MessageID(rawValue: 0), limit: 10)) == (["m1", "m2", "m3", "m4", "m5"], false))
        #expect(bodies(.after(MessageID(rawValue: 50), limit: 10)) == ([], false))
    }

    @Test("unread counts skip own and deleted messages and start after the cursor")
    func unread() throws {
        var state = makeChannel()
        try send(&state, 1, "a", from: alice)
        try send(&state, 2, "b", from: bob)
        try send(&state, 3, "c", from: alice)
        #expect(state.memoryUnreadCount(for: bob) == 2)
        #expect(state.memoryUnreadCount(for: alice) == 1)
        state.apply(try state.decideMarkRead(MessageID(rawValue: 1), by: bob, at: t0))
        #expect(state.memoryUnreadCount(for: bob) == 1)
        state.apply(try #require(try state.decideDelete(MessageID(rawValue: 3), by: alice, at: t0)))
        #expect(state.memoryUnreadCount(for: bob) == 0)
    }

    @Test("a new message unhides the channel for everyone who hid it")
    func hiddenReappears() throws {
        var state = makeChannel()
        state.apply(try #require(try state.decideHidden(true, by: bob, at: t0)))
        #expect(state.members[bob]?.hidden == true)
        #expect(try state.decideHidden(true, by: bob, at: t0) == nil)  // already hidden: nothing to log
        try send(&state, 1, "wake up")
        #expect(state.members[bob]?.hidden == false)
    }
}

@Suite("Channel memory window")
struct ChannelWindowTests {
    @Test("a flush trims recent to the window, keeps changed old messages, and sends later reads to the store")
    func flushAndTrim() throws {
        var state = makeChannel()
        for i in 1...10 {
            state.apply(try state.decideSend(MessageDraft(body: "m\(i)"), id: MessageID(rawValue: UInt64(i)), from: alice, senderName: "A", at: t0, limits: ChatLimits()))
        }
        #expect(state.dirtyMessages.count == 10)
        let flushedSeq = state.lastSeq
        state.apply(try state.decideEdit(MessageID(rawValue: 2), body: "edited after the flush began", inlineEmotes: [], by: alice, at: t0, limits: ChatLimits()))
        state.completeFlush(upTo: flushedSeq, keeping: 3)
        #expect(state.recent.map(\.body) == ["m8", "m9", "m10"])
        #expect(state.hasOlderInStore)
        #expect(state.overlay.keys.map(\.rawValue) == [2])  // changed after the flush started: still dirty
        #expect(state.dirty.keys.map(\.rawValue) == [2])
        #expect(state.memoryPage(.latest(limit: 3))?.hasMore == true)
        #expect(state.memoryPage(.latest(limit: 4)) == nil)
        #expect(state.memoryPage(.before(MessageID(rawValue: 9), limit: 1))?.messages.map(\.body) == ["m8"])
        #expect(state.memoryPage(.before(MessageID(rawValue: 9), limit: 2)) == nil)
        #expect(state.memoryPage(.after(MessageID(rawValue: 8), limit: 5))?.messages.map(\.body) == ["m9", "m10"])
        #expect(state.memoryPage(.after(MessageID(rawValue: 5), limit: 5)) == nil)
        #expect(state.memoryUnreadCount(for: bob) == nil)  // no cursor: unread messages may be in the store
        #expect(state.mayBeInStore(MessageID(rawValue: 5)))
        #expect(!state.mayBeInStore(MessageID(rawValue: 2)))
        #expect(state.metadata.recent.isEmpty && state.metadata.lastSeq == state.lastSeq)
    }
}

@Suite("Channel rules")
struct ChannelRulesTests {
    let limits = ChatLimits()

    @Test("update: membership before DM before role", arguments: [
        (ChannelKind.group, "alice", ChatError.Code?.none), (.group, "bob", .notAdmin), (.group, "carol", .notMember),
        (.dm, "alice", .cannotModifyDM), (.dm, "carol", .notMember),
    ])
    func update(kind: ChannelKind, actor: String, expected: ChatError.Code?) {
        let state = makeChannel(kind, members: kind == .dm ? [(alice, .member), (bob, .member)] : [(alice, .owner), (bob, .member)])
        let actorID = UserID(actor)!
        #expect(code { try state.decideUpdate(name: "New", by: actorID, at: t0, limits: limits) } == expected)
    }

    @Test("add member: who may add whom with which role")
    func addMatrix() {
        let dave = UserID("dave")!
        let group = makeChannel(.group, members: [(alice, .owner), (bob, .admin), (carol, .member)])
        let room = makeChannel(.room, members: [(alice, .owner), (bob, .admin), (carol, .member)])
        #expect(code { try group.decideAddMember(Member(userID: dave, role: .member, joinedAt: t0), by: alice) } == nil)
        #expect(code { try group.decideAddMember(Member(userID: dave, role: .admin, joinedAt: t0), by: bob) } == nil)
        #expect(code { try group.decideAddMember(Member(userID: dave, role: .member, joinedAt: t0), by: carol) } == .notAdmin)
        #expect(code { try group.decideAddMember(Member(userID: dave, role: .member, joinedAt: t0), by: dave) } == .notMember)
        #expect(code { try group.decideAddMember(Member(userID: dave, role: .owner, joinedAt: t0), by: alice) } == .invalidRequest)
        #expect(code { try group.decideAddMember(Member(userID: carol, role: .member, joinedAt: t0), by: alice) } == .alreadyMember)
        #expect(code { try room.decideAddMember(Member(userID: dave, role: .member, joinedAt: t0), by: dave) } == nil)
        #expect(code { try room.decideAddMember(Member(userID: dave, role: .admin, joinedAt: t0), by: dave) } == .notAdmin)
        #expect(code { try room.decideAddMember(Member(userID: carol, role: .member, joinedAt: t0), by: carol) } == .alreadyMember)
        #expect(code { try room.decideAddMember(Member(userID: dave, role: .member, joinedAt: t0), by: carol) } == .notAdmin)
        let dm = makeChannel(.dm, members: [(alice, .member), (bob, .member)])
        #expect(code { try dm.decideAddMember(Member(userID: dave, role: .member, joinedAt: t0), by: alice) } == .cannotModifyDM)
        #expect(code { try dm.decideAddMember(Member(userID: dave, role: .member, joinedAt: t0), by: dave) } == .notMember)
    }

    @Test("remove member: leave, admin removes, owner protected")
    func removeMatrix() {
        let dave = UserID("dave")!
        let group = makeChannel(.group, members: [(alice, .owner), (bob, .admin), (carol, .member), (dave, .member)])
        #expect(code { try group.decideRemoveMember(carol, by: carol, at: t0) } == nil)
        #expect(code { try group.decideRemoveMember(carol, by: bob, at: t0) } == nil)
        #expect(code { try group.decideRemoveMember(bob, by: alice, at: t0) } == nil)
        #expect(code { try group.decideRemoveMember(dave, by: carol, at: t0) } == .notAdmin)
        #expect(code { try group.decideRemoveMember(alice, by: alice, at: t0) } == .cannotRemoveOwner)
        #expect(code { try group.decideRemoveMember(alice, by: bob, at: t0) } == .cannotRemoveOwner)
        #expect(code { try group.decideRemoveMember(UserID("erin")!, by: alice, at: t0) } == .userNotFound)
        #expect(code { try group.decideRemoveMember(carol, by: UserID("erin")!, at: t0) } == .notMember)
    }

    @Test("messages: edit by author only, delete by author or manager, reactions once per emote")
    func messageRules() throws {
        var state = makeChannel(.group, members: [(alice, .owner), (bob, .member), (carol, .member)])
        let id = MessageID(rawValue: 100)
        state.apply(try state.decideSend(MessageDraft(body: "hi"), id: id, from: bob, senderName: "bob", at: t0, limits: limits))
        #expect(code { try state.decideEdit(id, body: "x", inlineEmotes: [], by: carol, at: t0, limits: limits) } == .notMessageAuthor)
        #expect(code { try state.decideEdit(id, body: "x", inlineEmotes: [], by: alice, at: t0, limits: limits) } == .notMessageAuthor)
        #expect(code { try state.decideEdit(id, body: "x", inlineEmotes: [], by: bob, at: t0, limits: limits) } == nil)
        #expect(code { try state.decideDelete(id, by: carol, at: t0) } == .notMessageAuthor)
        #expect(code { try state.decideDelete(id, by: alice, at: t0) } == nil)
        state.apply(try state.decideAddReaction(id, emote: AssetID("e")!, by: carol, at: t0))
        #expect(code { try state.decideAddReaction(id, emote: AssetID("e")!, by: carol, at: t0) } == .reactionExists)
        #expect(code { try state.decideRemoveReaction(id, emote: AssetID("e")!, by: bob, at: t0) } == .reactionNotFound)
        state.apply(try #require(try state.decideDelete(id, by: bob, at: t0)))
        #expect(try state.decideDelete(id, by: bob, at: t0) == nil)  // idempotent
        #expect(code { try state.decideAddReaction(id, emote: AssetID("f")!, by: carol, at: t0) } == .messageNotFound)
        #expect(code { try state.decideMarkRead(id, by: carol, at: t0) } == nil)  // deleted messages still exist for cursors
        #expect(code { try state.decideMarkRead(MessageID(rawValue: 5), by: carol, at: t0) } == .messageNotFound)
    }
}

@Suite("TypingTracker")
struct TypingTrackerTests {
    @Test("start, refresh, stop and expiry by explicit time")
    func lifecycle() {
        var typing = TypingTracker()
        let startedAlice = typing.start(alice, now: t0, ttl: .seconds(5))
        let startedBob = typing.start(bob, now: t0.advanced(by: .seconds(1)), ttl: .seconds(5))
        let restarted = typing.start(alice, now: t0.advanced(by: .seconds(2)), ttl: .seconds(5))  // refresh: until t0+7
        #expect(startedAlice && startedBob && !restarted)
        #expect(typing.typing(at: t0.advanced(by: .seconds(4))) == [alice, bob])
        let expired = typing.expire(now: t0.advanced(by: .seconds(6)))
        #expect(expired == [bob])
        #expect(typing.typing(at: t0.advanced(by: .milliseconds(6999))) == [alice])
        #expect(typing.typing(at: t0.advanced(by: .seconds(7))) == [])
        let stopped = typing.stop(alice)
        let stoppedAgain = typing.stop(alice)
        #expect(stopped && !stoppedAgain)
        #expect(typing.nextExpiry == nil)
    }

    @Test("a client refreshing every second is announced at most once per 3 s")
    func announceThrottle() {
        var typing = TypingTracker()
        var announced: [Int] = []
        for second in 0..<10 where typing.start(alice, now: t0.advanced(by: .seconds(second)), ttl: .seconds(5)) {
            announced.append(second)
        }
        #expect(announced == [0, 3, 6, 9])
        #expect(typing.nextExpiry == t0.advanced(by: .seconds(14)))
        // After a stop, the next start is announced at once.
        typing.stop(alice)
        let announcedAfterStop = typing.start(alice, now: t0.advanced(by: .seconds(10)), ttl: .seconds(5))
        #expect(announcedAfterStop)
    }
}

@Suite("UserState")
struct UserStateTests {
    @Test("membership updates apply by channel seq, whatever order they arrive in")
    func membershipOrder() {
        var state = UserState(id: alice)
        let channel = ChannelID(rawValue: 9)
        state.apply(.membershipChanged(channel, isMember: false, seq: 5))
        state.apply(.membershipChanged(channel, isMember: true, seq: 3))  // late, older
        #expect(state.channelIDs == [])
        state.apply(.membershipChanged(channel, isMember: true, seq: 7))
        #expect(state.channelIDs == [channel])
    }

    @Test("profile: created once, renamed by later upserts")
    func profile() {
        var state = UserState(id: alice)
        #expect(!state.exists)
        state.apply(.upserted(displayName: "Alice", at: t0))
        state.apply(.upserted(displayName: "Al", at: t0.advanced(by: .seconds(9))))
        #expect(state.profile == UserProfile(id: alice, displayName: "Al", createdAt: t0))
    }
}

/// Unread counters kept per member (``ChannelState/countedUnread(for:)``) against counting the
/// history: random records over a seed, on a state that keeps everything in memory and on one
/// that a checkpoint trims to 3 messages after every step.
@Suite("ChannelState unread counters")
struct UnreadCounterTests {
    /// SplitMix64: one seed decides every step.
    struct Random {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
    }

    @Test("counters equal the counted history after every record, across sends, deletes, reads, joins, leaves, cleared history and truncation", arguments: 0..<40)
    func matchesTheHistory(seed: UInt64) throws {
        let everyone = ["alice", "bob", "carol", "dave"].map { UserID($0)! }
        var whole = makeChannel()
        var trimmed = makeChannel()
        var random = Random(state: seed)
        var nextID: UInt64 = 100
        var known = 0
        for step in 0..<120 {
            let members = whole.memberOrder
            let record: ChannelRecord
            let live = whole.recent.filter { !$0.deleted && !whole.isErased($0.id) }
            switch random.next(10) {
            case 0...3:
                nextID += 1
                let sender = members[random.next(members.count)]
                record = .messageSent(NewMessage(id: MessageID(rawValue: nextID), senderID: sender, senderName: "x", draft: MessageDraft(body: "m"), at: t0))
            case 4 where !live.isEmpty:
                let target = live[random.next(live.count)]
                record = .messageDeleted(target.id, by: target.senderID, at: t0)
                if trimmed.message(target.id) == nil { trimmed.load(target) }  // as the actor loads it first
            case 5...6 where !whole.recent.isEmpty:
                let reader = members[random.next(members.count)]
                let read = random.next(2) == 0 ? whole.recent.last! : whole.recent[random.next(whole.recent.count)]
                record = .readCursorSet(user: reader, message: read.id, at: t0)
            case 7:
                let joining = everyone[random.next(everyone.count)]
                if whole.members[joining] == nil {
                    record = .memberAdded(Member(userID: joining, role: .member, joinedAt: t0), by: alice)
                } else if joining != alice {
                    record = .memberRemoved(joining, by: alice, at: t0)
                } else {
                    continue
                }
            case 8 where !whole.recent.isEmpty:
                let user = members[random.next(members.count)]
                record = .historyCleared(user: user, through: whole.recent[random.next(whole.recent.count)].id, at: t0)
            case 9 where !whole.recent.isEmpty && random.next(4) == 0:
                record = .truncated(through: whole.recent.last!.id, hard: false, by: alice, at: t0)
            default:
                continue
            }
            whole.apply(record)
            trimmed.apply(record)
            trimmed.completeFlush(upTo: trimmed.lastSeq, keeping: 3)
            for user in whole.memberOrder {
                let truth = try #require(whole.memoryUnreadCount(for: user))
                #expect(whole.countedUnread(for: user) == truth, "seed \(seed) step \(step) \(user): \(record)")
                if let counted = trimmed.countedUnread(for: user) {
                    #expect(counted == truth, "seed \(seed) step \(step) \(user) (trimmed): \(record)")
                    known += 1
                }
            }
        }
        #expect(known > 0, "the trimmed state knows some counters")
    }

    @Test("a counter costs the same with a long history: members are counted without the store, from their join on")
    func noStore() throws {
        var state = makeChannel()
        for n in 1...50 {
            state.apply(.messageSent(NewMessage(id: MessageID(rawValue: UInt64(n)), senderID: n % 3 == 0 ? bob : alice, senderName: "x", draft: MessageDraft(body: "m"), at: t0)))
            state.completeFlush(upTo: state.lastSeq, keeping: 5)
        }
        var storeCalls = 0
        #expect(state.unreadCount(for: bob) { _, _, _ in storeCalls += 1; return 0 } == 34, "alice's 34 of the 50")
        state.apply(.readCursorSet(user: bob, message: MessageID(rawValue: 50), at: t0))
        for n in 51...60 { state.apply(.messageSent(NewMessage(id: MessageID(rawValue: UInt64(n)), senderID: n == 55 ? bob : alice, senderName: "x", draft: MessageDraft(body: "m"), at: t0))) }
        state.completeFlush(upTo: state.lastSeq, keeping: 5)
        #expect(state.unreadCount(for: bob) { _, _, _ in storeCalls += 1; return 0 } == 9, "nine from others since the read")
        #expect(storeCalls == 0)
        // A member who joins a long history has every live message unread (the live counts);
        // one who reads an old message that only the store holds is counted there until the next read.
        state.apply(.messageDeleted(MessageID(rawValue: 58), by: alice, at: t0))
        state.apply(.memberAdded(Member(userID: carol, role: .member, joinedAt: t0), by: alice))
        #expect(state.countedUnread(for: carol) == 59)
        state.apply(.readCursorSet(user: carol, message: MessageID(rawValue: 20), at: t0))
        #expect(state.countedUnread(for: carol) == nil)
        state.apply(.readCursorSet(user: carol, message: MessageID(rawValue: 60), at: t0))
        #expect(state.countedUnread(for: carol) == 0)
    }
}
