import ChorusModel
import NIOCore

/// What one WebSocket session has queued and how each channel's events join its stream: a pure
/// state machine, driven by the session shell and tested without sockets.
///
/// **Stitching.** Each followed channel is either `buffering` (events wait: during the resume
/// window after `hello`, and while a replay is fetched) or `live` (events go to the queue). A live
/// channel remembers the last seq it queued and drops any logged event at or below it, so a
/// replayed event is never sent twice. A replay ends with ``finishReplay(_:events:through:trailer:now:)``:
/// the replayed events go out first, then the buffered ones after the replay's last seq.
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
        case buffering(delivered: UInt64, pending: [Frame])
        case live(delivered: UInt64)
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
    /// Channels held for a replay that has not finished: only a ``finishReplay`` lets them go.
    private var replaying: Set<ChannelID> = []
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

    /// Starts following `channel` (no-op if it already does); events wait while `buffering`.
    mutating func follow(_ channel: ChannelID, buffering: Bool) {
        guard streams[channel] == nil else { return }
        streams[channel] = buffering ? .buffering(delivered: 0, pending: []) : .live(delivered: 0)
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
            case .buffering(let delivered, _)?, .live(let delivered)?: delivered
            case nil: 0
            }
        return max(delivered, baselines[channel] ?? 0)
    }

    /// Whether events of `channel` reach this session.
    func follows(_ channel: ChannelID) -> Bool { streams[channel] != nil }

    /// Stops following `channel`, dropping what it buffered.
    mutating func unfollow(_ channel: ChannelID) {
        if case .buffering(_, let pending)? = streams[channel] {
            bytes -= pending.reduce(0) { $0 + $1.bytes.readableBytes }
        }
        streams[channel] = nil
        baselines[channel] = nil
        replaying.remove(channel)
        updateSlow(now: nil)
    }

    /// Holds `channel`'s live events while a replay of what came after `seq` is fetched (`false` if
    /// it is not followed).
    ///
    /// Whoever asks for a replay after `seq` needs nothing at or below it: the client resumed from
    /// it, or it came before the session followed the channel. So from here on nothing at or below
    /// `seq` is queued, whichever of several overlapping replays finishes first (an edge's
    /// re-subscription after a ring change can race the client's own `resume`).
    ///
    /// A replay from before the session followed the channel (`seq` below its baseline) cannot be
    /// stitched once live events from after the baseline went out (a client that connected without
    /// announcing a resume, or that resumes a channel a second time): the older events would come
    /// after newer ones, or not at all. That is ``ReplayStart/sentLiveAlready``, and nothing changes.
    mutating func beginReplay(_ channel: ChannelID, after seq: UInt64) -> ReplayStart {
        switch streams[channel] {
        case nil:
            return .notFollowed
        case .buffering(let delivered, let pending):
            streams[channel] = .buffering(delivered: max(delivered, seq), pending: pending)
        case .live(let delivered):
            if let baseline = baselines[channel], delivered > baseline, seq < baseline { return .sentLiveAlready }
            streams[channel] = .buffering(delivered: max(delivered, seq), pending: [])
        }
        replaying.insert(channel)
        return .started
    }

    /// What ``beginReplay(_:after:)`` did.
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
        guard !isClosing, let index = streams.index(forKey: channel) else { return .none }
        switch streams.values[index] {
        case .buffering(let delivered, var pending):
            // The dictionary lets go of its copy first, so the append is in place: otherwise each
            // event would copy the whole buffer (quadratic over a long hold).
            streams.values[index] = .live(delivered: delivered)
            pending.append(frame)
            streams.values[index] = .buffering(delivered: delivered, pending: pending)
            bytes += frame.bytes.readableBytes
            return updateSlow(now: now)
        case .live(let delivered):
            guard let seq = frame.seq else { return enqueue(frame.bytes, now: now) }
            guard seq > delivered else { return .none }
            streams.values[index] = .live(delivered: seq)
            return enqueue(frame.bytes, now: now)
        }
    }

    /// A replay of `channel` arrived: queue the replayed events after what was delivered (or
    /// needed by no one, see ``beginReplay(_:after:)``), then `trailer` (e.g. the `resumed` frame),
    /// then the buffered events after `through`; the channel goes live. A replay that finishes after
    /// another already let the channel go live adds only what is newer than what went out.
    mutating func finishReplay(_ channel: ChannelID, events: [Frame], through: UInt64, trailer: ByteBuffer?, now: Timestamp) -> Action {
        guard !isClosing, let stream = streams[channel] else { return .none }
        replaying.remove(channel)
        let (delivered, pending): (UInt64, [Frame]) =
            switch stream {
            case .buffering(let delivered, let pending): (delivered, pending)
            case .live(let delivered): (delivered, [])
            }
        bytes -= pending.reduce(0) { $0 + $1.bytes.readableBytes }
        var last = delivered
        var frames: [ByteBuffer] = []
        for event in events {
            guard let seq = event.seq, seq > last else { continue }
            frames.append(event.bytes)
            last = seq
        }
        if let trailer { frames.append(trailer) }
        last = max(last, through)
        for event in pending {
            if let seq = event.seq {
                guard seq > last else { continue }
                last = seq
            }
            frames.append(event.bytes)
        }
        streams[channel] = .live(delivered: last)
        return enqueue(frames, now: now)
    }

    /// Ends buffering of `channel` without a replay: its buffered events go out as they are.
    mutating func release(_ channel: ChannelID, now: Timestamp) -> Action {
        guard case .buffering(let delivered, _)? = streams[channel] else { return .none }
        return finishReplay(channel, events: [], through: delivered, trailer: nil, now: now)
    }

    /// Ends the resume window (the client's first frame came, keeping the channels it resumes, or
    /// the window's time passed), once: buffered channels go live, except those a replay holds.
    mutating func endResumeWindow(except kept: Set<ChannelID> = [], now: Timestamp) -> Action {
        guard resumeWindowOpen else { return .none }
        resumeWindowOpen = false
        return releaseAll(except: kept, now: now)
    }

    /// Ends buffering of every channel but `kept` and those a replay holds (their replay's
    /// ``finishReplay`` will; releasing them early would drop what the replay brings).
    mutating func releaseAll(except kept: Set<ChannelID> = [], now: Timestamp) -> Action {
        var action = Action.none
        for channel in streams.keys where !kept.contains(channel) && !replaying.contains(channel) {
            let result = release(channel, now: now)
            if result != .none { action = result }
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
        if releasingHeld { _ = releaseAll(now: now) }
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
