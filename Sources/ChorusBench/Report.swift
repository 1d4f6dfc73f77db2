import Foundation

/// Text output: the final table of one run, a sweep, and the side-by-side comparison with a peer.
public enum Report {
    /// `12,345`.
    public static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return value < 0 ? "-" + out : out
    }

    /// `value` with `places` decimals, right-aligned to `width`; `-` if it is not finite.
    public static func fixed(_ value: Double, _ places: Int, width: Int = 0) -> String {
        let text = value.isFinite ? String(format: "%.\(places)f", value) : "-"
        return String(repeating: " ", count: max(0, width - text.count)) + text
    }

    /// The final table of one run.
    public static func table(_ r: FanoutResult) -> String {
        let w = r.workload
        var rows: [(String, String)] = [
            ("target", "\(r.target) at \(r.endpoints.joined(separator: ", "))"),
            ("workload", "\(w.channels) channel(s) × \(grouped(w.subscribersPerChannel)) subscribers, \(w.sendersPerChannel) sender(s) each, \(w.payloadBytes)-byte payload"),
            ("offered", "\(grouped(Int(w.rate))) msg/s for \(fixed(r.measuredSeconds, 1)) s (after \(fixed(w.warmup, 1)) s warm-up) → \(grouped(Int(w.expectedDeliveryRate))) deliveries/s expected"),
            ("sent / acked", "\(grouped(r.sent)) / \(grouped(r.acknowledged))" + (r.sendErrors.isEmpty ? "" : "  errors: " + r.sendErrors.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
                + (r.backlogSkipped > 0 ? "  skipped (backlog): \(grouped(r.backlogSkipped))" : "")),
            ("delivered", "\(grouped(Int(r.deliveredPerSecond.rounded()))) msg/s (\(grouped(r.delivered)) in the window)\(r.keptUp ? "" : "  — did not keep up")"),
            ("end-to-end", latencyLine(r.endToEnd)),
            ("send ack", latencyLine(r.sendAck)),
            ("delivery check", r.delivery.summary + (r.disconnects > 0 ? "; \(r.disconnects) subscribers disconnected" : "")),
        ]
        if r.sendErrors["HTTP 429"] != nil {
            rows.append(("hint", "HTTP 429: each sender offered \(fixed(w.rate / Double(w.senders), 0)) msg/s, over the server's per-user limit (limits.user_requests_per_second, default 50); raise it or add --senders"))
        }
        if let cpu = r.serverCPUSeconds {
            rows.append(("server CPU", "\(fixed(cpu, 2)) s (\(fixed(cpu / r.measuredSeconds * 100, 0))% of one core)" + (r.serverCPUPerMillion.map { ", \(fixed($0, 2)) s per million deliveries" } ?? "")))
        } else {
            rows.append(("server CPU", "not measured (the server is not a child of this run)"))
        }
        if let idle = r.serverIdle {
            rows.append((
                "server idle",
                "\(fixed(idle.cpuSecondsPerSecond * 1000, 1)) ms of CPU and \(grouped(Int(idle.contextSwitchesPerSecond.rounded()))) context switches a second with the clients connected and nothing sent"
                    + (r.serverCPUPerMillionAboveIdle.map { "; above that, \(fixed($0, 2)) s per million deliveries" } ?? "")))
        }
        // Only for a server whose threads were recognised (Chorus's; not a peer broker's).
        if let cpu = r.serverCPUSeconds, cpu > 0, let threads = r.serverThreads, threads.eventLoopSeconds != nil || threads.walWriterSeconds != nil {
            let share = { (seconds: Double) in "\(fixed(seconds / cpu * 100, 0))%" }
            var parts: [String] = []
            if let loops = threads.eventLoopSeconds { parts.append("event loops \(share(loops))") }
            if let wal = threads.walWriterSeconds { parts.append("WAL writer \(share(wal))") }
            let rest = max(0, cpu - (threads.eventLoopSeconds ?? 0) - (threads.walWriterSeconds ?? 0))
            parts.append("the rest \(share(rest)) (Swift's pool: actors and routes; the store's writes; timers)")
            rows.append(("server threads", parts.joined(separator: ", ")))
        }
        if let switches = r.serverContextSwitchesPerMessage {
            rows.append(("server switches", "\(fixed(switches, 1)) context switches per message (all threads; steadier than CPU time on a shared machine)"))
        }
        if let memory = r.serverMemory {
            let mib = { (bytes: Int) in fixed(Double(bytes) / 1_048_576, 1) }
            rows.append((
                "server memory",
                "RSS \(mib(memory.before)) → \(mib(memory.afterJoins)) MiB with the members → \(mib(memory.afterSockets)) MiB with the sockets: "
                    + "\(fixed(memory.perSocket / 1024, 1)) KiB per socket, \(fixed(memory.perUser / 1024, 1)) KiB with its user"))
        }
        let loadPerMillion = r.delivered > 0 ? r.loadGeneratorCPUSeconds / Double(r.delivered) * 1e6 : .nan
        rows.append(("load generator CPU", "\(fixed(r.loadGeneratorCPUSeconds, 2)) s (\(fixed(r.loadGeneratorCPUSeconds / r.measuredSeconds * 100, 0))% of one core), \(fixed(loadPerMillion, 2)) s per million deliveries"))
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
    }

    static func latencyLine(_ l: LatencySummary) -> String {
        guard l.count > 0 else { return "no samples" }
        return "p50 \(fixed(l.p50, 2))  p90 \(fixed(l.p90, 2))  p99 \(fixed(l.p99, 2))  p99.9 \(fixed(l.p999, 2))  max \(fixed(l.max, 2)) ms  (\(grouped(Int(l.count))) samples)"
    }

    /// One row per run: the sweep table, and the peer comparison.
    public static func rows(_ results: [FanoutResult]) -> String {
        let header = ["target", "offered/s", "delivered/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "ack p99 ms", "srv CPU s/M", "gen CPU s/M", "check"]
        var lines = [header]
        for r in results {
            let loadPerMillion = r.delivered > 0 ? r.loadGeneratorCPUSeconds / Double(r.delivered) * 1e6 : .nan
            lines.append([
                r.target, grouped(Int(r.workload.rate)), grouped(Int(r.deliveredPerSecond.rounded())),
                fixed(r.endToEnd.p50, 2), fixed(r.endToEnd.p90, 2), fixed(r.endToEnd.p99, 2), fixed(r.endToEnd.p999, 2), fixed(r.endToEnd.max, 1),
                fixed(r.sendAck.p99, 2), r.serverCPUPerMillion.map { fixed($0, 2) } ?? "-", fixed(loadPerMillion, 2),
                r.delivery.passed && r.disconnects == 0 ? "ok" : "FAILED",
            ])
        }
        let widths = header.indices.map { column in lines.map { $0[column].count }.max() ?? 0 }
        return lines.map { line in
            line.enumerated().map { column, cell in
                column == 0 ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// Chorus against a peer at the same offered load: both rows, then the ratios (peer ÷ Chorus; above 1
    /// means Chorus did better for costs and latencies).
    public static func comparison(chorus: FanoutResult, peer: FanoutResult) -> String {
        var text = rows([chorus, peer]) + "\n\n"
        func ratio(_ a: Double?, _ b: Double?) -> String {
            guard let a, let b, a > 0 else { return "-" }
            return fixed(b / a, 2) + "×"
        }
        text += "\(peer.target) ÷ chorus: server CPU per delivery \(ratio(chorus.serverCPUPerMillion, peer.serverCPUPerMillion)), "
        text += "context switches per message \(ratio(chorus.serverContextSwitchesPerMessage, peer.serverContextSwitchesPerMessage)), "
        text += "p50 \(ratio(chorus.endToEnd.p50, peer.endToEnd.p50)), p99 \(ratio(chorus.endToEnd.p99, peer.endToEnd.p99)), "
        text += "delivered/s \(ratio(chorus.deliveredPerSecond, peer.deliveredPerSecond))"
        if chorus.workload.rate != peer.workload.rate || chorus.workload.subscribersPerChannel != peer.workload.subscribersPerChannel {
            text += "\nwarning: the two runs had different workloads; the ratios compare unlike things"
        }
        return text
    }
}
