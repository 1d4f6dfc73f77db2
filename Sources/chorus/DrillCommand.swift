import ArgumentParser
import ChorusBench
import Foundation

/// `chorus drill`: the operator's failover drill (see ``Drill``).
struct DrillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drill",
        abstract: "Failover drill: run a fan-out load, hurt one node per round, and check that nothing acknowledged is lost.",
        discussion: """
            Give the cluster with exactly one of --spawn N (N nodes on 127.0.0.1 from a generated config, in a \
            scratch directory), --cluster FILE (every node of a cluster file, started for the drill) or --url \
            (running nodes; repeat it or list several comma-separated; tokens are signed with CHORUS_JWT_SECRET, \
            and --kill-cmd and --restart-cmd say how to kill and restart a node, {node} replaced by its name).

            Senders post to fresh rooms at --rate (with edits and reactions); every send carries a \
            client_message_id and is retried through the next node until --send-deadline-ms. WebSocket \
            subscribers are spread over every node and reconnect and resume as real clients do. Each round \
            waits --warmup, then at a random moment of the first half of --duration kills the target \
            (--fault kill, restarted on its data directory once the duration has passed and the survivors \
            have marked it down), stops it for --pause-seconds (--fault pause), or cuts it off from its peers \
            for --pause-seconds (--fault partition: its cluster traffic is dropped both ways, its clients still \
            reach it; needs cluster.fault_injection on --url nodes). It measures detection \
            (the survivors' admin API shows the node down), each channel's unavailable window, and the rejoin; \
            then it reads every channel's history from every node and checks every acknowledged send is there \
            exactly once and in order, and every subscriber got every message once.

            Exit status: 0 passed; 3 something acknowledged was lost or duplicated, or a stream had a gap; \
            1 the drill could not run; 64 bad arguments.

            Examples:
              chorus drill --spawn 3
              chorus drill --spawn 3 --rounds 3 --target busiest --json drill.json --plot drill.png
              chorus drill --spawn 5 --fault pause --pause-seconds 8
              chorus drill --cluster cluster.example.yaml --rounds 2
              CHORUS_JWT_SECRET=… chorus drill --url http://10.0.0.5:8080,http://10.0.0.6:8080,http://10.0.0.7:8080 \\
                --kill-cmd 'ssh {node} sudo systemctl kill -s KILL chorus' --restart-cmd 'ssh {node} sudo systemctl start chorus'
            """)

    @Option(help: "Start this many nodes on 127.0.0.1 (2 to 16) for the drill.")
    var spawn: Int?

    @Option(name: .customLong("replication-factor"), help: "With --spawn: cluster.replication_factor of the nodes (1 to 9). (default: the config default)")
    var replicationFactor: Int?

    @Option(help: "Start every node of this cluster config for the drill (data directories in a scratch directory).")
    var cluster: String?

    @Option(parsing: .singleValue, help: "A running node: http://HOST:PORT (repeatable, or comma-separated).")
    var url: [String] = []

    @Option(name: .customLong("kill-cmd"), help: "With --url: a shell command that kills a node ({node}: its name).")
    var killCommand: String?

    @Option(name: .customLong("restart-cmd"), help: "With --url: a shell command that starts a killed node again and returns ({node}: its name).")
    var restartCommand: String?

    @Option(help: "Rounds, one fault each.")
    var rounds = 1

    @Option(help: "What a round does to its target.")
    var fault: Drill.Fault = .kill

    @Option(help: "Which node a round hurts: random, busiest (the owner of the busiest channel) or leader (the metadata log's leader: failover waits for an election).")
    var target: Drill.TargetChoice = .random

    @Option(name: .customLong("pause-seconds"), help: "How long --fault pause keeps the node stopped.")
    var pauseSeconds = 5.0

    @Option(help: "Channels (rooms), each with one sender.")
    var channels = 12

    @Option(help: "WebSocket subscribers per channel.")
    var subscribers = 3

    @Option(help: "Offered messages per second over all channels.")
    var rate = 60.0

    @Option(help: "Seconds of load per round after the warm-up; the fault falls in its first half.")
    var duration = 10.0

    @Option(help: "Seconds of load at the start of each round before the fault may fall.")
    var warmup = 2.0

    @Option(name: .customLong("send-deadline-ms"), help: "How long one send is retried (same client_message_id, the next node each time).")
    var sendDeadlineMs = 5000

    @Option(help: "The share of acknowledged messages that are then edited.")
    var edits = 0.1

    @Option(help: "The share of acknowledged messages that then get a reaction.")
    var reactions = 0.1

    @Option(name: .customLong("drain-timeout"), help: "Seconds to wait at the end of a round for subscribers to catch up.")
    var drainTimeout = 10.0

    @Option(name: .customLong("event-loops"), help: "Load-generator threads. (default: the number of cores)")
    var eventLoops: Int?

    @Option(help: "Seed of the fault moments and targets. (default: random, printed)")
    var seed: UInt64?

    @Option(help: "Write the findings to this JSON file.")
    var json: String?

    @Option(help: "Draw the timeline (acknowledgements and p99 send latency per 100 ms, faults shaded) into this PNG file.")
    var plot: String?

    func validate() throws {
        let sources = (spawn != nil ? 1 : 0) + (cluster != nil ? 1 : 0) + (url.isEmpty ? 0 : 1)
        guard sources == 1 else { throw ValidationError("give exactly one of --spawn N, --cluster FILE or --url URL") }
        if let spawn, !(2...16).contains(spawn) { throw ValidationError("--spawn must be from 2 to 16 nodes") }
        if let replicationFactor {
            guard spawn != nil else { throw ValidationError("--replication-factor goes with --spawn (a cluster file has its own)") }
            guard (1...9).contains(replicationFactor) else { throw ValidationError("--replication-factor must be from 1 to 9") }
        }
        if url.isEmpty && (killCommand != nil || restartCommand != nil) {
            throw ValidationError("--kill-cmd and --restart-cmd are for --url; the drill kills and restarts the nodes it starts itself")
        }
        do {
            let endpoints = try self.endpoints()
            if !url.isEmpty && endpoints.count < 2 { throw ValidationError("--url: a drill needs at least two nodes") }
            try makeConfiguration(seed: 1).validate()
        } catch let error as BenchError {
            throw ValidationError(error.description)
        }
        if !url.isEmpty {
            // The same refusal the nodes give, before anything is contacted.
            let refusal = Drill.CommandNodes.refusal(of: fault, killCommand: killCommand, restartCommand: restartCommand)
            if let refusal { throw ValidationError("--url: \(refusal)") }
        }
    }

    /// `--url` values; several may be given comma-separated.
    func endpoints() throws(BenchError) -> [Endpoint] {
        var endpoints: [Endpoint] = []
        for text in url.flatMap({ $0.split(separator: ",") }) { endpoints.append(try Endpoint(url: String(text))) }
        return endpoints
    }

    func makeConfiguration(seed: UInt64) -> Drill.Configuration {
        var configuration = Drill.Configuration()
        configuration.channels = channels
        configuration.subscribersPerChannel = subscribers
        configuration.rate = rate
        configuration.duration = duration
        configuration.warmup = warmup
        configuration.rounds = rounds
        configuration.fault = fault
        configuration.target = target
        configuration.pauseSeconds = pauseSeconds
        configuration.sendDeadline = Double(sendDeadlineMs) / 1000
        configuration.editFraction = edits
        configuration.reactionFraction = reactions
        configuration.drainTimeout = drainTimeout
        configuration.eventLoops = eventLoops ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
        configuration.seed = seed
        return configuration
    }

    func run() async throws {
        let configuration = makeConfiguration(seed: seed ?? UInt64.random(in: 1...UInt64.max))
        let nodes = try await startNodes()
        // Ctrl-C or SIGTERM must not leave the spawned nodes running (or stopped by SIGSTOP).
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let signals = [SIGINT, SIGTERM].map { (number: Int32) -> any DispatchSourceSignal in
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                FileHandle.standardError.write(Data("\nstopping the drill's nodes\n".utf8))
                nodes.stopNow()
                Foundation.exit(130)
            }
            source.resume()
            return source
        }
        defer { for source in signals { source.cancel() } }

        let interactive = isatty(STDERR_FILENO) != 0
        let progress: @Sendable (String) -> Void = { line in
            FileHandle.standardError.write(Data((interactive ? "\r\u{1B}[K" + line : line + "\n").utf8))
        }
        let note: @Sendable (String) -> Void = { line in
            if interactive { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            say(line)
        }
        say("drill: \(configuration.rounds) round(s) of --fault \(configuration.fault.rawValue) on \(nodes.names.joined(separator: ", ")); seed \(configuration.seed)")
        let findings: Drill.Findings
        do {
            findings = try await Drill.Runner(configuration: configuration, nodes: nodes, progress: progress, note: note).run()
        } catch {
            if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
            let logs = nodes.logTail
            if !logs.isEmpty { FileHandle.standardError.write(Data("node logs:\n\(logs)\n".utf8)) }
            await nodes.stop()
            throw error
        }
        if interactive { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        await nodes.stop()
        say("\n" + findings.table)
        if let json {
            try findings.jsonData().write(to: URL(fileURLWithPath: json))
            say("wrote \(json)")
        }
        if let plot {
            try Data(findings.plot()).write(to: URL(fileURLWithPath: plot))
            say("wrote \(plot)")
        }
        guard findings.passed else { throw ExitCode(3) }
    }

    private func startNodes() async throws -> any Drill.Nodes {
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        if let spawn {
            say("starting \(spawn) nodes on 127.0.0.1")
            return try await Drill.SpawnedNodes.spawn(executable: executable, count: spawn, replicationFactor: replicationFactor)
        }
        if let cluster {
            say("starting the nodes of \(cluster)")
            return try await Drill.SpawnedNodes.cluster(executable: executable, configPath: cluster)
        }
        guard let secret = ProcessInfo.processInfo.environment["CHORUS_JWT_SECRET"], !secret.isEmpty else {
            throw ValidationError("CHORUS_JWT_SECRET is not set; export the secret the nodes use")
        }
        return try await Drill.CommandNodes.discover(
            endpoints: try endpoints(), jwtSecret: secret, killCommand: killCommand, restartCommand: restartCommand)
    }
}

// Not `@retroactive`: the types are declared in this package, where SE-0364 makes the attribute an error.
extension Drill.Fault: ExpressibleByArgument {}
extension Drill.TargetChoice: ExpressibleByArgument {}
