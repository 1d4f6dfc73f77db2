import ChorusModel

/// The most recent logged events of one channel, kept so a client that reconnects can resume.
///
/// A ring of at most `capacity` events in seq order. `floor` is the seq up to which events may be
/// missing: the seq when the actor was activated (events are not rebuilt from storage), then the
/// seq of the newest event the ring dropped. A pure value; tests drive it directly.
public struct ChannelEventLog: Sendable {
    /// How many events the ring keeps.
    public let capacity: Int
    /// Events with a seq at or below this may be missing.
    public private(set) var floor: UInt64
    /// The seq of the newest event appended, or `floor` if none.
    public private(set) var lastSeq: UInt64

    private var ring: [ChannelEvent] = []
    /// Index of the oldest event in `ring` once it is full.
    private var head = 0

    /// What a resume gets.
    public enum Replay: Equatable, Sendable {
        /// Every logged event after the requested seq, in order (possibly none).
        case events([ChannelEvent])
        /// Some events after the requested seq are gone (or it is ahead of the log).
        case unavailable
    }

    /// An empty log whose events up to `floor` are not available.
    public init(capacity: Int, floor: UInt64) {
        self.capacity = max(1, capacity)
        self.floor = floor
        self.lastSeq = floor
    }

    /// Appends a logged event; its seq must be above every seq appended so far.
    public mutating func append(_ event: ChannelEvent) {
        guard let seq = event.seq else { return }
        precondition(seq > lastSeq, "events are appended in seq order")
        lastSeq = seq
        if ring.count < capacity {
            ring.append(event)
            return
        }
        floor = ring[head].seq!
        ring[head] = event
        head = (head + 1) % capacity
    }

    /// The events after `seq`, oldest first; `.unavailable` if some may be missing or `seq` is
    /// beyond the last seq the channel has logged (`channelSeq`).
    public func events(after seq: UInt64, channelSeq: UInt64) -> Replay {
        guard seq >= floor, seq <= channelSeq else { return .unavailable }
        var result: [ChannelEvent] = []
        // Walk back from the newest event: a resume usually asks for the last few.
        for offset in 0..<ring.count {
            let event = ring[(head + ring.count - 1 - offset) % ring.count]
            guard event.seq! > seq else { break }
            result.append(event)
        }
        return .events(result.reversed())
    }
}
