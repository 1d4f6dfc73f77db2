/// Makes 64-bit time-ordered ids: 41 bits of milliseconds since 2024-01-01, 10 bits of node id, 12 bits of sequence.
///
/// Ids from one generator strictly increase, even if the wall clock steps back (the generator keeps
/// using its last millisecond until the clock catches up) or more than 4,096 ids are asked for in one
/// millisecond (it borrows the next millisecond). A pure value: the caller owns synchronisation.
public struct SnowflakeGenerator: Sendable {
    /// 2024-01-01T00:00:00Z in Unix milliseconds.
    public static let epochMilliseconds: Int64 = 1_704_067_200_000
    /// Bits for the node id.
    public static let nodeBits = 10
    /// Bits for the per-millisecond sequence.
    public static let sequenceBits = 12

    /// This generator's node id, `0..<1024`.
    public let node: UInt64
    private var lastMilliseconds: Int64 = -1
    private var sequence: UInt64 = 0

    /// - Precondition: `node < 1024`.
    public init(node: UInt64) {
        precondition(node < (1 << Self.nodeBits), "snowflake node id must be below 1024")
        self.node = node
    }

    /// The next id for the wall-clock time `now`.
    public mutating func next(now: Timestamp) -> UInt64 {
        let milliseconds = max(now.milliseconds - Self.epochMilliseconds, 0)
        if milliseconds > lastMilliseconds {
            lastMilliseconds = milliseconds
            sequence = 0
        } else {
            sequence += 1
            if sequence >= (1 << Self.sequenceBits) {
                lastMilliseconds += 1
                sequence = 0
            }
        }
        return (UInt64(lastMilliseconds) << UInt64(Self.nodeBits + Self.sequenceBits))
            | (node << UInt64(Self.sequenceBits)) | sequence
    }

    /// Makes every later id larger than `id` (after a restart, ids must stay above recovered ones
    /// even if the wall clock is behind them).
    public mutating func advance(past id: UInt64) {
        let milliseconds = Int64(id >> UInt64(Self.nodeBits + Self.sequenceBits))
        let sequence = id & ((1 << UInt64(Self.sequenceBits)) - 1)
        if milliseconds > lastMilliseconds || (milliseconds == lastMilliseconds && sequence > self.sequence) {
            lastMilliseconds = milliseconds
            self.sequence = sequence
        }
    }

    /// The Unix time encoded in `id`.
    public static func timestamp(of id: UInt64) -> Timestamp {
        Timestamp(milliseconds: Int64(id >> UInt64(nodeBits + sequenceBits)) + epochMilliseconds)
    }
}
