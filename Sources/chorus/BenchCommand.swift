import ArgumentParser
import ChorusBench
import Foundation

/// `chorus bench`: load benchmarks against a running node or cluster, or one started for the run.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Load-benchmark message fan-out (see docs/benchmarks.md).",
        subcommands: [Fanout.self, Compare.self, Plot.self])

    struct Fanout: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fanout",
            abstract: "Senders post to channels at a fixed rate; WebSocket subscribers receive every message.",
            discussion: """
                Give the server with exactly one of --spawn (a single node started for the run), --cluster FILE \
                (every node of a cluster file, started for the run) or --url (a running node; repeat it or list \
                several, comma-separated, to spread clients over a cluster's nodes; tokens are signed with \
                CHORUS_JWT_SECRET). --protocol mqtt --url ws://HOST:PORT measures an MQTT broker's WebSocket \
                listener with the same workload instead.

                Examples:
                  chorus bench fanout --spawn
                  chorus bench fanout --spawn --subscribers 1000 --rates 50,100,200,400 --plot sweep.png
                  chorus bench fanout --cluster cluster.example.yaml --json cluster.json
                """)

        @Flag(help: "Start a single node for the run (a scratch data directory; removed afterwards).")
        var spawn = false

        @Option(help: "Start every node of this cluster config for the run.")
        var cluster: String?

        @Option(parsing: .singleValue, help: "A running server: http://HOST:PORT (Chorus) or ws://HOST:PORT/PATH (--protocol mqtt).")
        var url: [String] = []

        @Option(help: "chorus (the v1 API) or mqtt (MQTT 3.1.1 over WebSocket, for peer brokers).")
        var `protocol`: String = "chorus"

        @Option(help: "The target's name in the results (default: chorus, or mqtt).")
        var name: String?

        @Option(name: .customLong("server-pid"), parsing: .singleValue, help: "A process of a running server whose CPU time to measure (repeatable).")
        var serverPID: [Int32] = []

        @Option(help: "Channels, each with its own subscribers and senders.")
        var channels = 1

        @Option(help: "WebSocket subscribers per channel.")
        var subscribers = 200

        @Option(help: "Senders per channel.")
        var senders = 1

        @Option(help: "Offered messages per second over all channels.")
        var rate = 200.0

        @Option(help: "Sweep: a comma-separated list of rising rates, run one after another until the knee.")
        var rates: String?

        @Option(help: "Seconds to measure after the warm-up.")
        var duration: Double?

        @Option(help: "Messages to measure (instead of --duration): the duration is this divided by the rate.")
        var messages: Int?

        @Option(help: "Message body size in bytes.")
        var payload = 64

        @Option(help: "Seconds of sending before measuring.")
        var warmup = 2.0

        @Option(name: .customLong("drain-timeout"), help: "Seconds to wait for the last deliveries.")
        var drainTimeout = 10.0

        @Option(name: .customLong("event-loops"), help: "Load-generator threads. (default: the number of cores)")
        var eventLoops: Int?

        @Option(name: .customLong("p99-limit"), help: "Sweep: milliseconds of p99 end-to-end latency that mark the knee.")
        var p99Limit = 50.0

        @Option(help: "Write every run's results to this JSON file.")
        var json: String?

        @Option(help: "Draw latency percentiles against delivered rate into this PNG file.")
        var plot: String?

        func validate() throws {
            let sources = (spawn ? 1 : 0) + (cluster != nil ? 1 : 0) + (url.isEmpty ? 0 : 1)
            guard sources == 1 else { throw ValidationError("give exactly one of --spawn, --cluster FILE or --url URL") }
            guard ["chorus", "mqtt"].contains(`protocol`) else { throw ValidationError("--protocol must be chorus or mqtt") }
            if `protocol` == "mqtt" && url.count != 1 { throw ValidationError("--protocol mqtt needs one --url ws://HOST:PORT of the broker") }
            if duration != nil && messages != nil { throw ValidationError("give --duration or --messages, not both") }
            if let messages, messages < 1 { throw ValidationError("--messages must be at least 1") }
            if rates != nil && messages != nil { throw ValidationError("--messages does not combine with --rates; use --duration") }
            if !(p99Limit > 0) { throw ValidationError("--p99-limit must be above 0 milliseconds") }
            do {
                if let rates { _ = try Sweep.parseRates(rates) }
                _ = try endpoints()
                try workload(rate: rate).validate()
            } catch {
                throw ValidationError(error.description)
            }
        }

        /// `--url` values; several may be given comma-separated.
        func endpoints() throws(BenchError) -> [Endpoint] {
            var endpoints: [Endpoint] = []
            for text in url.flatMap({ $0.split(separator: ",") }) { endpoints.append(try Endpoint(url: String(text))) }
            return endpoints
        }

        func workload(rate: Double) -> FanoutWorkload {
            var workload = FanoutWorkload()
            workload.channels = channels
            workload.subscribersPerChannel = subscribers
            workload.sendersPerChannel = senders
            workload.rate = rate
            workload.duration = messages.map { Double($0) / rate } ?? duration ?? workload.duration
            workload.payloadBytes = payload
            workload.warmup = warmup
            workload.drainTimeout = drainTimeout
            workload.eventLoops = eventLoops ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
            return workload
        }

        func run() async throws {
            let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            var server: SpawnedServer?
            if spawn {
                say("starting a single node")
                server = try await SpawnedServer.single(executable: executable)
            } else if let cluster {
                say("starting the nodes of \(cluster)")
                server = try await SpawnedServer.cluster(executable: executable, configPath: cluster)
            }
            // Ctrl-C or SIGTERM must not leave the spawned nodes running.
            let spawned = server
            signal(SIGINT, SIG_IGN)
            signal(SIGTERM, SIG_IGN)
            let signals = [SIGINT, SIGTERM].map { (number: Int32) -> any DispatchSourceSignal in
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler {
                    if let spawned {
                        FileHandle.standardError.write(Data("\nstopping the spawned nodes\n".utf8))
                        spawned.stopNow()
                    }
                    Foundation.exit(130)
                }
                source.resume()
                return source
            }
            defer { for source in signals { source.cancel() } }
            do {
                try await measure(server: server)
                await server?.stop()
            } catch {
                if let server { FileHandle.standardError.write(Data("server log:\n\(server.logTail)\n".utf8)) }
                await server?.stop()
                throw error
            }
        }

        private func measure(server: SpawnedServer?) async throws {
            let target: BenchTarget
            if `protocol` == "mqtt" {
                target = .mqtt(endpoint: try endpoints()[0], name: name ?? "mqtt")
            } else if let server {
                target = .chorus(endpoints: server.endpoints, jwtSecret: server.jwtSecret, name: name ?? "chorus")
            } else {
                guard let secret = ProcessInfo.processInfo.environment["CHORUS_JWT_SECRET"], !secret.isEmpty else {
                    throw ValidationError("CHORUS_JWT_SECRET is not set; export the secret the server uses")
                }
                target = .chorus(endpoints: try endpoints(), jwtSecret: secret, name: name ?? "chorus")
            }
            let pids = server?.pids ?? serverPID
            let sweep = try rates.map { try Sweep.parseRates($0) }
            let interactive = isatty(STDERR_FILENO) != 0
            let progress: @Sendable (String) -> Void = { line in
                let text = interactive ? "\r\u{1B}[K" + line : line + "\n"
                FileHandle.standardError.write(Data(text.utf8))
            }
            var report = BenchReport(runs: [], p99LimitMs: sweep == nil ? nil : p99Limit)
            for rate in sweep ?? [rate] {
                let workload = workload(rate: rate)
                say("\(target.name): \(Report.grouped(Int(rate))) msg/s to \(workload.channels) channel(s) × \(workload.subscribersPerChannel) subscribers for \(Report.fixed(workload.duration, 1)) s")
                let result = try await FanoutBenchmark(target: target, workload: workload, serverPIDs: pids, progress: progress).run()
                if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
                report.runs.append(result)
                say(Report.table(result) + "\n")
                guard sweep != nil else { break }
                if let reason = Sweep.verdict(result, p99LimitMs: p99Limit) {
                    report.kneeReason = "at \(Report.grouped(Int(rate))) msg/s: \(reason)"
                    break
                }
                report.kneeRate = rate
            }
            if sweep != nil {
                say(Report.rows(report.runs))
                if let knee = report.kneeRate {
                    say("knee: \(Report.grouped(Int(knee))) msg/s kept up" + (report.kneeReason.map { "; \($0)" } ?? "; every rate kept up (raise --rates to find the knee)"))
                } else {
                    say("knee: below the first rate; \(report.kneeReason ?? "")")
                }
            }
            try write(report)
            guard report.runs.allSatisfy({ $0.delivery.passed }) else {
                throw ExitCode(3)  // the delivery check failed: scripts must notice
            }
        }

        private func write(_ report: BenchReport) throws {
            if let json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try encoder.encode(report).write(to: URL(fileURLWithPath: json))
                say("wrote \(json)")
            }
            if let plot {
                try Data(LatencyPlot.render(series: [(report.runs.first?.target ?? "chorus", report.runs)], title: plotTitle(report))).write(to: URL(fileURLWithPath: plot))
                say("wrote \(plot)")
            }
        }

        private func plotTitle(_ report: BenchReport) -> String {
            guard let w = report.runs.first?.workload else { return "" }
            return "\(w.channels) CHANNEL(S) X \(w.subscribersPerChannel) SUBSCRIBERS, \(w.payloadBytes)-BYTE MESSAGES"
        }
    }

    /// `chorus bench plot`: redraws saved results.
    struct Plot: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plot", abstract: "Draw the runs of --json files (one line style per file) into a PNG.")

        @Argument(help: "`chorus bench fanout --json` files.")
        var files: [String]

        @Option(help: "The PNG file to write.")
        var output: String

        @Option(help: "The title above the plot.")
        var title = "END-TO-END LATENCY AGAINST DELIVERED RATE"

        func run() throws {
            guard !files.isEmpty else { throw ValidationError("give at least one --json file") }
            let series = try files.map { path in
                let report = try loadReport(path)
                return (report.runs[0].target, report.runs)
            }
            try Data(LatencyPlot.render(series: series, title: title)).write(to: URL(fileURLWithPath: output))
            say("wrote \(output)")
        }
    }

    /// `chorus bench compare`: Chorus's results and a peer's, side by side.
    struct Compare: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "compare", abstract: "Print two --json results side by side with their ratios (used by Benchmarks/peers).")

        @Argument(help: "Chorus's --json file.")
        var chorus: String

        @Argument(help: "The peer's --json file.")
        var peer: String

        @Option(help: "Also draw both into this PNG file.")
        var plot: String?

        func run() throws {
            let a = try loadReport(chorus)
            let b = try loadReport(peer)
            for (x, y) in zip(a.runs, b.runs) { say(Report.comparison(chorus: x, peer: y) + "\n") }
            if let plot {
                try Data(LatencyPlot.render(series: [(a.runs.first?.target ?? "chorus", a.runs), (b.runs.first?.target ?? "peer", b.runs)], title: "CHORUS AND PEER, SAME WORKLOAD")).write(to: URL(fileURLWithPath: plot))
                say("wrote \(plot)")
            }
        }

    }
}

/// A `chorus bench fanout --json` file, or a clear error.
private func loadReport(_ path: String) throws -> BenchReport {
    let data: Data
    do {
        data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
        throw ValidationError("cannot read \(path): \(error.localizedDescription)")
    }
    guard let report = try? JSONDecoder().decode(BenchReport.self, from: data) else {
        throw ValidationError("\(path) is not a `chorus bench fanout --json` file")
    }
    guard !report.runs.isEmpty else { throw ValidationError("\(path) holds no runs") }
    return report
}
