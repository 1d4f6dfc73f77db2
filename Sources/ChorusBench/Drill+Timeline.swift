extension Drill {
    /// Acknowledged sends over time, in buckets of 100 ms, for the plot and the JSON.
    public enum Timeline {
        /// One acknowledged send: when its 201 arrived (seconds since the drill started) and how long
        /// it took from its first attempt (retries included).
        public struct Sample: Sendable, Equatable {
            public var at: Double
            public var latencyMs: Double

            public init(at: Double, latencyMs: Double) {
                self.at = at
                self.latencyMs = latencyMs
            }
        }

        /// Buckets of `width` seconds from 0 to `end`: acknowledgements and their p99 latency. A sample
        /// past `end` falls into the last bucket.
        public static func buckets(_ samples: [Sample], width: Double = 0.1, until end: Double) -> [TimelineBucket] {
            let count = max(Int((end / width).rounded(.up)), 1)
            var latencies = [[Double]](repeating: [], count: count)
            for sample in samples {
                let index = min(max(Int(sample.at / width), 0), count - 1)
                latencies[index].append(sample.latencyMs)
            }
            return latencies.enumerated().map { index, values in
                TimelineBucket(startS: (Double(index) * width * 1000).rounded() / 1000, acks: values.count, p99Ms: Windows.percentile(values, 99))
            }
        }
    }

    /// Acknowledgements in one slice of time.
    public struct TimelineBucket: Sendable, Equatable, Codable {
        /// Seconds since the drill started.
        public var startS: Double
        public var acks: Int
        /// The p99 latency of the sends acknowledged in it; nil when there were none.
        public var p99Ms: Double?

        public init(startS: Double, acks: Int, p99Ms: Double?) {
            self.startS = startS
            self.acks = acks
            self.p99Ms = p99Ms
        }

        enum CodingKeys: String, CodingKey { case startS = "start_s", acks, p99Ms = "p99_ms" }
    }

    /// One fault on the timeline: from the moment it was injected to the node's rejoin (or SIGCONT,
    /// then rejoin, for a pause).
    public struct FaultMark: Sendable, Equatable, Codable {
        public var round: Int
        public var fault: Fault
        public var target: String
        /// Seconds since the drill started.
        public var startS: Double
        /// When the node had rejoined; nil if it never did.
        public var endS: Double?

        public init(round: Int, fault: Fault, target: String, startS: Double, endS: Double?) {
            self.round = round
            self.fault = fault
            self.target = target
            self.startS = startS
            self.endS = endS
        }

        enum CodingKeys: String, CodingKey { case round, fault, target, startS = "start_s", endS = "end_s" }
    }
}
