import ChorusModel
import NIOCore

/// What one WebSocket session has queued and how each channel's events join its stream: a pure
/// state machine, driven by the session shell and tested without sockets.
///
/// **Stitching.** Each followed channel is either `held` (events wait: during the resume window
/// after `hello`, until a join's first replay, and while any replay is fetched) or `live` (events
/// go to the queue). A live channel remembers the last seq it queued and drops any logged event at
/// or below it, so a replayed event is never sent twice. A held channel counts the replays in
/// flight and goes live only when the last one has finished and nothing else holds it: then the
/// replayed events go out first (merged by seq), then the replays' trailers, then the buffered
/// events after the replays' last seq. So replays that overlap (a client's `resume` and an edge's
/// catch-up after a ring change or an owner's restart) join into one stream in either order.
///
/// **Backpressure.** Queued and buffered bytes count against `limit`. Over the limit, the session
/// is slow from that moment; still slow after the grace period, or at twice the limit, it must be
/// closed (1008). Below the limit again, it is no longer slow.
struct SessionState {
    /// One frame and the seq of the event it carries (`nil` for ephemeral events and control frames).
    struct Frame {
        var seq: UInt64?
        var bytes: ByteBuffer
    }

    enum Stream {
        case held(Held)
        case live(delivered: UInt64)
    }

    /// What holds a channel's events besides replays in flight.
    enum Hold: Equatable {
        /// The resume window after `hello`: the client may still resume the channel.
        case resumeWindow
        /// The channel's first replay (a join's catch-up), about to begin.
        case firstReplay
    }

    /// Whose replay it is: what it says about the events the socket needs.
    enum ReplayKind: Equatable {
        /// The client's resume (or a join's catch-up): the socket needs nothing at or below its start.
        case resume
        /// The edge's own catch-up after it subscribed again: says nothing of what the client has.
        case catchUp
    }

    /// A held channel: what it waits for, and what waits in it.
    struct Held {
        /// The last seq that went out (or that the socket needs nothing up to).
        var delivered: UInt64
        var waitingFor: Hold?
        /// Replays begun and not finished.
        var replays = 0
        /// Live events that arrived meanwhile, in arrival order.
        var pending: [Frame] = []
        /// Events of the finished replays, ascending by seq, no seq twice.
        var replayed: [Frame] = []
        /// The finished replays' trailers (e.g. `resumed`), in the order they finished.
        var trailers: [ByteBuffer] = []
        /// The newest seq the finished replays covered.
        var through: UInt64 = 0

        var isReleasable: Bool { replays == 0 && waitingFor == nil }
        var bytes: Int {
            pending.reduce(0) { $0 + $1.bytes.readableBytes } + replayed.reduce(0) { $0 + $1.bytes.readableBytes }
                + trailers.reduce(0) { $0 + $1.readableBytes }
        }
    }

    /// What the shell must do after a change.
    enum Action: Equatable {
        case none
        /// Frames were queued: wake the writer.
        case write
        /// The socket just went over its buffer: check again when the grace period ends.
        case armSlowTimer(deadline: Timestamp)
        /// Close with 1008: too slow for too long.
        case closeSlow
    }

    let limit: Int
    let grace: Duration
    private(set) var queue = CircularBuffer<ByteBuffer>()
    private(set) var streams: [ChannelID: Stream] = [:]
    /// The seq each channel was followed from (see ``noteFollowing(_:from:)``).
    private var baselines: [ChannelID: UInt64] = [:]
    /// Whether the resume window after `hello` is still open (the first client frame or the
    /// window's timer closes it, whichever comes first).
    private var resumeWindowOpen = true
    /// Bytes in `queue` plus bytes buffered in streams.
    private(set) var bytes = 0
    /// When the session went over `limit`; `nil` while under it.
    private(set) var slowSince: Timestamp?
    /// Set once the session is closing: nothing more is queued.
    private(set) var isClosing = false

    init(limit: Int, grace: Duration) {
        self.limit = limit
        self.grace = grace
    }

    // MARK: Following channels

    /// Starts following `channel` (no-op if it already does); its events wait while `hold` holds
    /// it (`nil`: live at once).
    mutating func follow(_ channel: ChannelID, heldFor hold: Hold?) {
        guard streams[channel] == nil else { return }
        streams[channel] = hold.map { .held(Held(delivered: 0, waitingFor: $0)) } ?? .live(delivered: 0)
    }

    /// Notes that the session follows `channel` from after `seq` (events up to it came before).
    mutating func noteFollowing(_ channel: ChannelID, from seq: UInt64) {
        baselines[channel] = max(baselines[channel] ?? 0, seq)
    }

