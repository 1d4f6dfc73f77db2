import ChorusModel

/// The channel's most recent sends that carried a client message id, so a repeated send with the
/// same id (a client's or an edge's retry) returns the original message instead of posting again.
///
/// Keyed by sender and client id (two users may pick the same id), bounded to the newest
/// ``capacity`` entries: a retry comes seconds after the first attempt, not thousands of sends
/// later. Part of the channel's state, so it is rebuilt by replay, stored by checkpoints and
/// copied to replicas: a retry is recognised on whichever node serves the channel next.
public struct RecentSends: Sendable, Codable, Equatable {
    /// How many client ids a channel remembers.
    public static let capacity = 1_000

    private struct Key: Hashable, Sendable, Codable {
        var sender: UserID
        var clientID: String
    }

    private struct Entry: Sendable, Codable, Equatable {
        var sender: UserID
        var clientID: String
        var message: MessageID
    }

    /// A ring of at most ``capacity`` entries, the oldest at `oldest` once it is full (forgetting
    /// the oldest is then one overwrite, where removing an array's first element moved the other
    /// 999 on every send); ``ordered`` reads it oldest first. The lookup index is rebuilt from it
    /// after decoding.
    private var entries: [Entry] = []
    private var oldest = 0
    private var index: [Key: MessageID] = [:]

    public init() {}

    /// The message `sender` posted with `clientID`, if it is among the remembered sends.
    public func message(sentBy sender: UserID, clientID: String) -> MessageID? {
        index[Key(sender: sender, clientID: clientID)]
    }

    /// Remembers that `sender` posted `message` with `clientID`, forgetting the oldest entry past capacity.
    mutating func remember(_ message: MessageID, sentBy sender: UserID, clientID: String) {
        let entry = Entry(sender: sender, clientID: clientID, message: message)
        index[Key(sender: sender, clientID: clientID)] = message
        guard entries.count == Self.capacity else { return entries.append(entry) }
        let forgotten = entries[oldest]
        entries[oldest] = entry
        oldest = (oldest + 1) % Self.capacity
        let key = Key(sender: forgotten.sender, clientID: forgotten.clientID)
        if index[key] == forgotten.message { index[key] = nil }
    }

    /// The remembered sends, oldest first.
    private var ordered: [Entry] { Array(entries[oldest...] + entries[..<oldest]) }

    public init(from decoder: any Decoder) throws {
        entries = Array(try decoder.singleValueContainer().decode([Entry].self).suffix(Self.capacity))
        for entry in entries { index[Key(sender: entry.sender, clientID: entry.clientID)] = entry.message }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(ordered)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.ordered == rhs.ordered }
}
