import ArgumentParser
import ChorusBench
import ChorusGateway
import ChorusModel
import Foundation
import Synchronization

/// `chorus cluster`: run a whole cluster on this machine.
struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "Run a Chorus cluster on this machine.", subcommands: [Up.self])

    /// `chorus cluster up`: every node of the file as a child process.
    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "up",
            abstract: "Start every node of the config file's cluster as child processes; stop them all on Ctrl-C or SIGTERM.",
            discussion: """
                Each node runs `chorus node --config FILE --name NODE`; their logs are shown prefixed with the \
                node name. Secrets come from CHORUS_JWT_SECRET and CHORUS_CLUSTER_SECRET; unset ones are generated \
                for this run (the JWT secret is printed so you can mint tokens).
                """)

        @Option(help: "YAML configuration file with a cluster: section (see cluster.example.yaml).")
        var config: String

        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let signals = StopSignals.install()
            let configuration = try ChorusConfiguration.load(path: config)
            let nodes = configuration.cluster.nodes
            guard !nodes.isEmpty else { throw CLIFailure(.config, "\(config): cluster.nodes is empty; `chorus serve` runs a single node") }
            var environment = ProcessInfo.processInfo.environment
            func secret(_ key: String, announce: Bool) -> String {
                if let value = environment[key], !value.isEmpty { return value }
                let generated = randomHex(bytes: 32)
                if announce { say("\(key) was not set; this run uses:\n  export \(key)=\(generated)") }
                environment[key] = generated
                return generated
            }
            _ = secret("CHORUS_JWT_SECRET", announce: true)
            _ = secret("CHORUS_CLUSTER_SECRET", announce: false)

            let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            let children = Children()
            for node in nodes {
                let process = Process()
                process.executableURL = executable
                // The whole cluster stops together: nobody is left to hand keys to.
                process.arguments = ["node", "--config", config, "--name", node.name, "--on-stop", "stay"] + logging.arguments
                process.environment = ParentWatch.environment(environment)
                let output = Pipe()
                process.standardOutput = output
                process.standardError = output
                let name = node.name
                let pending = Mutex("")
                PipeReader.start(output) { data in
                    let lines = pending.withLock { pending -> [Substring] in
                        pending += String(decoding: data, as: UTF8.self)
                        var lines = pending.split(separator: "\n", omittingEmptySubsequences: false)
                        pending = String(lines.removeLast())
                        return lines
                    }
                    for line in lines {
                        if line.hasPrefix("chorus listening on ") {
                            say("\(name) ready: \(line.dropFirst("chorus listening on ".count))")
                        } else {
                            say("[\(name)] \(line)")
                        }
                    }
                }
                process.terminationHandler = { process in
                    if !children.stopping { say("\(name) exited with status \(process.terminationStatus)") }
                }
                try process.run()
                children.add(process)
            }
            say("cluster \(configuration.cluster.name): \(nodes.count) nodes starting; Ctrl-C stops them all")
            await children.waitForSignal(signals)
            say("stopping the cluster")
            await children.stopAll()
        }
    }
}

/// The child processes of `cluster up`, stopped together.
final class Children: Sendable {
    private let processes = Mutex<[Process]>([])
    private let stoppingFlag = Atomic<Bool>(false)

    var stopping: Bool { stoppingFlag.load(ordering: .relaxed) }

    func add(_ process: Process) {
        processes.withLock { $0.append(process) }
    }

    /// Returns on the first of `signals`, or once every child has exited.
    func waitForSignal(_ signals: AsyncStream<Int32>) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in signals { return }
            }
            group.addTask {
                while !Task.isCancelled, self.processes.withLock({ $0.contains { $0.isRunning } }) {
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// SIGTERM to every child; SIGKILL to any still running after 30 s.
    func stopAll() async {
        stoppingFlag.store(true, ordering: .relaxed)
        let running = processes.withLock { $0.filter(\.isRunning) }
        for process in running { kill(process.processIdentifier, SIGTERM) }
        let deadline = ContinuousClock.now + .seconds(30)
        while running.contains(where: \.isRunning), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        for process in running where process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Writes a line to standard output at once (unbuffered, also into a pipe or file).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
