import ChorusWire
import Testing

@testable import ChorusActorSystem

/// The connection's protocol logic without a socket: callers and openers are plain numbers.
@Suite("Connection state")
struct ConnectionStateTests {
    typealias State = ConnectionState<Int, String>
    let t0 = Duration.seconds(1_000)
    static let secret = Array("s3cret".utf8)

    func handshake(_ node: String, secret: [UInt8] = secret) -> Handshake {
        Handshake(cluster: "test", node: node, secret: secret, nonce: Handshake.randomNonce())
    }

    /// Runs the handshake between two states until neither has anything to send.
    func connect(_ a: inout State, _ b: inout State) -> [State.Received] {
        var toB = [a.start()!]
        var toA = [b.start()!]
        var outcomes: [State.Received] = []
        while !toA.isEmpty || !toB.isEmpty {
            for envelope in toB {
                let received = b.receive(envelope)
                outcomes.append(received)
                toA += Self.sent(received)
            }
            toB = []
            for envelope in toA {
                let received = a.receive(envelope)
                outcomes.append(received)
                toB += Self.sent(received)
            }
            toA = []
        }
        return outcomes
    }

    static func sent(_ received: State.Received) -> [Wire.Envelope] {
        switch received {
        case .send(let envelopes), .established(_, let envelopes, _), .refused(_, let envelopes): envelopes
        default: []
        }
    }

    func established() -> State {
        State(establishedWith: "b")
    }

    @Test("the handshake establishes both sides and resumes who waited; hello goes out once")
    func handshakeEstablishes() {
        var a = State(handshake: handshake("a"))
        var b = State(handshake: handshake("b"))
        let waiting = a.waitEstablished("opener-1")
        #expect(waiting == nil)
        let outcomes = connect(&a, &b)
        let secondHello = a.start()
        #expect(secondHello == nil)
        let established = outcomes.compactMap { outcome -> (String, [String])? in
            if case .established(let peer, _, let openers) = outcome { return (peer, openers) }
            return nil
        }
        #expect(established.map(\.0).sorted() == ["a", "b"])
        #expect(established.first { $0.0 == "b" }?.1 == ["opener-1"])
        guard case .success = a.waitEstablished("late") else {
            Issue.record("an established connection has nothing to wait for")
            return
        }
    }

    @Test("a wrong secret is refused with a reason; waiting openers fail on close")
    func wrongSecret() {
        var a = State(handshake: handshake("a"))
        var b = State(handshake: handshake("b", secret: Array("guess".utf8)))
        let waiting = a.waitEstablished("opener")
        #expect(waiting == nil)
        let outcomes = connect(&a, &b)
        let reasons = outcomes.compactMap { outcome -> String? in
            if case .refused(let reason, _) = outcome { return reason }
            return nil
        }
        #expect(reasons.contains { $0.contains("wrong cluster secret") }, "\(reasons)")
        let closed = a.close(reason: reasons[0], refused: true)
        #expect(closed?.openers == ["opener"] && closed?.error.code == .refused)
        let again = a.close(reason: "again", refused: false)
        #expect(again == nil)
    }

    @Test("calls get fresh ids; a reply resumes its caller once; late and unknown replies are ignored")
    func callTable() {
        var state = established()
        let first = state.beginCall(1, target: "echo", deadline: t0 + .seconds(1))
        let second = state.beginCall(2, target: "echo", deadline: t0 + .seconds(1))
        #expect(first == .success(1) && second == .success(2))
        guard case .reply(let caller, .void) = state.receive(.reply(Wire.Reply(id: 2, result: .void))) else {
            Issue.record("expected the reply of call 2")
            return
        }
        #expect(caller == 2)
        guard case .ignore = state.receive(.reply(Wire.Reply(id: 2, result: .void))) else {
            Issue.record("a duplicate reply must be ignored")
            return
        }
        guard case .ignore = state.receive(.reply(Wire.Reply(id: 99, result: .void))) else {
            Issue.record("an unknown reply must be ignored")
            return
        }
        #expect(state.pendingCalls == 1)
    }

    @Test("deadlines: only calls at or past their deadline expire, with timeout, in call order")
    func deadlines() {
        var state = established()
        _ = state.beginCall(1, target: "slow", deadline: t0 + .milliseconds(100))
        _ = state.beginCall(2, target: "slower", deadline: t0 + .milliseconds(300))
        _ = state.beginCall(3, target: "slow", deadline: t0 + .milliseconds(100))
        let early = state.expire(now: t0 + .milliseconds(99))
        #expect(early.isEmpty)
        let expired = state.expire(now: t0 + .milliseconds(100))
        #expect(expired.map(\.0) == [1, 3])
        #expect(expired.allSatisfy { $0.1.code == .timeout && $0.1.message.contains("slow") })
        // The reply of an expired call comes too late: ignored.
        guard case .ignore = state.receive(.reply(Wire.Reply(id: 1, result: .void))) else {
            Issue.record("a late reply must be ignored")
            return
        }
        #expect(state.pendingCalls == 1)
    }