    /// Where to replay `channel` from after it moved to another node: the later of the last seq
    /// delivered and the seq the session started following at.
    func resumePoint(_ channel: ChannelID) -> UInt64 {
        let delivered: UInt64 =
            switch streams[channel] {
            case .held(let held)?: held.delivered
            case .live(let delivered)?: delivered
            case nil: 0
            }
        return max(delivered, baselines[channel] ?? 0)
    }

    /// Whether events of `channel` reach this session.
    func follows(_ channel: ChannelID) -> Bool { streams[channel] != nil }

    /// Stops following `channel`, dropping what it buffered.
    mutating func unfollow(_ channel: ChannelID) {
        if case .held(let held)? = streams[channel] { bytes -= held.bytes }
        streams[channel] = nil
        baselines[channel] = nil
        updateSlow(now: nil)
    }

    /// Holds `channel`'s live events while a replay of what came after `seq` is fetched (`false` if
    /// it is not followed). Each ``ReplayStart/started`` needs its one ``finishReplay``.
    ///
    /// A ``ReplayKind/resume`` says the socket needs nothing at or below `seq` (the client has it,
    /// or it came before the channel was joined): from here on nothing at or below it is queued.
    /// A ``ReplayKind/catchUp`` (the edge's, after it subscribed again) says nothing about the
    /// client: it must not hide events the client's own resume, maybe still to come, asks for.
    ///
    /// A resume from before the session followed the channel (`seq` below its baseline) cannot be
    /// stitched once live events from after the baseline went out (a client that connected without
    /// announcing a resume, or that resumes a channel a second time): the older events would come
    /// after newer ones, or not at all. That is ``ReplayStart/sentLiveAlready``, and nothing changes.
    mutating func beginReplay(_ channel: ChannelID, after seq: UInt64, kind: ReplayKind = .resume) -> ReplayStart {
        var held: Held
        switch streams[channel] {
        case nil:
            return .notFollowed
        case .held(let current):
            held = current
        case .live(let delivered):
            if kind == .resume, let baseline = baselines[channel], delivered > baseline, seq < baseline { return .sentLiveAlready }
            held = Held(delivered: delivered)
        }
        if kind == .resume {
            held.delivered = max(held.delivered, seq)
            held.waitingFor = nil
        }
        held.replays += 1
        streams[channel] = .held(held)
        return .started
    }

    /// What ``beginReplay(_:after:kind:)`` did.
    enum ReplayStart: Equatable {
        /// The channel is held until ``finishReplay(_:events:through:trailer:now:)``.
        case started
        case notFollowed
        /// Live events newer than the replay's start went out already: the replay is refused.
        case sentLiveAlready
    }

    // MARK: Events in

    /// A live event of `channel`.
    mutating func receive(_ channel: ChannelID, _ frame: Frame, now: Timestamp) -> Action {
        guard !isClosing, let stream = streams[channel] else { return .none }
        switch stream {
        case .held(var held):
            held.pending.append(frame)
            streams[channel] = .held(held)
            bytes += frame.bytes.readableBytes
            return updateSlow(now: now)
        case .live(let delivered):
            guard let seq = frame.seq else { return enqueue(frame.bytes, now: now) }
            guard seq > delivered else { return .none }
            streams[channel] = .live(delivered: seq)
            return enqueue(frame.bytes, now: now)
        }
    }

    /// A replay of `channel` arrived: its events (through seq `through`) and `trailer` (e.g. the
    /// `resumed` frame) join what the channel holds. When no other replay or hold remains, the
    /// channel goes live: the replayed events after what was delivered (or needed by no one, see
    /// ``beginReplay(_:after:kind:)``), then the trailers, then the buffered events after the
    /// newest seq the replays covered. A replay that finishes on a live channel (one it no longer
    /// held: it was unfollowed and followed again meanwhile) adds only what is newer than what went out.
    mutating func finishReplay(_ channel: ChannelID, events: [Frame], through: UInt64, trailer: ByteBuffer?, now: Timestamp) -> Action {
        guard !isClosing, let stream = streams[channel] else { return .none }
        var held: Held
        switch stream {
        case .held(let current):
            held = current
            held.replays = max(held.replays - 1, 0)
        case .live(let delivered):
            held = Held(delivered: delivered)
        }
        let before = held.bytes
        held.replayed = merged(held.replayed, events.filter { $0.seq != nil })
        if let trailer { held.trailers.append(trailer) }
        held.through = max(held.through, through)
        bytes += held.bytes - before
        guard held.isReleasable else {
            streams[channel] = .held(held)
            return updateSlow(now: now)
        }
        return goLive(channel, held, now: now)
    }

