import ChorusModel
import NIOCore

/// What one WebSocket session has queued and how each channel's events join its stream: a pure
/// state machine, driven by the session shell and tested without sockets.
///
/// **Stitching.** Each followed channel is either `held` (events wait: during the resume window
/// after `hello`, and while replays are fetched) or `live` (events go to the queue). A live channel
/// remembers the last seq it queued and drops any logged event at or below it, so a replayed event
/// is never sent twice. A held channel keeps what arrives — live events and the events of each
/// replay that finished — and lets it go, merged in seq order without duplicates, once it knows
/// what the client needs and no replay it waits for is still on its way:
///
/// - What the client needs (`delivered`) is known when it went out already (the channel was live),
///   when the client resumed from a seq or a join replays from its `member_add`, or when the resume
///   window ended without the client naming the channel. Until then (a client that announced a
///   resume), an edge's replay does not decide it: the client may still ask for older events.
/// - It waits for every client replay (a resume, a join) and for the newest edge replay (after a
///   ring change or an owner's restart, the edge subscribed again; events between the old
///   subscription and the new one are only in the replay). A newer edge replay supersedes an older
///   one: it starts from where the older one would, with the newest subscription behind it.
///
/// So overlapping replays never drop what another brings, whichever finishes first.
///
/// **Backpressure.** Queued and held bytes count against `limit`. Over the limit, the session
/// is slow from that moment; still slow after the grace period, or at twice the limit, it must be
/// closed (1008). Below the limit again, it is no longer slow.
struct SessionState {
    /// One frame and the seq of the event it carries (`nil` for ephemeral events and control frames).
    struct Frame {
        var seq: UInt64?
        var bytes: ByteBuffer
    }

    /// A channel's stream. A held one is boxed (`indirect`): held streams are few and short-lived,
    /// and a live one then takes 9 bytes, not the ~80 of a ``Hold``, in every session's map.
    enum Stream {
        indirect case held(Hold)
        case live(delivered: UInt64)
    }

    /// How a channel starts when the session follows it.
    enum Following: Equatable {
        case live
        /// Held until the resume window ends or the client resumes the channel.
        case untilResumeWindowEnds
        /// Held until a client replay (a join's) says where it starts and finishes.
        case untilReplay
    }

    /// Who asked for a replay, and which replay it is.
    enum Replayer: Equatable, Sendable {
        /// The client's `resume`, or a join: its start is what the socket needs. Ids come from
        /// ``nextClientReplay()``.
        case client(UInt64)
        /// The edge, after subscribing again (id: increasing per edge); its start is only where the
        /// edge knows the socket was.
        case edge(UInt64)
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
    /// Small at first (NIO's default holds 16 frames, ~0.4 KiB for every idle socket); it grows as needed.
    private(set) var queue = CircularBuffer<ByteBuffer>(initialCapacity: 2)
    private(set) var streams: [ChannelID: Stream] = [:]
    /// The seq each channel was followed from (see ``noteFollowing(_:from:)``).
    private var baselines: [ChannelID: UInt64] = [:]
    /// The last client replay's id.
    private var clientReplayCount: UInt64 = 0
    /// Whether the resume window after `hello` is still open (the first client frame or the
    /// window's timer closes it, whichever comes first).
    private var resumeWindowOpen = true
    /// Bytes in `queue` plus bytes held in streams.
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

    /// Starts following `channel` (no-op if it already does).
    mutating func follow(_ channel: ChannelID, _ start: Following) {
        guard streams[channel] == nil else { return }
        switch start {
        case .live: streams[channel] = .live(delivered: 0)
        // Once the window has ended, nothing will name the channel.
        case .untilResumeWindowEnds: streams[channel] = resumeWindowOpen ? .held(Hold(delivered: nil, untilResumeWindowEnds: true)) : .live(delivered: 0)
        case .untilReplay: streams[channel] = .held(Hold(delivered: nil, untilResumeWindowEnds: false))
        }
    }

