@testable import ChorusGateway
import ChorusModel
import NIOCore
import Testing

@Suite("SessionState")
struct SessionStateTests {
    let channel = ChannelID(rawValue: 7)
    let t0 = Timestamp.seconds(1_800_000_000)

    func frame(_ seq: UInt64?, _ text: String? = nil) -> SessionState.Frame {
        SessionState.Frame(seq: seq, bytes: ByteBuffer(string: text ?? seq.map { "e\($0)" } ?? "typing"))
    }

    /// Everything queued, as text.
    func drain(_ state: inout SessionState) -> [String] {
        var out: [String] = []
        while let bytes = state.next() { out.append(String(buffer: bytes)) }
        return out
    }

    @Test("buffered live events and a replay join with no gap and no duplicate; ephemeral events pass")
    func stitching() {
        var state = SessionState(limit: 1 << 20, grace: .seconds(10))
        state.follow(channel, .untilResumeWindowEnds)
        #expect(state.beginReplay(channel, after: 2, by: .client(1)) == .started)
        // Live events arrive while the replay is fetched: 5 and 6 overlap what the replay returns.
        for seq: UInt64 in [5, 6] { _ = state.receive(channel, frame(seq), now: t0) }
        _ = state.receive(channel, frame(nil), now: t0)
        _ = state.receive(channel, frame(7), now: t0)
        #expect(drain(&state) == [])
        _ = state.finishReplay(
            channel, by: .client(1), events: [frame(3), frame(4), frame(5), frame(6)], through: 6, trailer: ByteBuffer(string: "resumed"), now: t0)
        #expect(drain(&state) == ["e3", "e4", "e5", "e6", "resumed", "typing", "e7"])
        // Live now: an old seq is a duplicate and dropped; new ones pass.
        _ = state.receive(channel, frame(7), now: t0)
        _ = state.receive(channel, frame(8), now: t0)
        #expect(drain(&state) == ["e8"])
        // A second resume from further back never re-sends what was delivered.
        let began = state.beginReplay(channel, after: 6, by: .client(1))
        #expect(began == .started)
        _ = state.finishReplay(channel, by: .client(1), events: [frame(7), frame(8), frame(9)], through: 9, trailer: nil, now: t0)
        #expect(drain(&state) == ["e9"])
    }

    @Test("a replay from before the baseline is refused once newer live events went out; from the baseline on it stitches")
    func replayAfterLiveEvents() {
        var state = SessionState(limit: 1 << 20, grace: .seconds(10))
        state.follow(channel, .live)
        state.noteFollowing(channel, from: 10)
        // Nothing went out yet: a replay from anywhere stitches.
        #expect(state.beginReplay(channel, after: 3, by: .client(1)) == .started)
        _ = state.finishReplay(channel, by: .client(1), events: [frame(4), frame(10)], through: 10, trailer: nil, now: t0)
        _ = state.receive(channel, frame(11), now: t0)
        #expect(drain(&state) == ["e4", "e10", "e11"])
        // 11 went out live: events 5-9 can no longer come before it.
        var live = SessionState(limit: 1 << 20, grace: .seconds(10))
        live.follow(channel, .live)
        live.noteFollowing(channel, from: 10)
        _ = live.receive(channel, frame(11), now: t0)
        #expect(drain(&live) == ["e11"])
        #expect(live.beginReplay(channel, after: 4, by: .client(1)) == .sentLiveAlready)
        _ = live.receive(channel, frame(12), now: t0)
        #expect(drain(&live) == ["e12"], "a refused replay leaves the channel live")
        // From the baseline on, nothing is missing: the replay only skips what went out.
        #expect(live.beginReplay(channel, after: 10, by: .client(1)) == .started)
        _ = live.finishReplay(channel, by: .client(1), events: [frame(11), frame(12), frame(13)], through: 13, trailer: nil, now: t0)
        #expect(drain(&live) == ["e13"])
    }

