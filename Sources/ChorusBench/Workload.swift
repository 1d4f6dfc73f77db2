/// The shape of a fan-out run: who subscribes, who sends, how fast and for how long.
public struct FanoutWorkload: Sendable, Equatable, Codable {
    /// Channels (rooms or topics), each with its own subscribers and senders.
    public var channels = 1
    /// WebSocket subscribers of each channel.
    public var subscribersPerChannel = 200
    /// Senders of each channel; the channel's share of the rate is split between them.
    public var sendersPerChannel = 1
    /// Messages per second offered, over all channels (open loop: sends keep their schedule whatever the server does).
    public var rate = 200.0
    /// Seconds measured after the warm-up.
    public var duration = 10.0
    /// Seconds of sending before measuring starts (connections and caches settle).
    public var warmup = 2.0
    /// Message body size in bytes.
    public var payloadBytes = 64
    /// Seconds to wait after the last send for acknowledgements and deliveries.
    public var drainTimeout = 10.0
    /// Event loops (threads) of the load generator; subscribers are spread over them.
    public var eventLoops = 2

    public init() {}

    enum CodingKeys: String, CodingKey {
        case channels, subscribersPerChannel = "subscribers_per_channel", sendersPerChannel = "senders_per_channel"
        case rate, duration = "duration_s", warmup = "warmup_s", payloadBytes = "payload_bytes"
        case drainTimeout = "drain_timeout_s", eventLoops = "event_loops"
    }

    public var subscribers: Int { channels * subscribersPerChannel }
    public var senders: Int { channels * sendersPerChannel }
    /// Deliveries per second if every message reaches every subscriber of its channel.
    public var expectedDeliveryRate: Double { rate * Double(subscribersPerChannel) }

    /// Checks every field; the message names the flag to fix.
    public func validate() throws(BenchError) {
        func check(_ ok: Bool, _ message: String) throws(BenchError) { if !ok { throw BenchError(message) } }
        try check((1...10_000).contains(channels), "--channels must be from 1 to 10000")
        try check((1...100_000).contains(subscribersPerChannel), "--subscribers must be from 1 to 100000")
        try check(subscribers <= 200_000, "--channels × --subscribers must be at most 200000")
        try check((1...1_000).contains(sendersPerChannel), "--senders must be from 1 to 1000")
        try check(rate.isFinite && rate > 0 && rate <= 10_000_000, "--rate must be a number of messages per second above 0")
        try check(rate / Double(senders) <= 100_000, "--rate per sender must be at most 100000/s; add --senders")
        try check(duration.isFinite && duration > 0 && duration <= 86_400, "--duration must be from above 0 to 86400 seconds")
        try check(warmup.isFinite && warmup >= 0 && warmup <= 3_600, "--warmup must be from 0 to 3600 seconds")
        try check((Payload.minimumSize...65_536).contains(payloadBytes), "--payload must be from \(Payload.minimumSize) to 65536 bytes")
        try check(drainTimeout.isFinite && drainTimeout >= 0 && drainTimeout <= 600, "--drain-timeout must be from 0 to 600 seconds")
        try check((1...64).contains(eventLoops), "--event-loops must be from 1 to 64")
    }
}
