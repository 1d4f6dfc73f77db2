import Foundation

/// Everything one fan-out run measured, as printed and as written by `--json`.
public struct FanoutResult: Sendable, Codable {
    /// `chorus` or the peer's name.
    public var target: String
    public var endpoints: [String]
    public var workload: FanoutWorkload
    /// Seconds actually measured (the window after the warm-up).
    public var measuredSeconds: Double

    public var sent: Int
    public var acknowledged: Int
    public var sendErrors: [String: Int]
    /// Sends skipped because the sender had too many unanswered requests.
    public var backlogSkipped: Int

    /// Deliveries that arrived inside the measured window, and per second.
    public var delivered: Int
    public var endToEnd: LatencySummary
    public var sendAck: LatencySummary
    public var delivery: DeliveryCheck
    /// Subscribers the server closed during the run.
    public var disconnects: Int

    /// CPU seconds in the measured window: the server (summed over nodes; nil if it is not ours to read)
    /// and the load generator.
    public var serverCPUSeconds: Double?
    public var loadGeneratorCPUSeconds: Double
    /// The server's memory through the setup (nil if it is not ours to read).
    public var serverMemory: ServerMemory?
    /// The server's context switches in the measured window, all threads of all nodes (nil if it is
    /// not ours to read).
    public var serverContextSwitches: Int?
    /// What the server cost with every client connected and nothing sent, measured just before the
    /// warm-up (nil if it is not ours to read): its fixed cost (timers, heartbeats, keep-alives).
    public var serverIdle: ServerIdle?
    /// Where the server's CPU went in the measured window, by what its threads do (nil if it is
    /// not ours to read).
    public var serverThreads: ServerThreads?

    public init(
        target: String, endpoints: [String], workload: FanoutWorkload, measuredSeconds: Double, sent: Int,
        acknowledged: Int, sendErrors: [String: Int], backlogSkipped: Int, delivered: Int, endToEnd: LatencySummary,
        sendAck: LatencySummary, delivery: DeliveryCheck, disconnects: Int, serverCPUSeconds: Double?,
        loadGeneratorCPUSeconds: Double, serverMemory: ServerMemory? = nil, serverContextSwitches: Int? = nil,
        serverIdle: ServerIdle? = nil, serverThreads: ServerThreads? = nil
    ) {
        self.target = target
        self.endpoints = endpoints
        self.workload = workload
        self.measuredSeconds = measuredSeconds
        self.sent = sent
        self.acknowledged = acknowledged
        self.sendErrors = sendErrors
        self.backlogSkipped = backlogSkipped
        self.delivered = delivered
        self.endToEnd = endToEnd
        self.sendAck = sendAck
        self.delivery = delivery
        self.disconnects = disconnects
        self.serverCPUSeconds = serverCPUSeconds
        self.loadGeneratorCPUSeconds = loadGeneratorCPUSeconds
        self.serverMemory = serverMemory
        self.serverContextSwitches = serverContextSwitches
        self.serverIdle = serverIdle
        self.serverThreads = serverThreads
    }

