extension Drill {
    /// How long each channel could not be written around a fault.
    ///
    /// A channel's window runs from its last acknowledged send at or before the fault to its first one
    /// after it (times of the 201s). A channel the fault did not touch still shows about one send
    /// interval (`channels / rate`): that is the resolution of the measurement, not downtime.
    public enum Windows {
        /// Each channel's window in seconds, from its acknowledgement times (`successes[channel]`, any
        /// order) and the moment of the fault; nil for a channel with no acknowledged send after it.
        /// A channel with none before the fault is counted from the fault.
        public static func compute(successes: [[Double]], faultAt: Double) -> [Double?] {
            successes.map { times in
                let before = times.filter { $0 <= faultAt }.max()
                guard let after = times.filter({ $0 > faultAt }).min() else { return nil }
                return after - (before ?? faultAt)
            }
        }

        /// The nearest-rank percentile `p` (0–100) of `values`; nil for none.
        public static func percentile(_ values: [Double], _ p: Double) -> Double? {
            guard !values.isEmpty else { return nil }
            let sorted = values.sorted()
            let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
            return sorted[min(max(rank - 1, 0), sorted.count - 1)]
        }

        /// p50, p99 and max of the windows in milliseconds, and how many channels never recovered.
        public static func summary(_ windows: [Double?]) -> WindowSummary {
            let measured = windows.compactMap { $0 }.map { $0 * 1000 }
            return WindowSummary(
                channels: windows.count, unrecovered: windows.count - measured.count,
                p50Ms: percentile(measured, 50), p99Ms: percentile(measured, 99), maxMs: measured.max())
        }
    }

    /// The unavailable windows of one round, over its channels.
    public struct WindowSummary: Sendable, Equatable, Codable {
        public var channels: Int
        /// Channels without an acknowledged send between the fault and the end of the round's load.
        public var unrecovered: Int
        public var p50Ms: Double?
        public var p99Ms: Double?
        public var maxMs: Double?

        public init(channels: Int, unrecovered: Int, p50Ms: Double?, p99Ms: Double?, maxMs: Double?) {
            self.channels = channels
            self.unrecovered = unrecovered
            self.p50Ms = p50Ms
            self.p99Ms = p99Ms
            self.maxMs = maxMs
        }

        enum CodingKeys: String, CodingKey { case channels, unrecovered, p50Ms = "p50_ms", p99Ms = "p99_ms", maxMs = "max_ms" }
    }
}
