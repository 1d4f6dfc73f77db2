import ChorusAuth
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// The server a run talks to.
public enum BenchTarget: Sendable {
    /// Chorus nodes (one or several edges of a cluster); tokens are signed with the JWT secret.
    case chorus(endpoints: [Endpoint], jwtSecret: String, name: String = "chorus")
    /// An MQTT broker's WebSocket listener (the peer comparison); one topic per channel.
    case mqtt(endpoint: Endpoint, name: String)

    public var name: String {
        switch self {
        case .chorus(_, _, let name), .mqtt(_, let name): name
        }
    }

    public var endpoints: [Endpoint] {
        switch self {
        case .chorus(let endpoints, _, _): endpoints
        case .mqtt(let endpoint, _): [endpoint]
        }
    }
}

/// One fan-out run: set up channels and subscribers, send on an open-loop schedule, measure, check.
public struct FanoutBenchmark: Sendable {
    public var target: BenchTarget
    public var workload: FanoutWorkload
    /// Server processes whose CPU time is measured (empty when the server is not ours to read).
    public var serverPIDs: [Int32]
    /// Receives a progress line about once a second, and setup notes.
    public var progress: @Sendable (String) -> Void

    public init(target: BenchTarget, workload: FanoutWorkload, serverPIDs: [Int32] = [], progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.target = target
        self.workload = workload
        self.serverPIDs = serverPIDs
        self.progress = progress
    }