    enum CodingKeys: String, CodingKey {
        case target, endpoints, workload, measuredSeconds = "measured_s", sent, acknowledged, sendErrors = "send_errors"
        case backlogSkipped = "backlog_skipped", delivered, deliveredPerSecond = "delivered_per_s"
        case endToEnd = "end_to_end", sendAck = "send_ack", delivery, disconnects
        case serverCPUSeconds = "server_cpu_s", loadGeneratorCPUSeconds = "load_generator_cpu_s"
        case serverCPUPerMillion = "server_cpu_s_per_million_deliveries", keptUp = "kept_up", serverMemory = "server_memory"
        case serverContextSwitches = "server_context_switches", serverContextSwitchesPerMessage = "server_context_switches_per_message"
        case serverIdle = "server_idle", serverCPUPerMillionAboveIdle = "server_cpu_s_per_million_deliveries_above_idle"
        case serverThreads = "server_threads"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(target, forKey: .target)
        try c.encode(endpoints, forKey: .endpoints)
        try c.encode(workload, forKey: .workload)
        try c.encode(measuredSeconds, forKey: .measuredSeconds)
        try c.encode(sent, forKey: .sent)
        try c.encode(acknowledged, forKey: .acknowledged)
        try c.encode(sendErrors, forKey: .sendErrors)
        try c.encode(backlogSkipped, forKey: .backlogSkipped)
        try c.encode(delivered, forKey: .delivered)
        try c.encode(deliveredPerSecond, forKey: .deliveredPerSecond)
        try c.encode(endToEnd, forKey: .endToEnd)
        try c.encode(sendAck, forKey: .sendAck)
        try c.encode(delivery, forKey: .delivery)
        try c.encode(disconnects, forKey: .disconnects)
        try c.encode(serverCPUSeconds, forKey: .serverCPUSeconds)
        try c.encode(loadGeneratorCPUSeconds, forKey: .loadGeneratorCPUSeconds)
        try c.encode(serverCPUPerMillion, forKey: .serverCPUPerMillion)
        try c.encode(keptUp, forKey: .keptUp)
        try c.encodeIfPresent(serverMemory, forKey: .serverMemory)
        try c.encodeIfPresent(serverContextSwitches, forKey: .serverContextSwitches)
        try c.encodeIfPresent(serverContextSwitchesPerMessage, forKey: .serverContextSwitchesPerMessage)
        try c.encodeIfPresent(serverIdle, forKey: .serverIdle)
        try c.encodeIfPresent(serverCPUPerMillionAboveIdle, forKey: .serverCPUPerMillionAboveIdle)
        try c.encodeIfPresent(serverThreads, forKey: .serverThreads)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            target: try c.decode(String.self, forKey: .target), endpoints: try c.decode([String].self, forKey: .endpoints),
            workload: try c.decode(FanoutWorkload.self, forKey: .workload),
            measuredSeconds: try c.decode(Double.self, forKey: .measuredSeconds), sent: try c.decode(Int.self, forKey: .sent),
            acknowledged: try c.decode(Int.self, forKey: .acknowledged),
            sendErrors: try c.decode([String: Int].self, forKey: .sendErrors),
            backlogSkipped: try c.decode(Int.self, forKey: .backlogSkipped), delivered: try c.decode(Int.self, forKey: .delivered),
            endToEnd: try c.decode(LatencySummary.self, forKey: .endToEnd), sendAck: try c.decode(LatencySummary.self, forKey: .sendAck),
            delivery: try c.decode(DeliveryCheck.self, forKey: .delivery), disconnects: try c.decode(Int.self, forKey: .disconnects),
            serverCPUSeconds: try c.decodeIfPresent(Double.self, forKey: .serverCPUSeconds),
            loadGeneratorCPUSeconds: try c.decode(Double.self, forKey: .loadGeneratorCPUSeconds),
            serverMemory: try c.decodeIfPresent(ServerMemory.self, forKey: .serverMemory),
            serverContextSwitches: try c.decodeIfPresent(Int.self, forKey: .serverContextSwitches),
            serverIdle: try c.decodeIfPresent(ServerIdle.self, forKey: .serverIdle),
            serverThreads: try c.decodeIfPresent(ServerThreads.self, forKey: .serverThreads))
    }

    /// Deliveries inside the window per second.
    public var deliveredPerSecond: Double {
        measuredSeconds > 0 ? Double(delivered) / measuredSeconds : 0
    }

    /// Server CPU-seconds per million deliveries in the window.
    public var serverCPUPerMillion: Double? {
        guard let serverCPUSeconds, delivered > 0 else { return nil }
        return serverCPUSeconds / Double(delivered) * 1_000_000
    }

    /// Server CPU-seconds per million deliveries in the window beyond what the server spends idle
    /// over as long (its fixed cost): what one more delivery costs. Never below zero.
    public var serverCPUPerMillionAboveIdle: Double? {
        guard let serverCPUSeconds, let serverIdle, delivered > 0 else { return nil }
        return max(0, serverCPUSeconds - serverIdle.cpuSecondsPerSecond * measuredSeconds) / Double(delivered) * 1_000_000
    }

    /// Server context switches per message delivered in the window (its deliveries divided by the
    /// subscribers of a channel).
    public var serverContextSwitchesPerMessage: Double? {
        guard let serverContextSwitches, delivered > 0 else { return nil }
        return Double(serverContextSwitches) / (Double(delivered) / Double(workload.subscribersPerChannel))
    }

    /// Deliveries kept pace with the offered load: at least 95% of the expected rate arrived inside the
    /// window, nothing was lost, and no send was skipped or failed.
    public var keptUp: Bool {
        deliveredPerSecond >= 0.95 * workload.expectedDeliveryRate && delivery.passed
            && backlogSkipped == 0 && sendErrors.isEmpty && disconnects == 0
    }
}