    /// Notes that the session follows `channel` from after `seq` (events up to it came before).
    mutating func noteFollowing(_ channel: ChannelID, from seq: UInt64) {
        baselines[channel] = max(baselines[channel] ?? 0, seq)
    }

    /// Where the edge replays `channel` from after subscribing again: the later of the last seq
    /// delivered and the seq the session started following at. 0 is a resume point (an empty
    /// channel: everything it gets meanwhile is missed); `nil` means none is known yet (nothing
    /// delivered, and the follow that tells the baseline still in flight).
    func resumePoint(_ channel: ChannelID) -> UInt64? {
        let delivered: UInt64 =
            switch streams[channel] {
            case .held(let hold)?: hold.delivered ?? 0
            case .live(let delivered)?: delivered
            case nil: 0
            }
        guard delivered > 0 || baselines[channel] != nil else { return nil }
        return max(delivered, baselines[channel] ?? 0)
    }

    /// A new client replay.
    mutating func nextClientReplay() -> Replayer {
        clientReplayCount += 1
        return .client(clientReplayCount)
    }

    /// Whether events of `channel` reach this session.
    func follows(_ channel: ChannelID) -> Bool { streams[channel] != nil }

    /// Stops following `channel`, dropping what it held.
    mutating func unfollow(_ channel: ChannelID) {
        if case .held(let hold)? = streams[channel] { bytes -= hold.frames.byteCount }
        streams[channel] = nil
        baselines[channel] = nil
        updateSlow(now: nil)
    }

    /// Holds `channel` while a replay of what came after `seq` is fetched.
    ///
    /// A client's replay means the socket needs nothing at or below `seq`: the client resumed from
    /// it, or (a join) it came before the user joined. An edge's replay says nothing about that
    /// while the client may still resume the channel (see the type's documentation).
    ///
    /// A client replay from before the session followed the channel (`seq` below its baseline)
    /// cannot be stitched once live events from after the baseline went out (a client that
    /// connected without announcing a resume, or that resumes a channel a second time): the older
    /// events would come after newer ones, or not at all. That is ``ReplayStart/sentLiveAlready``,
    /// and nothing changes.
    mutating func beginReplay(_ channel: ChannelID, after seq: UInt64, by replayer: Replayer) -> ReplayStart {
        var hold: Hold
        switch streams[channel] {
        case nil:
            return .notFollowed
        case .held(let held):
            hold = held
        case .live(let delivered):
            hold = Hold(delivered: delivered, untilResumeWindowEnds: false)
        }
        switch replayer {
        case .client(let id):
            if let delivered = hold.delivered, let baseline = baselines[channel], delivered > baseline, seq < baseline {
                return .sentLiveAlready
            }
            hold.delivered = max(hold.delivered ?? 0, seq)
            hold.untilResumeWindowEnds = false
            hold.clientReplays.insert(id)
        case .edge(let id):
            hold.edgeReplay = max(hold.edgeReplay ?? 0, id)
        }
        streams[channel] = .held(hold)
        return .started
    }

    /// What ``beginReplay(_:after:by:)`` did.
    enum ReplayStart: Equatable {
        /// The channel is held until the replay finishes.
        case started
        case notFollowed
        /// Live events newer than the replay's start went out already: the replay is refused.
        case sentLiveAlready
    }

    // MARK: Events in

    /// A live event of `channel`.
    mutating func receive(_ channel: ChannelID, _ frame: Frame, now: Timestamp) -> Action {
        guard !isClosing, let index = streams.index(forKey: channel) else { return .none }
        switch streams.values[index] {
        case .held(var hold):
            // The dictionary lets go of its copy first, so the append is in place: otherwise each
            // event would copy the whole hold (quadratic over a long one).
            streams.values[index] = .live(delivered: 0)
            if let seq = frame.seq {
                if hold.floating > 0 { hold.anchorFloating(before: seq) }
                hold.frames.append(.event(frame))
                hold.lastLive = max(hold.lastLive, seq)
            } else if hold.lastLive == 0 {
                hold.frames.append(Held(position: 0, rank: .floating, frame: frame))
                hold.floating += 1
            } else {
                hold.frames.append(Held(position: hold.lastLive, rank: .ephemeral, frame: frame))
            }
            streams.values[index] = .held(hold)
            bytes += frame.bytes.readableBytes
            return updateSlow(now: now)
        case .live(let delivered):
            guard let seq = frame.seq else { return enqueue(frame.bytes, now: now) }
            guard seq > delivered else { return .none }
            streams.values[index] = .live(delivered: seq)
            return enqueue(frame.bytes, now: now)
        }
    }