    @Test("the resume window releases buffered events as they are; unfollowed channels get nothing")
    func release() {
        var state = SessionState(limit: 1 << 20, grace: .seconds(10))
        let other = ChannelID(rawValue: 8)
        state.follow(channel, .untilResumeWindowEnds)
        state.follow(other, .untilResumeWindowEnds)
        _ = state.receive(channel, frame(2), now: t0)
        _ = state.receive(other, frame(4), now: t0)
        _ = state.endResumeWindow(except: [other], now: t0)
        #expect(drain(&state) == ["e2"])
        state.unfollow(other)
        #expect(state.bytes == 0)
        _ = state.receive(other, frame(5), now: t0)
        let followsOther = state.beginReplay(other, after: 0, by: .client(1))
        #expect(followsOther == .notFollowed)
        #expect(drain(&state) == [])
    }

    @Test("the resume window ends once, and never releases a channel a replay holds (it would drop what the replay brings)")
    func windowAndReplays() {
        var state = SessionState(limit: 1 << 20, grace: .seconds(10))
        let other = ChannelID(rawValue: 8)
        state.follow(channel, .untilResumeWindowEnds)
        state.follow(other, .untilResumeWindowEnds)
        // The client's first frame resumes `other`; the window's timer fires later: `other` stays held.
        let resuming = state.beginReplay(other, after: 6, by: .client(1))
        #expect(resuming == .started)
        _ = state.endResumeWindow(except: [other], now: t0)
        _ = state.receive(other, frame(9), now: t0)
        _ = state.endResumeWindow(now: t0)
        #expect(drain(&state) == [])
        _ = state.finishReplay(other, by: .client(1), events: [frame(7), frame(8)], through: 8, trailer: nil, now: t0)
        #expect(drain(&state) == ["e7", "e8", "e9"])
        // The edge subscribes again and replays `channel` (live since the window ended): it stays
        // held until that replay finishes, and the replay's events all arrive.
        _ = state.receive(channel, frame(18), now: t0)
        #expect(drain(&state) == ["e18"])
        let held = state.beginReplay(channel, after: 18, by: .edge(1))
        #expect(held == .started)
        _ = state.receive(channel, frame(34), now: t0)
        #expect(drain(&state) == [])
        _ = state.finishReplay(channel, by: .edge(1), events: (19...33).map { frame($0) }, through: 33, trailer: nil, now: t0)
        #expect(drain(&state) == (19...34).map { "e\($0)" })
    }

    @Test("a channel followed after the resume window ended starts live; a join's channel waits for the join's replay")
    func lateFollows() {
        var state = SessionState(limit: 1 << 20, grace: .seconds(10))
        _ = state.endResumeWindow(now: t0)
        state.follow(channel, .untilResumeWindowEnds)
        _ = state.receive(channel, frame(3), now: t0)
        #expect(drain(&state) == ["e3"])
        // A join: held whatever the window does, until its replay from the member_add (seq 10).
        let joined = ChannelID(rawValue: 9)
        var fresh = SessionState(limit: 1 << 20, grace: .seconds(10))
        fresh.follow(joined, .untilReplay)
        _ = fresh.receive(joined, frame(12), now: t0)
        _ = fresh.endResumeWindow(now: t0)
        #expect(drain(&fresh) == [])
        #expect(fresh.beginReplay(joined, after: 9, by: .client(1)) == .started)
        _ = fresh.finishReplay(joined, by: .client(1), events: [frame(10), frame(11), frame(12)], through: 12, trailer: nil, now: t0)
        #expect(drain(&fresh) == ["e10", "e11", "e12"])
    }

    @Test("the resume point: unknown while the follow is in flight and nothing came; 0 for an empty channel; else the later of baseline and delivered")
    func resumePoints() {
        var state = SessionState(limit: 1 << 20, grace: .seconds(10))
        state.follow(channel, .live)
        #expect(state.resumePoint(channel) == nil)
        state.noteFollowing(channel, from: 0)
        #expect(state.resumePoint(channel) == 0)
        _ = state.receive(channel, frame(1), now: t0)
        #expect(state.resumePoint(channel) == 1)

        var late = SessionState(limit: 1 << 20, grace: .seconds(10))
        late.follow(channel, .live)
        _ = late.receive(channel, frame(8), now: t0)  // through the edge's subscription, before the follow returned
        #expect(late.resumePoint(channel) == 8)
        late.noteFollowing(channel, from: 5)
        #expect(late.resumePoint(channel) == 8)
        late.unfollow(channel)
        #expect(late.resumePoint(channel) == nil)
    }

