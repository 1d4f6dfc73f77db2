/// The body of every benchmark message: `<send time ns>:<counter>:` padded with `x` to the payload size.
///
/// The send time is the load generator's monotonic clock, so a subscriber in the same process measures
/// end-to-end latency without a lookup. The counter numbers the messages of one sender (the peer target
/// uses it as its sequence number; Chorus frames carry the channel's `seq`).
public enum Payload {
    /// The smallest payload that always fits both numbers.
    public static let minimumSize = 44

    /// The body for `counter` sent at `sentAt`, exactly `size` bytes of ASCII (`size >= minimumSize`).
    public static func make(sentAt: UInt64, counter: UInt64, size: Int) -> [UInt8] {
        var bytes = Array("\(sentAt):\(counter):".utf8)
        if bytes.count < size { bytes.append(contentsOf: repeatElement(UInt8(ascii: "x"), count: size - bytes.count)) }
        return bytes
    }

    /// The send time and counter of a body made by `make`, or nil for any other text.
    public static func parse(_ bytes: some Collection<UInt8>) -> (sentAt: UInt64, counter: UInt64)? {
        var iterator = bytes.makeIterator()
        guard let sentAt = number(&iterator), let counter = number(&iterator) else { return nil }
        return (sentAt, counter)
    }

    /// Digits up to a `:`; nil if there are none, or anything else comes first, or it overflows.
    private static func number<I: IteratorProtocol<UInt8>>(_ iterator: inout I) -> UInt64? {
        var value: UInt64 = 0
        var digits = 0
        while let byte = iterator.next() {
            if byte == UInt8(ascii: ":") { return digits > 0 ? value : nil }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), digits < 19 else { return nil }
            value = value * 10 + UInt64(byte - UInt8(ascii: "0"))
            digits += 1
        }
        return nil
    }
}
