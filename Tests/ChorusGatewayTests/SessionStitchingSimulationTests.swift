@testable import ChorusGateway
import ChorusModel
import ChorusTestSupport
import NIOCore
import Testing

/// Runs one socket's ``SessionState`` for one channel through random interleavings of what the
/// edge sees when a client reconnects with `?resume=1` while the channel's owner fails: live
/// events, owners dying (events stop reaching the edge), the edge's re-subscriptions and replays
/// (several overlapping, finishing in any order), the socket's follow returning late (after a
/// re-subscription that could not yet tell where the socket stood), and the client's own `resume`
/// from an older seq.
/// One seed decides every step; after each step the socket's stream so far must be exactly the
/// events after the client's resume point (or, if it does not resume the channel, after the
/// socket started following it), in order: no gap, no duplicate, no reordering.
@Suite("SessionState stitching simulation")
struct SessionStitchingSimulationTests {
    let channel = ChannelID(rawValue: 7)
    let now = Timestamp.seconds(1_800_000_000)

    /// An edge replay after a re-subscription, from when it began to when it finished.
    struct EdgeReplay {
        enum Phase { case subscribing, subscribed, fetched(events: [UInt64], through: UInt64) }
        var id: UInt64
        /// Where it replays from; `nil` until the socket's follow returns (the hub's `awaitingPoint`).
        var point: UInt64?
        var phase: Phase
    }

    enum Client {
        /// Connected; the resume frame has not come yet.
        case connected
        /// Its resume frame came (the window ended) but this channel's replay has not begun.
        case resumeFrame
        case replaying
        case fetched(events: [UInt64], through: UInt64)
        case done
    }

    struct World {
        var random: SeededRandom
        var state = SessionState(limit: 1 << 30, grace: .seconds(10))
        var head: UInt64 = 0
        /// Live events on their way to the edge, in order.
        var wire: [UInt64] = []
        /// Whether the edge's subscription is dead (the owner failed, or a re-subscription is not in place yet).
        var outage = false
        var replays: [EdgeReplay] = []
        var generation: UInt64 = 0
        var client = Client.connected
        /// Whether the client's resume frame names the channel (else the window's end releases it).
        var resumes = true
        var resumedFrom: UInt64 = 0
        /// What the socket got, in order.
        var out: [String] = []
        var lastOut: UInt64 = 0
        var failure: String?
        /// Whether the socket's follow is still in flight: its baseline not yet noted.
        var followPending = false
        /// The seq the socket's follow returns (its subscription's).
        var baseline: UInt64 = 0
    }