    public func run() async throws -> FanoutResult {
        try workload.validate()
        if case .mqtt = target, workload.sendersPerChannel != 1 {
            throw BenchError("--senders must be 1 for an MQTT peer: QoS 1 orders one publisher's messages only")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: workload.eventLoops)
        do {
            let result = try await run(on: group)
            try? await group.shutdownGracefully()
            return result
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private func run(on group: MultiThreadedEventLoopGroup) async throws -> FanoutResult {
        let loops = Array(group.makeIterator())
        var stats: [NIOLoopBound<LoopStats>] = []
        for loop in loops { stats.append(try await loop.submit { NIOLoopBound(LoopStats(), eventLoop: loop) }.get()) }
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 36)

        let connections = ConnectionBag()
        do {
            let result = try await measure(runID: runID, loops: loops, stats: stats, connections: connections)
            await connections.closeAll()
            return result
        } catch {
            await connections.closeAll()
            throw error
        }
    }

    private func measure(runID: String, loops: [any EventLoop], stats: [NIOLoopBound<LoopStats>], connections: ConnectionBag) async throws -> FanoutResult {
        // 1. Channels and memberships (Chorus), then subscribers, then senders.
        let setupStart = monotonicNanos()
        let memoryBefore = serverRSS()
        let channelIDs = try await prepareChannels(runID: runID, loops: loops, connections: connections)
        let memoryAfterJoins = serverRSS()
        progress("subscribing \(workload.subscribers) WebSocket clients")
        try await connectSubscribers(runID: runID, channelIDs: channelIDs, loops: loops, stats: stats, connections: connections)
        var memory: ServerMemory?
        if let memoryBefore, let memoryAfterJoins {
            try await Task.sleep(for: .seconds(1))  // what opening a socket sets off (presence) settles
            memory = serverRSS().map { ServerMemory(before: memoryBefore, afterJoins: memoryAfterJoins, afterSockets: $0, sockets: workload.subscribers) }
        }
        let senders = try await connectSenders(runID: runID, channelIDs: channelIDs, loops: loops, stats: stats, connections: connections)
        progress(String(format: "setup took %.1f s", Double(monotonicNanos() - setupStart) / 1e9))
        let idle = try await serverIdle()

        // 2. The schedule: warm-up, then the measured window.
        let start = monotonicNanos() + 100_000_000
        let windowStart = start + UInt64(workload.warmup * 1e9)
        let windowEnd = windowStart + UInt64(workload.duration * 1e9)
        for (loop, box) in zip(loops, stats) {
            try await loop.submit {
                box.value.windowStart = windowStart
                box.value.windowEnd = windowEnd
            }.get()
        }
        let perSender = workload.rate / Double(workload.senders)
        let tick = TimeAmount.nanoseconds(Int64(min(10_000_000, max(1_000_000, 1e9 / perSender))))
        for (index, sender) in senders.enumerated() {
            let loop = sender.loop
            // Senders are staggered evenly over one send interval: together they send at an even
            // pace instead of all at once every 1/rate-per-sender seconds.
            let phase = UInt64(Double(index) / Double(senders.count) * 1e9 / perSender)
            let schedule = try await loop.submit {
                NIOLoopBound(
                    SenderSchedule(
                        transport: sender.transport(), stats: sender.stats.value, rate: perSender, start: start + phase, end: windowEnd,
                        payloadBytes: workload.payloadBytes),
                    eventLoop: loop)
            }.get()
            // Each schedule ends itself after its last send (at the window's end).
            loop.scheduleRepeatedTask(initialDelay: .zero, delay: tick) { task in
                if !schedule.value.tick() { task.cancel() }
            }
        }

        // 3. Progress until the window closes; CPU is read at its edges.
        var serverCPUStart: Double?
        var serverSwitchesStart: Int?
        var serverThreadsStart: [Int32: [Int32: ThreadCPU.Thread]]?
        var serverThreads: ServerThreads?
        var loadCPUStart = 0.0
        var serverCPUEnd: Double?
        var serverSwitchesEnd: Int?
        var loadCPUEnd = 0.0
        var sampledStart = false
        var nextLine = start + 1_000_000_000
        var previous = LoadCounts()
        var previousAt = start
        while true {
            let now = monotonicNanos()
            let wake = min(nextLine, sampledStart ? windowEnd : windowStart, windowEnd)
            if wake > now { try await Task.sleep(nanoseconds: wake - now) }
            let at = monotonicNanos()
            if !sampledStart && at >= windowStart {
                serverCPUStart = serverCPU()
                serverSwitchesStart = summedOverServers(ContextSwitches.process)
                serverThreadsStart = serverThreadSample()
                loadCPUStart = CPUTime.current()
                sampledStart = true
            }
            if at >= windowEnd {
                serverCPUEnd = serverCPU()
                serverSwitchesEnd = summedOverServers(ContextSwitches.process)
                if let start = serverThreadsStart, let end = serverThreadSample() { serverThreads = ServerThreads(from: start, to: end) }
                loadCPUEnd = CPUTime.current()
                break
            }
            if at >= nextLine {
                let snapshot = try await gather(loops: loops, stats: stats, resetInterval: true)
                progress(progressLine(snapshot, previous: previous, seconds: Double(at - previousAt) / 1e9, elapsed: Double(at - start) / 1e9, windowStart: windowStart, windowEnd: windowEnd, now: at))
                previous = snapshot
                previousAt = at
                nextLine += 1_000_000_000
            }
        }
        // 4. Drain: wait for the last acknowledgements and deliveries.
        let drainDeadline = monotonicNanos() + UInt64(workload.drainTimeout * 1e9)
        var caughtUp = false
        while monotonicNanos() < drainDeadline {
            let snapshot = try await gather(loops: loops, stats: stats, resetInterval: false)
            if snapshot.activeSenders == 0, snapshot.outstanding == 0, try await allDelivered(loops: loops, stats: stats) {
                caughtUp = true
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        if !caughtUp { progress("drain timed out after \(workload.drainTimeout) s; what is missing is reported as lost") }

        // 5. The result.
        return try await result(loops: loops, stats: stats, measured: Double(windowEnd - windowStart) / 1e9,
                                serverCPU: serverCPUStart.flatMap { s in serverCPUEnd.map { $0 - s } },
                                serverSwitches: serverSwitchesStart.flatMap { s in serverSwitchesEnd.map { max(0, $0 - s) } },
                                loadCPU: loadCPUEnd - loadCPUStart, memory: memory, idle: idle, threads: serverThreads)
    }

    /// The servers' CPU and context switches a second over ``idleWindow`` with every client
    /// connected and nothing sent (nil if they are not ours to read).
    private func serverIdle() async throws -> ServerIdle? {
        let started = monotonicNanos()
        guard let cpu = serverCPU(), let switches = summedOverServers(ContextSwitches.process) else { return nil }
        try await Task.sleep(for: Self.idleWindow)
        let seconds = Double(monotonicNanos() - started) / 1e9
        guard let cpuAfter = serverCPU(), let switchesAfter = summedOverServers(ContextSwitches.process) else { return nil }
        return ServerIdle(cpuSecondsPerSecond: max(0, cpuAfter - cpu) / seconds, contextSwitchesPerSecond: Double(max(0, switchesAfter - switches)) / seconds)
    }

    /// How long the servers' idle cost is measured before the warm-up.
    static let idleWindow = Duration.seconds(1)

    /// Every thread of every server process, by process id (nil if not ours to read).
    private func serverThreadSample() -> [Int32: [Int32: ThreadCPU.Thread]]? { perServer(ThreadCPU.process) }

    /// The servers' resident memory, summed (nil if not ours to read).
    private func serverRSS() -> Int? { summedOverServers(ResidentMemory.process) }

    /// The servers' CPU seconds, summed (nil if not ours to read).
    private func serverCPU() -> Double? { summedOverServers(CPUTime.process) }

    /// `read` of every server process, summed; nil without servers or if one cannot be read.
    private func summedOverServers<T: AdditiveArithmetic>(_ read: (Int32) -> T?) -> T? {
        perServer(read)?.values.reduce(.zero, +)
    }

    /// `read` of every server process, by process id; nil without servers or if one cannot be read.
    private func perServer<T>(_ read: (Int32) -> T?) -> [Int32: T]? {
        guard !serverPIDs.isEmpty else { return nil }
        var values: [Int32: T] = [:]
        for pid in serverPIDs {
            guard let value = read(pid) else { return nil }
            values[pid] = value
        }
        return values
    }

    // MARK: Gathering

    private func gather(loops: [any EventLoop], stats: [NIOLoopBound<LoopStats>], resetInterval: Bool) async throws -> LoadCounts {
        var total = LoadCounts()
        for (loop, box) in zip(loops, stats) {
            total = total + (try await loop.submit { () -> LoadCounts in
                let counts = box.value.counts
                if resetInterval { box.value.counts.interval.reset() }
                return counts
            }.get())
        }
        return total
    }

    private func acknowledgedRanges(loops: [any EventLoop], stats: [NIOLoopBound<LoopStats>]) async throws -> [Int: ClosedRange<UInt64>] {
        var merged: [Int: ClosedRange<UInt64>] = [:]
        for (loop, box) in zip(loops, stats) {
            let ranges = try await loop.submit { box.value.acknowledged }.get()
            merged.merge(ranges) { min($0.lowerBound, $1.lowerBound)...max($0.upperBound, $1.upperBound) }
        }
        return merged
    }

    private func allDelivered(loops: [any EventLoop], stats: [NIOLoopBound<LoopStats>]) async throws -> Bool {
        let ranges = try await acknowledgedRanges(loops: loops, stats: stats)
        for (loop, box) in zip(loops, stats) {
            let done = try await loop.submit {
                zip(box.value.trackers, box.value.trackerChannels).allSatisfy { tracker, channel in
                    guard let range = ranges[channel] else { return true }
                    return tracker.last >= range.upperBound
                }
            }.get()
            if !done { return false }
        }
        return true
    }

    private func result(
        loops: [any EventLoop], stats: [NIOLoopBound<LoopStats>], measured: Double, serverCPU: Double?, serverSwitches: Int?, loadCPU: Double,
        memory: ServerMemory?, idle: ServerIdle?, threads: ServerThreads?
    ) async throws -> FanoutResult {
        let ranges = try await acknowledgedRanges(loops: loops, stats: stats)
        let totals = try await gather(loops: loops, stats: stats, resetInterval: false)
        var endToEnd = LatencyHistogram()
        var ack = LatencyHistogram()
        var check = DeliveryCheck()
        for (loop, box) in zip(loops, stats) {
            let (e2e, acks, loopCheck) = try await loop.submit { () -> (LatencyHistogram, LatencyHistogram, DeliveryCheck) in
                let s = box.value
                let check = zip(s.trackers, s.trackerChannels).reduce(DeliveryCheck()) { sum, pair in
                    sum + pair.0.check(expected: ranges[pair.1])
                }
                return (s.endToEnd, s.ack, check)
            }.get()
            endToEnd.add(e2e)
            ack.add(acks)
            check = check + loopCheck
        }
        return FanoutResult(
            target: target.name, endpoints: target.endpoints.map(\.description), workload: workload, measuredSeconds: measured,
            sent: totals.sent, acknowledged: totals.acked, sendErrors: totals.sendErrors, backlogSkipped: totals.backlogSkipped,
            delivered: totals.deliveredInWindow, endToEnd: endToEnd.summary, sendAck: ack.summary, delivery: check,
            disconnects: totals.disconnects, serverCPUSeconds: serverCPU, loadGeneratorCPUSeconds: loadCPU, serverMemory: memory,
            serverContextSwitches: serverSwitches, serverIdle: idle, serverThreads: threads)
    }

    private func progressLine(_ s: LoadCounts, previous: LoadCounts, seconds: Double, elapsed: Double, windowStart: UInt64, windowEnd: UInt64, now: UInt64) -> String {
        let phase = now < windowStart ? "warm-up  " : "measuring"
        let perSecond = { (value: Int, before: Int) in Int((Double(value - before) / max(seconds, 0.001)).rounded()) }
        let latency = s.interval.summary
        let errors = s.sendErrors.values.reduce(0, +) + s.backlogSkipped
        return "\(Report.fixed(elapsed, 1, width: 5))s \(phase)  sent \(Report.grouped(perSecond(s.sent, previous.sent)))/s"
            + "  acked \(Report.grouped(perSecond(s.acked, previous.acked)))/s"
            + "  delivered \(Report.grouped(perSecond(s.delivered, previous.delivered)))/s"
            + "  e2e p50 \(Report.fixed(latency.p50, 2)) ms  p99 \(Report.fixed(latency.p99, 2)) ms  max \(Report.fixed(latency.max, 1)) ms"
            + "  errors \(errors)"
    }
}

/// Runs `body` for 0..<count with at most `limit` at a time; results in index order; the first error wins.
func concurrently<T: Sendable>(_ count: Int, limit: Int, _ body: @escaping @Sendable (Int) async throws -> T) async throws -> [T] {
    try await withThrowingTaskGroup(of: (Int, T).self) { group in
        var results = [T?](repeating: nil, count: count)
        var next = 0
        while next < min(limit, count) {
            let n = next
            group.addTask { (n, try await body(n)) }
            next += 1
        }
        while let (n, value) = try await group.next() {
            results[n] = value
            if next < count {
                let m = next
                group.addTask { (m, try await body(m)) }
                next += 1
            }
        }
        return results.map { $0! }
    }
}
