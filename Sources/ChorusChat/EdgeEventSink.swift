import ChorusModel

/// Where a node's channel actors hand events for the WebSocket sessions of one edge.
///
/// The first level of the two-level fan-out: a channel actor calls ``deliver(_:)`` once per event
/// per subscribed edge, synchronously and in seq order, from inside its own turn. The edge encodes
/// the frame once and writes it to every local socket that follows the channel. Implementations
/// must not block or suspend: they queue.
public protocol EdgeEventSink: AnyObject, Sendable {
    /// Name of the edge (the node name), as channel actors know it in subscriptions.
    var edgeName: String { get }

    /// One event of a channel this edge subscribed to.
    func deliver(_ event: ChannelEvent)

    /// User `user` joined (`isMember`) or left `channel` with the record at `seq`; sessions of that
    /// user start or stop following the channel.
    func membershipChanged(of user: UserID, in channel: ChannelID, isMember: Bool, seq: UInt64)

    /// What the edge counts for the node's report (`sessions` open now, `deliveries` so far).
    var statistics: [String: Int] { get }
}

extension EdgeEventSink {
    public var statistics: [String: Int] { [:] }
}

/// What a resuming session gets from a channel.
public struct ChannelReplay: Sendable, Codable, Equatable {
    /// The logged events after the requested seq, oldest first; empty when unavailable.
    public var events: [ChannelEvent]
    /// The seq the replay reaches: every later event comes live to subscribed edges.
    public var through: UInt64
    /// `false` when some requested events are no longer kept (the client must reload).
    public var available: Bool

    public init(events: [ChannelEvent], through: UInt64, available: Bool) {
        self.events = events
        self.through = through
        self.available = available
    }
}