    @Test("a client's resume and an edge's re-subscription replay overlap: in every order of finishing, exactly what the client missed")
    func overlappingReplays() throws {
        // The new socket followed from seq 5 (its baseline). The ring changed while it set up: the
        // edge replays after its resume point (5). The client resumes from `resumedFrom`: from 18
        // (it has more than the baseline) or from 3 (older: it missed events before the new socket
        // followed, which only its own replay brings).
        for resumedFrom: UInt64 in [18, 3] {
            for resumeFirst in [true, false] {
                for edgeBeganFirst in [true, false] {
                    var state = SessionState(limit: 1 << 20, grace: .seconds(10))
                    state.follow(channel, .untilResumeWindowEnds)
                    state.noteFollowing(channel, from: 5)
                    let point = try #require(state.resumePoint(channel))
                    #expect(point == 5)
                    _ = state.endResumeWindow(except: [channel], now: t0)  // the client's resume frame came first
                    var began: [SessionState.ReplayStart] = []
                    if edgeBeganFirst { began.append(state.beginReplay(channel, after: point, by: .edge(1))) }
                    began.append(state.beginReplay(channel, after: resumedFrom, by: .client(1)))
                    if !edgeBeganFirst { began.append(state.beginReplay(channel, after: point, by: .edge(1))) }
                    #expect(began == [.started, .started])
                    _ = state.receive(channel, frame(21), now: t0)
                    let edgeReplay = (6...20).map { frame($0) }
                    let clientReplay = ((resumedFrom + 1)...20).map { frame($0) }
                    let trailer = ByteBuffer(string: "resumed")
                    if resumeFirst {
                        _ = state.finishReplay(channel, by: .client(1), events: clientReplay, through: 20, trailer: trailer, now: t0)
                        #expect(drain(&state) == [], "held while the edge's replay is on its way")
                        _ = state.finishReplay(channel, by: .edge(1), events: edgeReplay, through: 20, trailer: nil, now: t0)
                    } else {
                        _ = state.finishReplay(channel, by: .edge(1), events: edgeReplay, through: 20, trailer: nil, now: t0)
                        #expect(drain(&state) == [], "held while the client's replay is on its way")
                        _ = state.finishReplay(channel, by: .client(1), events: clientReplay, through: 20, trailer: trailer, now: t0)
                    }
                    let expected = ((resumedFrom + 1)...20).map { "e\($0)" } + ["resumed", "e21"]
                    #expect(drain(&state) == expected, "resumed from \(resumedFrom), resume first: \(resumeFirst), edge began first: \(edgeBeganFirst)")
                    _ = state.receive(channel, frame(21), now: t0)
                    _ = state.receive(channel, frame(22), now: t0)
                    #expect(drain(&state) == ["e22"])
                }
            }
        }
    }

    @Test("an edge replay waits for the client's resume while the resume window is open: the edge's start does not decide what the client needs")
    func edgeReplayDuringResumeWindow() {
        /// A socket that followed from 5, during its resume window: the edge replayed 6-8, and 9 came live.
        func heldByEdgeReplay() -> SessionState {
            var state = SessionState(limit: 1 << 20, grace: .seconds(10))
            state.follow(channel, .untilResumeWindowEnds)
            state.noteFollowing(channel, from: 5)
            _ = state.beginReplay(channel, after: state.resumePoint(channel) ?? 0, by: .edge(1))
            _ = state.receive(channel, frame(9), now: t0)
            _ = state.finishReplay(channel, by: .edge(1), events: (6...8).map { frame($0) }, through: 8, trailer: nil, now: t0)
            return state
        }
        var state = heldByEdgeReplay()
        #expect(drain(&state) == [], "the client may still resume from before 5")
        _ = state.endResumeWindow(except: [channel], now: t0)
        _ = state.beginReplay(channel, after: 2, by: .client(1))
        _ = state.finishReplay(channel, by: .client(1), events: (3...9).map { frame($0) }, through: 9, trailer: ByteBuffer(string: "resumed"), now: t0)
        #expect(drain(&state) == (3...9).map { "e\($0)" } + ["resumed"])
        // Without a resume of the channel, the window's end lets everything held go.
        var plain = heldByEdgeReplay()
        _ = plain.endResumeWindow(now: t0)
        #expect(drain(&plain) == (6...9).map { "e\($0)" })
    }