    @Test("frames batch: only the first frame after a flush asks for one")
    func batching() {
        var state = established()
        let flushes = [state.enqueue([1, 2]), state.enqueue([3]), state.enqueue([4])]
        #expect(flushes == [true, false, false])
        let batch = state.takeOutgoing(now: t0)
        let empty = state.takeOutgoing(now: t0)
        #expect(batch == [1, 2, 3, 4] && empty == [])
        let next = state.enqueue([5])
        #expect(next)
    }

    @Test("closing fails every waiting call with unreachable and accepts nothing after")
    func closing() {
        var state = established()
        _ = state.beginCall(7, target: "a", deadline: t0 + .seconds(5))
        _ = state.beginCall(8, target: "b", deadline: t0 + .seconds(5))
        _ = state.enqueue([1])
        let closed = state.close(reason: "the peer closed the connection", refused: false)
        #expect(closed?.callers == [7, 8] && closed?.error.code == .unreachable)
        let last = state.takeOutgoing(now: t0)
        #expect(last == [1], "frames queued before the close still go out")
        let queued = state.enqueue([2])
        let after = state.takeOutgoing(now: t0)
        #expect(!queued && after == [])
        let refused = state.beginCall(9, target: "c", deadline: t0 + .seconds(5))
        #expect(refused == .failure(RemoteCallError(.unreachable, "the connection closed")))
        guard case .ignore = state.receive(.call(Wire.Call(id: 1, recipientKind: "x", recipientKey: "y", target: "t", genericSubstitutions: [], arguments: [], timeoutMilliseconds: 0, epoch: 0))) else {
            Issue.record("a closed connection starts no call")
            return
        }
    }

    @Test("keepalive: a ping each interval without other writes once established, answered with a pong; only frames after the handshake count as heard")
    func keepalive() {
        var a = State(handshake: handshake("a"))
        var b = State(handshake: handshake("b"))
        let early = a.keepalive(now: t0, every: .milliseconds(100))
        #expect(early == nil, "no ping before the handshake")
        a.heard(at: t0)
        #expect(a.lastHeard == nil)
        _ = connect(&a, &b)
        #expect(a.peer == "b" && b.peer == "a")

        let first = a.keepalive(now: t0, every: .milliseconds(100))
        let tooSoon = a.keepalive(now: t0 + .milliseconds(99), every: .milliseconds(100))
        let next = a.keepalive(now: t0 + .milliseconds(100), every: .milliseconds(100))
        #expect(first == .ping && tooSoon == nil && next == .ping)
        // Any frame written counts: no ping until an interval after the last write.
        _ = a.enqueue([1])
        _ = a.takeOutgoing(now: t0 + .milliseconds(150))
        let afterWrite = a.keepalive(now: t0 + .milliseconds(200), every: .milliseconds(100))
        _ = a.takeOutgoing(now: t0 + .milliseconds(220))  // nothing queued: not a write
        let quiet = a.keepalive(now: t0 + .milliseconds(250), every: .milliseconds(100))
        #expect(afterWrite == nil && quiet == .ping)

        b.heard(at: t0 + .milliseconds(101))
        let answer = Self.sent(b.receive(.ping))
        #expect(answer == [.pong])
        #expect(b.lastHeard == t0 + .milliseconds(101))
        guard case .ignore = a.receive(.pong) else {
            Issue.record("a pong needs no answer")
            return
        }
        _ = a.close(reason: "closed", refused: false)
        #expect(a.peer == nil)
        let closed = a.keepalive(now: t0 + .seconds(1), every: .milliseconds(100))
        #expect(closed == nil)
    }

    @Test("the next sweep: a keepalive interval after the last write, or a waiting call's deadline if that comes first")
    func nextSweep() {
        var state = established()
        let interval = Duration.milliseconds(100)
        #expect(state.nextSweep(now: t0, keepalive: interval) == t0 + interval, "nothing written yet: an interval from now")
        _ = state.enqueue([1])
        _ = state.takeOutgoing(now: t0 + .milliseconds(30))
        #expect(state.nextSweep(now: t0 + .milliseconds(50), keepalive: interval) == t0 + .milliseconds(130))
        _ = state.beginCall(1, target: "later", deadline: t0 + .seconds(5))
        #expect(state.nextSweep(now: t0 + .milliseconds(50), keepalive: interval) == t0 + .milliseconds(130))
        _ = state.beginCall(2, target: "soon", deadline: t0 + .milliseconds(80))
        _ = state.beginCall(3, target: "sooner", deadline: t0 + .milliseconds(60))
        #expect(state.nextSweep(now: t0 + .milliseconds(50), keepalive: interval) == t0 + .milliseconds(60))
        _ = state.expire(now: t0 + .milliseconds(80))
        #expect(state.nextSweep(now: t0 + .milliseconds(80), keepalive: interval) == t0 + .milliseconds(130))
        // A ping is a write: the next one is due an interval after it.
        _ = state.keepalive(now: t0 + .milliseconds(130), every: interval)
        #expect(state.nextSweep(now: t0 + .milliseconds(130), keepalive: interval) == t0 + .milliseconds(230))
    }
}