    @Test("random interleavings of live events, owner failures, overlapping edge replays and a client's resume: exactly what the client missed, in order")
    func randomInterleavings() {
        var failures: [String] = []
        for seed in UInt64(1)...1_500 {
            if let failure = run(seed: seed) { failures.append("seed \(seed): \(failure)") }
            if failures.count >= 3 { break }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    /// One run; the first broken invariant, or `nil`.
    func run(seed: UInt64) -> String? {
        var world = World(random: SeededRandom(seed: seed))
        // Events before the socket follows (none: an empty channel); the edge's subscription
        // starts after them. Sometimes the follow returns only later.
        for _ in 0..<Int.random(in: 0...6, using: &world.random) { world.head += 1 }
        world.state.follow(channel, .untilResumeWindowEnds)
        world.baseline = world.head
        world.followPending = world.random.chance(0.4)
        if !world.followPending { world.state.noteFollowing(channel, from: world.baseline) }
        // Mostly a client that resumes the channel from an older seq; sometimes one that does not
        // name it (it needs what came after the socket followed).
        world.resumes = world.random.chance(0.8)
        world.resumedFrom = world.resumes ? UInt64.random(in: 0...world.head, using: &world.random) : world.head
        world.lastOut = world.resumedFrom
        for _ in 0..<200 {
            step(&world)
            collect(&world)
            if let failure = world.failure { return failure }
        }
        settle(&world)
        if let failure = world.failure { return failure }
        guard world.lastOut == world.head else { return "ended at \(world.lastOut) of \(world.head): \(world.out.suffix(8))" }
        let resumedFrames = world.out.filter { $0 == "resumed" }.count
        guard resumedFrames == (world.resumes ? 1 : 0) else { return "the resumed frame went out \(resumedFrames) times" }
        return nil
    }

    /// One random step of whoever may act.
    func step(_ world: inout World) {
        switch Int.random(in: 0..<10, using: &world.random) {
        case 0, 1:  // an event is published
            world.head += 1
            if !world.outage { world.wire.append(world.head) }
        case 2, 3:  // a live event reaches the edge
            if !world.wire.isEmpty { receive(world.wire.removeFirst(), &world) }
        case 4:  // the owner fails: its events stop reaching the edge
            if world.random.chance(0.3) { world.outage = true }
        case 5:  // the edge subscribes again (a ring change, an owner's new incarnation)
            if world.outage || world.random.chance(0.2) { beginEdgeReplay(&world) }
        case 6, 7:  // an edge replay moves on
            if let index = world.replays.indices.randomElement(using: &world.random) { advance(edgeReplay: index, &world) }
        case 8 where world.followPending:  // the socket's follow returns
            returnFollow(&world)
        default:  // the client moves on
            advanceClient(&world)
        }
    }

    /// The follow notes its baseline; a replay that waited for it (the newest re-subscription's,
    /// as the hub keeps only that one) now knows where to start.
    func returnFollow(_ world: inout World) {
        world.state.noteFollowing(channel, from: world.baseline)
        world.followPending = false
        for index in world.replays.indices where world.replays[index].point == nil {
            world.replays[index].point = world.state.resumePoint(channel) ?? 0
        }
    }

    func beginEdgeReplay(_ world: inout World) {
        world.generation += 1
        let point = world.state.resumePoint(channel)
        guard world.state.beginReplay(channel, after: point ?? 0, by: .edge(world.generation)) == .started else {
            world.failure = "an edge replay was refused"
            return
        }
        // The hub remembers only the newest re-subscription for a socket with no point yet.
        if point == nil { world.replays.removeAll { $0.point == nil } }
        // The old subscription may keep delivering until the new one lands, or not.
        if world.random.chance(0.5) { world.outage = true }
        world.replays.append(EdgeReplay(id: world.generation, point: point, phase: .subscribing))
    }

    func advance(edgeReplay index: Int, _ world: inout World) {
        let replay = world.replays[index]
        switch replay.phase {
        case .subscribing:
            // Only the newest subscription takes effect (the owner ignores older generations).
            if replay.id == world.generation { world.outage = false }
            world.replays[index].phase = .subscribed
        case .subscribed:
            guard let point = replay.point else { return }  // until the follow returns
            world.replays[index].phase = .fetched(events: log(after: point, world), through: world.head)
        case .fetched(let events, let through):
            world.replays.remove(at: index)
            _ = world.state.finishReplay(channel, by: .edge(replay.id), events: events.map(frame), through: through, trailer: nil, now: now)
        }
    }

    func advanceClient(_ world: inout World) {
        switch world.client {
        case .connected:
            _ = world.state.endResumeWindow(except: world.resumes ? [channel] : [], now: now)
            world.client = world.resumes ? .resumeFrame : .done
        case .resumeFrame:
            guard world.state.beginReplay(channel, after: world.resumedFrom, by: .client(1)) == .started else {
                world.failure = "the client's resume was refused"
                return
            }
            world.client = .replaying
        case .replaying:
            world.client = .fetched(events: log(after: world.resumedFrom, world), through: world.head)
        case .fetched(let events, let through):
            _ = world.state.finishReplay(
                channel, by: .client(1), events: events.map(frame), through: through, trailer: ByteBuffer(string: "resumed"), now: now)
            world.client = .done
        case .done:
            break
        }
    }

    /// Lets everything finish: the client's resume, an edge replay for an outage still open, every
    /// replay, every live event; then one more event.
    func settle(_ world: inout World) {
        if world.followPending { returnFollow(&world) }
        while !isDone(world.client) {
            advanceClient(&world)
            collect(&world)
        }
        if world.outage { beginEdgeReplay(&world) }
        while !world.replays.isEmpty {
            advance(edgeReplay: 0, &world)
            collect(&world)
        }
        world.head += 1
        world.wire.append(world.head)
        while !world.wire.isEmpty {
            receive(world.wire.removeFirst(), &world)
            collect(&world)
        }
    }

    func isDone(_ client: Client) -> Bool {
        if case .done = client { return true }
        return false
    }

    func receive(_ seq: UInt64, _ world: inout World) {
        _ = world.state.receive(channel, frame(seq), now: now)
    }

    /// Takes what the socket's writer would write, checking each event follows the last.
    func collect(_ world: inout World) {
        while let bytes = world.state.next() {
            let text = String(buffer: bytes)
            world.out.append(text)
            guard text != "resumed" else { continue }
            guard let seq = UInt64(text.dropFirst()) else {
                world.failure = "unexpected frame \(text)"
                return
            }
            guard seq == world.lastOut + 1 else {
                world.failure = "event \(seq) after \(world.lastOut) (resumed from \(world.resumedFrom)): \(world.out.suffix(8))"
                return
            }
            world.lastOut = seq
        }
    }

    /// The channel's logged events after `seq`.
    func log(after seq: UInt64, _ world: World) -> [UInt64] {
        seq < world.head ? Array((seq + 1)...world.head) : []
    }

    func frame(_ seq: UInt64) -> SessionState.Frame {
        SessionState.Frame(seq: seq, bytes: ByteBuffer(string: "e\(seq)"))
    }
}