    @Test("a newer edge replay supersedes an older one; a client replay with a hole after it waits for the edge's")
    func supersededEdgeReplays() {
        var state = SessionState(limit: 1 << 20, grace: .seconds(10))
        state.follow(channel, .live)
        state.noteFollowing(channel, from: 1)
        _ = state.receive(channel, frame(2), now: t0)
        #expect(drain(&state) == ["e2"])
        // The owner restarted, then the ring changed: two re-subscriptions, each replaying after 2.
        _ = state.beginReplay(channel, after: state.resumePoint(channel) ?? 0, by: .edge(1))
        _ = state.beginReplay(channel, after: state.resumePoint(channel) ?? 0, by: .edge(2))
        _ = state.receive(channel, frame(7), now: t0)  // through the newest subscription
        // The older replay finishes: the newer one is still on its way, so the channel stays held.
        _ = state.finishReplay(channel, by: .edge(1), events: [frame(3), frame(4)], through: 4, trailer: nil, now: t0)
        #expect(drain(&state) == [])
        // A second resume on this socket finishes too: still held for the edge's newest replay.
        _ = state.beginReplay(channel, after: 2, by: .client(1))
        _ = state.finishReplay(channel, by: .client(1), events: [frame(3), frame(4), frame(5)], through: 5, trailer: nil, now: t0)
        #expect(drain(&state) == [])
        _ = state.finishReplay(channel, by: .edge(2), events: (3...6).map { frame($0) }, through: 6, trailer: nil, now: t0)
        #expect(drain(&state) == (3...7).map { "e\($0)" })
        #expect(state.bytes == 0)
        // A replay the channel no longer waits for changes nothing.
        _ = state.finishReplay(channel, by: .edge(1), events: [frame(3), frame(8)], through: 8, trailer: ByteBuffer(string: "failed"), now: t0)
        #expect(drain(&state) == [])
        _ = state.receive(channel, frame(8), now: t0)
        #expect(drain(&state) == ["e8"])
    }

    @Test("a replay from before the channel was followed again is ignored: it cannot let the new hold go early")
    func staleClientReplay() {
        var state = SessionState(limit: 1 << 20, grace: .seconds(10))
        // A join (member_add at 10) whose replay is slow; the user leaves, and joins again at 20.
        state.follow(channel, .untilReplay)
        let first = state.nextClientReplay()
        #expect(state.beginReplay(channel, after: 9, by: first) == .started)
        state.unfollow(channel)
        state.follow(channel, .untilReplay)
        let second = state.nextClientReplay()
        #expect(first != second)
        #expect(state.beginReplay(channel, after: 19, by: second) == .started)
        _ = state.receive(channel, frame(21), now: t0)
        _ = state.finishReplay(channel, by: first, events: (10...12).map { frame($0) }, through: 12, trailer: nil, now: t0)
        #expect(drain(&state) == [], "the first join's replay does not release the second join's hold")
        _ = state.finishReplay(channel, by: second, events: (20...21).map { frame($0) }, through: 21, trailer: nil, now: t0)
        #expect(drain(&state) == ["e20", "e21"])
    }

