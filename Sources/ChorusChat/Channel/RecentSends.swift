import ChorusModel

/// The channel's most recent sends that carried a client message id, so a repeated send with the
/// same id (a client's or an edge's retry) returns the original message instead of posting again.
///
/// Keyed by sender and client id (two users may pick the same id), bounded to the newest
/// ``capacity`` entries: a retry comes seconds after the first attempt, not thousands of sends
/// later. Part of the channel's state, so it is rebuilt by replay, stored by checkpoints and
/// copied to replicas: a retry is recognised on whichever node serves the channel next.
///
/// **Encoded as one string** (`{"packed": "…"}`), oldest first, each entry
/// `<sender's UTF-8 length>:<sender><client id's UTF-8 length>:<client id><message id>,` in
/// decimal. A channel that has seen a thousand sends with ids is re-stored at every checkpoint
/// after a change, and read back at every activation and recovery: as an array of objects,
/// `JSONEncoder` and `JSONDecoder` took ~2 ms each way for those thousand entries (most of a
/// small room's snapshot, `chorus-benchmarks store`, docs/benchmarks.md). The array of
/// `{sender, clientID, message}` objects that snapshots stored before hold still decodes.
public struct RecentSends: Sendable, Codable, Equatable {
    /// How many client ids a channel remembers.
    public static let capacity = 1_000

    private struct Key: Hashable, Sendable, Codable {
        var sender: UserID
        var clientID: String
    }

    private struct Entry: Sendable, Decodable, Equatable {
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

    private enum CodingKeys: String, CodingKey {
        case packed
    }

    public init(from decoder: any Decoder) throws {
        let decoded: [Entry]
        if let container = try? decoder.container(keyedBy: CodingKeys.self) {
            let packed = try container.decode(String.self, forKey: .packed)
            guard let unpacked = Self.unpack(packed) else {
                throw DecodingError.dataCorruptedError(forKey: .packed, in: container, debugDescription: "not a packed list of recent sends")
            }
            decoded = unpacked
        } else {
            decoded = try decoder.singleValueContainer().decode([Entry].self)  // as stored before 2026-12-04
        }
        entries = Array(decoded.suffix(Self.capacity))
        for entry in entries { index[Key(sender: entry.sender, clientID: entry.clientID)] = entry.message }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.pack(ordered), forKey: .packed)
    }

    /// The entries in the packed form (see the type's documentation).
    private static func pack(_ entries: [Entry]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(entries.count * 48)
        for entry in entries {
            appendDecimal(UInt64(entry.sender.rawValue.utf8.count), to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            bytes.append(contentsOf: entry.sender.rawValue.utf8)
            appendDecimal(UInt64(entry.clientID.utf8.count), to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            bytes.append(contentsOf: entry.clientID.utf8)
            appendDecimal(entry.message.rawValue, to: &bytes)
            bytes.append(UInt8(ascii: ","))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func appendDecimal(_ value: UInt64, to bytes: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var (rest, start) = (value, 20)
            repeat {
                start -= 1
                digits[start] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            } while rest > 0
            bytes.append(contentsOf: UnsafeMutableBufferPointer(rebasing: digits[start...]))
        }
    }

    /// The entries of a packed string, or `nil` if it is not one (a length past the end, a
    /// sender that is not a user id, a number that is not decimal or does not fit).
    private static func unpack(_ packed: String) -> [Entry]? {
        let bytes = Array(packed.utf8)
        var position = 0
        func number(until terminator: UInt8) -> UInt64? {
            var value: UInt64 = 0
            let start = position
            while position < bytes.count, bytes[position] != terminator {
                let digit = bytes[position] &- UInt8(ascii: "0")
                guard digit < 10 else { return nil }
                let (times10, overflowed) = value.multipliedReportingOverflow(by: 10)
                let (sum, carried) = times10.addingReportingOverflow(UInt64(digit))
                guard !overflowed, !carried else { return nil }
                value = sum
                position += 1
            }
            guard position < bytes.count, position > start else { return nil }
            position += 1  // the terminator
            return value
        }
        func text(_ length: UInt64) -> String? {
            guard length <= bytes.count - position else { return nil }
            defer { position += Int(length) }
            return String(decoding: bytes[position..<position + Int(length)], as: UTF8.self)
        }
        var entries: [Entry] = []
        while position < bytes.count {
            guard let senderLength = number(until: UInt8(ascii: ":")), let sender = text(senderLength).flatMap(UserID.init),
                let clientLength = number(until: UInt8(ascii: ":")), let clientID = text(clientLength),
                let message = number(until: UInt8(ascii: ","))
            else { return nil }
            entries.append(Entry(sender: sender, clientID: clientID, message: MessageID(rawValue: message)))
        }
        return entries
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.ordered == rhs.ordered }
}