/// The server's CPU in the measured window by what its threads do, summed over the nodes
/// (``FanoutResult/serverThreads``); the rest of ``FanoutResult/serverCPUSeconds`` is Swift's
/// cooperative pool (the actors and routes), the store's writes and timers.
public struct ServerThreads: Sendable, Codable, Equatable {
    /// CPU-seconds of NIO's event loops (threads named `NIO-…`): sockets, HTTP and WebSocket framing.
    public var eventLoopSeconds: Double?
    /// CPU-seconds of the write-ahead logs' writer threads (named ``walWriterName``): their writes
    /// and syncs. Nil when no node has one (a peer broker, or `storage: memory`).
    public var walWriterSeconds: Double?

    /// The name Chorus gives its WAL writer thread (`WriteAheadLog.writerThreadName`).
    public static let walWriterName = "chorus-wal"

    /// Whether a thread of this name is one of NIO's event loops (`NIO-ELT-…`, `NIO-SGLTN-…`).
    public static func isEventLoop(_ name: String) -> Bool { name.hasPrefix("NIO-") }

    public init(eventLoopSeconds: Double?, walWriterSeconds: Double?) {
        self.eventLoopSeconds = eventLoopSeconds
        self.walWriterSeconds = walWriterSeconds
    }

    /// What the threads of each process spent between two samples (each keyed by process id,
    /// then thread id), summed over the processes.
    public init(from start: [Int32: [Int32: ThreadCPU.Thread]], to end: [Int32: [Int32: ThreadCPU.Thread]]) {
        func sum(_ named: (String) -> Bool) -> Double? {
            end.reduce(nil as Double?) { total, process in
                guard let seconds = ThreadCPU.seconds(from: start[process.key] ?? [:], to: process.value, named: named) else { return total }
                return (total ?? 0) + seconds
            }
        }
        self.init(eventLoopSeconds: sum(Self.isEventLoop), walWriterSeconds: sum { $0 == Self.walWriterName })
    }

    enum CodingKeys: String, CodingKey {
        case eventLoopSeconds = "event_loops_s", walWriterSeconds = "wal_writer_s"
    }
}

/// The server's cost with every client connected and nothing sent (``FanoutResult/serverIdle``).
public struct ServerIdle: Sendable, Codable, Equatable {
    /// CPU-seconds per second, summed over the nodes.
    public var cpuSecondsPerSecond: Double
    /// Context switches per second, all threads of all nodes.
    public var contextSwitchesPerSecond: Double

    public init(cpuSecondsPerSecond: Double, contextSwitchesPerSecond: Double) {
        self.cpuSecondsPerSecond = cpuSecondsPerSecond
        self.contextSwitchesPerSecond = contextSwitchesPerSecond
    }

    enum CodingKeys: String, CodingKey {
        case cpuSecondsPerSecond = "cpu_s_per_s", contextSwitchesPerSecond = "context_switches_per_s"
    }
}