    /// A replay of `channel` by `replayer` arrived: its events (all of the channel's events up to
    /// `through` that the socket may see) and `trailer` (e.g. the `resumed` frame, after them).
    /// The channel goes live once nothing it waits for is left (see the type's documentation). A
    /// replay it does not wait for is stale (superseded, or from before the channel was followed
    /// again) and ignored: whatever replaced it covers at least as much.
    mutating func finishReplay(
        _ channel: ChannelID, by replayer: Replayer, events: [Frame], through: UInt64, trailer: ByteBuffer?, now: Timestamp
    ) -> Action {
        guard !isClosing, case .held(var hold)? = streams[channel], hold.awaits(replayer) else { return .none }
        switch replayer {
        case .client(let id): hold.clientReplays.remove(id)
        case .edge: hold.edgeReplay = nil
        }
        hold.through = max(hold.through, through)
        hold.frames.reserveCapacity(hold.frames.count + events.count + 1)
        for event in events {
            hold.frames.append(.event(event))
            bytes += event.bytes.readableBytes
        }
        if let trailer {
            hold.frames.append(Held(position: through, rank: .trailer, frame: Frame(seq: nil, bytes: trailer)))
            bytes += trailer.readableBytes
        }
        guard hold.isWaiting else { return release(channel, hold, now: now) }
        streams[channel] = .held(hold)
        return updateSlow(now: now)
    }

    /// Lets `hold` go: its frames in order, without events at or below what was delivered and
    /// without duplicates; the channel goes live.
    private mutating func release(_ channel: ChannelID, _ hold: Hold, now: Timestamp) -> Action {
        var hold = hold
        bytes -= hold.frames.byteCount
        // Ephemeral events with no live event after them go out last.
        if hold.floating > 0 { hold.anchorFloating(before: .max) }
        // A stable sort: frames at one position keep their order of arrival.
        let ordered = hold.frames.enumerated().sorted {
            ($0.element.position, $0.element.rank, $0.offset) < ($1.element.position, $1.element.rank, $1.offset)
        }
        var last = hold.delivered ?? 0
        var frames: [ByteBuffer] = []
        frames.reserveCapacity(ordered.count)
        for (_, held) in ordered {
            if let seq = held.frame.seq {
                guard seq > last else { continue }
                last = seq
            }
            frames.append(held.frame.bytes)
        }
        streams[channel] = .live(delivered: max(last, hold.through))
        return enqueue(frames, now: now)
    }

    /// Ends the resume window (the client's first frame came, keeping the channels it resumes, or
    /// the window's time passed), once: the channels it held need what came after the session
    /// followed them, and go live unless a replay holds them.
    mutating func endResumeWindow(except kept: Set<ChannelID> = [], now: Timestamp) -> Action {
        guard resumeWindowOpen else { return .none }
        resumeWindowOpen = false
        var action = Action.none
        for (channel, stream) in streams where !kept.contains(channel) {
            guard case .held(var hold) = stream, hold.untilResumeWindowEnds else { continue }
            hold.untilResumeWindowEnds = false
            hold.delivered = hold.delivered ?? 0
            if hold.isWaiting {
                streams[channel] = .held(hold)
            } else {
                let result = release(channel, hold, now: now)
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

    /// Stops queueing; returns what is still queued (to drain at a graceful close). What channels
    /// hold stays unsent: it waits for a replay or for what the client needs, and sending it
    /// without them would move the client past events it never got. The client resumes on another
    /// socket from the last seq it has.
    mutating func close() -> [ByteBuffer] {
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