    @Test("ephemeral events held before any live event go out before the next live event, after the replayed history")
    func heldEphemeralEvents() {
        var state = SessionState(limit: 1 << 20, grace: .seconds(10))
        state.follow(channel, .untilResumeWindowEnds)
        _ = state.receive(channel, frame(nil, "typing1"), now: t0)
        _ = state.receive(channel, frame(6), now: t0)
        _ = state.receive(channel, frame(nil, "typing2"), now: t0)
        _ = state.endResumeWindow(except: [channel], now: t0)
        _ = state.beginReplay(channel, after: 2, by: .client(1))
        _ = state.finishReplay(channel, by: .client(1), events: (3...5).map { frame($0) }, through: 5, trailer: ByteBuffer(string: "resumed"), now: t0)
        #expect(drain(&state) == ["e3", "e4", "e5", "resumed", "typing1", "e6", "typing2"])
        // With no live event after it, a held ephemeral event goes out last.
        var quiet = SessionState(limit: 1 << 20, grace: .seconds(10))
        quiet.follow(channel, .untilResumeWindowEnds)
        _ = quiet.receive(channel, frame(nil, "typing"), now: t0)
        _ = quiet.endResumeWindow(except: [channel], now: t0)
        _ = quiet.beginReplay(channel, after: 2, by: .client(1))
        _ = quiet.finishReplay(channel, by: .client(1), events: [frame(3)], through: 3, trailer: nil, now: t0)
        #expect(drain(&quiet) == ["e3", "typing"])
    }

    @Test("a long hold keeps every event and lets them go in order, counting their bytes")
    func longHold() {
        var state = SessionState(limit: 1 << 30, grace: .seconds(10))
        state.follow(channel, .untilResumeWindowEnds)
        let events = (1...20_000).map { frame(UInt64($0)) }
        for event in events { _ = state.receive(channel, event, now: t0) }
        #expect(state.bytes == events.reduce(0) { $0 + $1.bytes.readableBytes })
        #expect(state.next() == nil)
        _ = state.endResumeWindow(now: t0)
        #expect(drain(&state) == (1...20_000).map { "e\($0)" })
        #expect(state.bytes == 0)
    }

    @Test("over the limit starts a slow episode; reading ends it; past the grace or at twice the limit it closes")
    func backpressure() {
        var state = SessionState(limit: 100, grace: .seconds(10))
        state.follow(channel, .live)
        let big = String(repeating: "x", count: 60)
        let first = state.receive(channel, frame(1, big), now: t0)
        let second = state.receive(channel, frame(2, big), now: t0)
        #expect(first == .write && second == .armSlowTimer(deadline: t0.advanced(by: .seconds(10))))
        let early = state.checkSlow(now: t0.advanced(by: .seconds(9)))
        #expect(early == .none)
        _ = state.next()  // the writer catches up: the episode ends
        let recovered = state.checkSlow(now: t0.advanced(by: .seconds(20)))
        #expect(state.slowSince == nil && recovered == .none)
        // A new episode, never caught up: closed when its grace runs out.
        let again = state.receive(channel, frame(3, big), now: t0.advanced(by: .seconds(30)))
        #expect(again == .armSlowTimer(deadline: t0.advanced(by: .seconds(40))))
        let late = state.checkSlow(now: t0.advanced(by: .seconds(40)))
        #expect(late == .closeSlow)
        // Twice the limit closes at once, before any grace.
        var burst = SessionState(limit: 100, grace: .seconds(10))
        burst.follow(channel, .live)
        var actions: [SessionState.Action] = []
        for seq: UInt64 in 1...4 { actions.append(burst.receive(channel, frame(seq, big), now: t0)) }
        #expect(actions == [.write, .armSlowTimer(deadline: t0.advanced(by: .seconds(10))), .write, .closeSlow])  // 180 B, then 240 B > 2 × 100
        // Closing keeps what was queued (for a draining close) and queues nothing more.
        let remaining = burst.close()
        let afterClose = burst.send(ByteBuffer(string: "late"), now: t0)
        #expect(remaining.count == 4 && afterClose == .none && burst.next() == nil)
    }

    @Test("a draining close returns what is queued, not what channels hold (the client resumes elsewhere from what it has)")
    func drainingClose() {
        var state = SessionState(limit: 1 << 20, grace: .seconds(10))
        let other = ChannelID(rawValue: 8)
        state.follow(channel, .live)
        state.follow(other, .untilResumeWindowEnds)
        _ = state.receive(channel, frame(3), now: t0)
        _ = state.receive(other, frame(4), now: t0)
        #expect(state.close().map { String(buffer: $0) } == ["e3"])
        #expect(state.bytes == 0)
    }
}