    /// Queues what `held` kept, in order, and makes `channel` live.
    private mutating func goLive(_ channel: ChannelID, _ held: Held, now: Timestamp) -> Action {
        bytes -= held.bytes
        var last = held.delivered
        var frames: [ByteBuffer] = []
        for event in held.replayed where event.seq! > last {
            frames.append(event.bytes)
            last = event.seq!
        }
        frames += held.trailers
        last = max(last, held.through)
        for event in held.pending {
            if let seq = event.seq {
                guard seq > last else { continue }
                last = seq
            }
            frames.append(event.bytes)
        }
        streams[channel] = .live(delivered: last)
        return enqueue(frames, now: now)
    }

    /// Ends the resume window (the client's first frame came, keeping the channels it resumes, or
    /// the window's time passed), once: channels it held go live, except those a replay holds
    /// (their replay's ``finishReplay`` will; releasing them early would drop what the replay
    /// brings) and those kept for the client's resume (its replay begins next).
    mutating func endResumeWindow(except kept: Set<ChannelID> = [], now: Timestamp) -> Action {
        guard resumeWindowOpen else { return .none }
        resumeWindowOpen = false
        var action = Action.none
        for (channel, stream) in streams where !kept.contains(channel) {
            guard case .held(var held) = stream, held.waitingFor == .resumeWindow else { continue }
            held.waitingFor = nil
            streams[channel] = .held(held)
            if held.isReleasable {
                let result = goLive(channel, held, now: now)
                if result != .none { action = result }
            }
        }
        return action
    }

    /// A control frame (`hello`, `health`, `error`, …): always queued, never dropped as a duplicate.
    mutating func send(_ bytes: ByteBuffer, now: Timestamp) -> Action {
        guard !isClosing else { return .none }
        return enqueue(bytes, now: now)
    }

    // MARK: Frames out

    /// The next frame for the writer, if any.
    mutating func next() -> ByteBuffer? {
        guard let frame = queue.popFirst() else { return nil }
        bytes -= frame.readableBytes
        updateSlow(now: nil)
        return frame
    }

    /// Called when the grace period of a slow episode ends.
    mutating func checkSlow(now: Timestamp) -> Action {
        guard !isClosing, let since = slowSince, since.advanced(by: grace) <= now else { return .none }
        return .closeSlow
    }

    /// Stops queueing; returns what is still queued (to drain at a graceful close). With
    /// `releasingHeld`, events still held for a resume go out too: the client will not resume here.
    mutating func close(releasingHeld: Bool = false, now: Timestamp) -> [ByteBuffer] {
        if releasingHeld {
            for case (let channel, .held(let held)) in streams { _ = goLive(channel, held, now: now) }
        }
        isClosing = true
        let remaining = Array(queue)
        queue.removeAll()
        streams.removeAll()
        bytes = 0
        return remaining
    }

    private mutating func enqueue(_ frame: ByteBuffer, now: Timestamp) -> Action {
        enqueue([frame], now: now)
    }

    private mutating func enqueue(_ frames: [ByteBuffer], now: Timestamp) -> Action {
        guard !frames.isEmpty else { return updateSlow(now: now) }
        for frame in frames {
            queue.append(frame)
            bytes += frame.readableBytes
        }
        let slow = updateSlow(now: now)
        return slow == .none ? .write : slow
    }

    /// Tracks the slow episode; `now == nil` only ends one (bytes went down).
    @discardableResult
    private mutating func updateSlow(now: Timestamp?) -> Action {
        guard bytes > limit else {
            slowSince = nil
            return .none
        }
        guard let now else { return .none }
        if bytes > 2 * limit { return .closeSlow }
        if let since = slowSince {
            return since.advanced(by: grace) <= now ? .closeSlow : .none
        }
        slowSince = now
        return .armSlowTimer(deadline: now.advanced(by: grace))
    }
}

/// `old` and `new` (each ascending by seq) as one list ascending by seq, no seq twice.
private func merged(_ old: [SessionState.Frame], _ new: [SessionState.Frame]) -> [SessionState.Frame] {
    guard !old.isEmpty else { return new }
    var result: [SessionState.Frame] = []
    result.reserveCapacity(old.count + new.count)
    var (i, j) = (0, 0)
    while i < old.count || j < new.count {
        let next: SessionState.Frame
        if j == new.count || (i < old.count && old[i].seq! <= new[j].seq!) {
            next = old[i]
            i += 1
        } else {
            next = new[j]
            j += 1
        }
        if let previous = result.last?.seq, previous >= next.seq! { continue }
        result.append(next)
    }
    return result
}
