extension ChorusConfiguration {
    /// WebSocket sessions: heartbeats, limits and backpressure (`realtime:` in YAML).
    public struct Realtime: Sendable, Equatable, Decodable {
        /// Seconds between `health` frames; sent to clients in `hello` (default 25; at most 30).
        public var heartbeatIntervalSeconds = 25.0
        /// A socket whose peer answers no WebSocket ping for this long is closed (default 60).
        public var idleTimeoutSeconds = 60.0
        /// Largest client frame in bytes; a larger one closes the socket with 1009 (default 65,536).
        public var maxInboundFrameBytes = 65536
        /// Open sockets per user on this node; more are refused with 1008 (default 16).
        public var maxSocketsPerUser = 16
        /// Bytes of events queued for one socket before it counts as slow (default 1 MiB).
        public var outboundBufferBytes = 1 << 20
        /// Seconds a socket may stay over its buffer before it is closed with 1008 (default 10).
        /// Queueing twice the buffer closes it at once.
        public var slowConsumerGraceSeconds = 10.0
        /// Milliseconds after `hello` during which events wait for the first frame (a `resume`) of
        /// a client that announced one (`?resume=1`), so replay and live events stitch without a
        /// gap or duplicate (default 1,000).
        public var resumeWindowMilliseconds = 1000
        /// Recent events each channel keeps for resuming clients (default 1,000).
        public var replayEvents = 1000
        /// Seconds to wait for a client's close reply, and for queued frames to drain at shutdown (default 5).
        public var closeTimeoutSeconds = 5.0
        /// Channels one socket may watch without being a member (public channels; default 1,000).
        public var maxWatchedChannels = 1000
        /// The least time in milliseconds between two writes to one socket (default 5; 0 writes
        /// every event at once). Events that reach a socket sooner after its last write wait for the
        /// interval's end and go out in one write: busy sockets cost fewer writes, quiet ones no delay.
        public var writeIntervalMilliseconds = 5

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case heartbeatIntervalSeconds = "heartbeat_interval_seconds", idleTimeoutSeconds = "idle_timeout_seconds"
            case maxInboundFrameBytes = "max_inbound_frame_bytes", maxSocketsPerUser = "max_sockets_per_user"
            case outboundBufferBytes = "outbound_buffer_bytes", slowConsumerGraceSeconds = "slow_consumer_grace_seconds"
            case resumeWindowMilliseconds = "resume_window_ms", replayEvents = "replay_events"
            case closeTimeoutSeconds = "close_timeout_seconds", maxWatchedChannels = "max_watched_channels"
            case writeIntervalMilliseconds = "write_interval_ms"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.configurationSection(CodingKeys.self)
            try c.update(&heartbeatIntervalSeconds, .heartbeatIntervalSeconds)
            try c.update(&idleTimeoutSeconds, .idleTimeoutSeconds)
            try c.update(&maxInboundFrameBytes, .maxInboundFrameBytes)
            try c.update(&maxSocketsPerUser, .maxSocketsPerUser)
            try c.update(&outboundBufferBytes, .outboundBufferBytes)
            try c.update(&slowConsumerGraceSeconds, .slowConsumerGraceSeconds)
            try c.update(&resumeWindowMilliseconds, .resumeWindowMilliseconds)
            try c.update(&replayEvents, .replayEvents)
            try c.update(&closeTimeoutSeconds, .closeTimeoutSeconds)
            try c.update(&maxWatchedChannels, .maxWatchedChannels)
            try c.update(&writeIntervalMilliseconds, .writeIntervalMilliseconds)
        }

        /// Checks value ranges; `source` names the file in errors.
        func validate(check: (Bool, String, String) throws -> Void) throws {
            try check(heartbeatIntervalSeconds > 0 && heartbeatIntervalSeconds <= 30, "realtime.heartbeat_interval_seconds", "must be in (0, 30]")
            try check(idleTimeoutSeconds > 0, "realtime.idle_timeout_seconds", "must be positive")
            try check(maxInboundFrameBytes >= 1024, "realtime.max_inbound_frame_bytes", "must be at least 1024")
            try check(maxSocketsPerUser >= 1, "realtime.max_sockets_per_user", "must be at least 1")
            try check(outboundBufferBytes >= 4096, "realtime.outbound_buffer_bytes", "must be at least 4096")
            try check(slowConsumerGraceSeconds >= 0, "realtime.slow_consumer_grace_seconds", "must not be negative")
            try check(resumeWindowMilliseconds >= 0, "realtime.resume_window_ms", "must not be negative")
            try check(replayEvents >= 1, "realtime.replay_events", "must be at least 1")
            try check(closeTimeoutSeconds > 0, "realtime.close_timeout_seconds", "must be positive")
            try check(maxWatchedChannels >= 1, "realtime.max_watched_channels", "must be at least 1")
            try check((0...1000).contains(writeIntervalMilliseconds), "realtime.write_interval_ms", "must be in [0, 1000]")
        }
    }
}

extension Double {
    /// These seconds as a `Duration`, to the millisecond.
    var secondsDuration: Duration { .milliseconds(Int64((self * 1000).rounded())) }
}
