import ChorusAuth
import ChorusModel
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Yams

/// Chorus nodes this benchmark started itself (`--spawn`, `--cluster`), in a scratch directory that is
/// removed when they stop. Their CPU time is read from `/proc`.
public final class SpawnedServer: Sendable {
    public let endpoints: [Endpoint]
    public let jwtSecret: String
    private let processes: [Process]
    private let directory: URL
    private let logs: [NodeLog]

    public var pids: [Int32] { processes.map(\.processIdentifier) }

    private init(endpoints: [Endpoint], jwtSecret: String, processes: [Process], directory: URL, logs: [NodeLog]) {
        self.endpoints = endpoints
        self.jwtSecret = jwtSecret
        self.processes = processes
        self.directory = directory
        self.logs = logs
    }

    /// Settings every spawned node gets on top of its configuration: the benchmark's users send far more
    /// than the per-user rate limit allows a person.
    static var benchLimits: [String: Any] { ["user_requests_per_second": 10_000_000, "user_request_burst": 10_000_000] }

    /// Checkpoints every 5 s instead of 60: every message is written to the store once, at a
    /// checkpoint, and that cost belongs in a run's server CPU, which a 10 s window would miss.
    static var benchStorage: [String: Any] { ["checkpoint_interval_seconds": 5] }

    /// `chorus serve` on a free port, with a fresh data directory, the benchmark's rate limits and
    /// checkpoint interval, and the default settings otherwise (fsync on every commit included).
    public static func single(executable: URL) async throws -> SpawnedServer {
        let directory = try scratchDirectory()
        let config: [String: Any] = [
            "node": ["host": "127.0.0.1", "port": 0, "data_dir": directory.appendingPathComponent("data").path],
            "limits": benchLimits,
            "storage": benchStorage,
        ]
        let path = directory.appendingPathComponent("chorus.yaml")
        try Yams.dump(object: config).write(to: path, atomically: true, encoding: .utf8)
        return try await start(
            executable: executable, directory: directory,
            nodes: [("chorus", ["serve", "--config", path.path, "--log-level", "warning"])])
    }

    /// Every node of a cluster file as `chorus node`, with the file's addresses, data directories moved
    /// into the scratch directory, and the benchmark's rate limits and checkpoint interval. Waits
    /// until every node sees every other one up.
    ///
    /// The file is only read for its node names here; each node validates all of it when it
    /// starts, and a node that refuses it ends the run with its error.
    public static func cluster(executable: URL, configPath: String) async throws -> SpawnedServer {
        guard var config = try Yams.load(yaml: String(contentsOfFile: configPath, encoding: .utf8)) as? [String: Any],
              var cluster = config["cluster"] as? [String: Any], var nodes = cluster["nodes"] as? [[String: Any]] else {
            throw BenchError("\(configPath): expected a mapping with cluster.nodes")
        }
        let names = nodes.compactMap { $0["name"] as? String }
        guard !names.isEmpty, names.count == nodes.count else {
            throw BenchError("\(configPath): cluster.nodes is empty or has a node without a name; use --spawn for a single node")
        }
        let directory = try scratchDirectory()
        for index in nodes.indices {
            nodes[index]["data_dir"] = directory.appendingPathComponent("node-\(index)").path
        }
        cluster["nodes"] = nodes
        config["cluster"] = cluster
        var limits = config["limits"] as? [String: Any] ?? [:]
        limits.merge(benchLimits) { $1 }
        config["limits"] = limits
        var storage = config["storage"] as? [String: Any] ?? [:]
        storage.merge(benchStorage) { $1 }
        config["storage"] = storage
        let path = directory.appendingPathComponent("cluster.yaml")
        try Yams.dump(object: config).write(to: path, atomically: true, encoding: .utf8)
        let server = try await start(
            executable: executable, directory: directory,
            nodes: names.map { name in
                (name, ["node", "--config", path.path, "--name", name, "--on-stop", "stay", "--log-level", "warning"])
            })
        do {
            try await server.waitUntilClusterIsUp(nodes: names.count)
        } catch {
            await server.stop()
            throw error
        }
        return server
    }

    private static func scratchDirectory() throws -> URL {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("chorus-bench-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    private static func start(executable: URL, directory: URL, nodes: [(name: String, arguments: [String])]) async throws -> SpawnedServer {
        let jwtSecret = randomHex(bytes: 32)
        let clusterSecret = randomHex(bytes: 32)
        var environment = ProcessInfo.processInfo.environment
        environment["CHORUS_JWT_SECRET"] = jwtSecret
        environment["CHORUS_CLUSTER_SECRET"] = clusterSecret
        var processes: [Process] = []
        var logs: [NodeLog] = []
        do {
            for node in nodes {
                let process = Process()
                process.executableURL = executable
                process.arguments = node.arguments
                process.environment = ParentWatch.environment(environment)
                let log = NodeLog.capturing(process, name: node.name)
                try process.run()
                processes.append(process)
                logs.append(log)
            }
            var endpoints: [Endpoint] = []
            for (process, log) in zip(processes, logs) {
                endpoints.append(try await log.listeningEndpoint(process: process, timeout: .seconds(60)))
            }
            return SpawnedServer(endpoints: endpoints, jwtSecret: jwtSecret, processes: processes, directory: directory, logs: logs)
        } catch {
            await stop(processes)
            try? FileManager.default.removeItem(at: directory)
            throw error
        }
    }

    private func waitUntilClusterIsUp(nodes: Int) async throws {
        let token = JWT.sign(JWT.Claims(), secret: Array(jwtSecret.utf8))
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            try await waitUntilClusterIsUp(nodes: nodes, token: token, loop: group.next())
            try? await group.shutdownGracefully()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    private func waitUntilClusterIsUp(nodes: Int, token: String, loop: any EventLoop) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        for endpoint in endpoints {
            let connection = try await HTTPConnection.connect(to: endpoint, on: loop)
            defer { connection.channel.close(promise: nil) }
            while true {
                let reply = try await connection.request(.GET, "/v1/admin/cluster", token: token)
                let view = try? JSONSerialization.jsonObject(with: Data(reply.text.utf8)) as? [String: Any]
                let up = (view?["nodes"] as? [[String: Any]])?.filter { $0["status"] as? String == "up" }.count
                if reply.status == 200 && up == nodes { break }
                guard ContinuousClock.now < deadline else {
                    throw BenchError("the cluster did not come up within 60 s; \(endpoint) reports: \(reply.text)")
                }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    /// For a signal handler: SIGTERM, SIGKILL after 5 s, the scratch directory removed, synchronously.
    public func stopNow() {
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let deadline = ContinuousClock.now + .seconds(5)
        while processes.contains(where: \.isRunning), ContinuousClock.now < deadline { usleep(20_000) }
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: directory)
    }

    /// SIGTERM, then SIGKILL after 20 s; removes the scratch directory.
    public func stop() async {
        await Self.stop(processes)
        try? FileManager.default.removeItem(at: directory)
    }

    private static func stop(_ processes: [Process]) async {
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGTERM) }
        let deadline = ContinuousClock.now + .seconds(20)
        while processes.contains(where: \.isRunning), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// The last lines each node logged (for error messages).
    public var logTail: String {
        logs.map { "[\($0.name)] " + $0.tail }.joined(separator: "\n")
    }
}

/// A node's output: kept (bounded) for error messages, and watched for the line with its address.
final class NodeLog: Sendable {
    let name: String
    private let text = Mutex("")

    init(name: String) { self.name = name }

    /// A log of `process`'s standard output and error, with standard input empty; call before the
    /// process runs.
    /// With `copy`, everything is also appended to that file (kept after the run).
    static func capturing(_ process: Process, name: String, copy: FileHandle? = nil) -> NodeLog {
        let log = NodeLog(name: name)
        let output = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = output
        PipeReader.start(output) { data in
            log.append(data)
            copy?.write(data)
        } onEnd: {
            try? copy?.close()
        }
        return log
    }

    func append(_ data: Data) {
        guard !data.isEmpty else { return }
        text.withLock { text in
            text += String(decoding: data, as: UTF8.self)
            if text.count > 64_000 { text = String(text.suffix(32_000)) }
        }
    }

    var tail: String { text.withLock { String($0.suffix(2_000)) } }

    func listeningEndpoint(process: Process, timeout: Duration) async throws -> Endpoint {
        let deadline = ContinuousClock.now + timeout
        let marker = "chorus listening on "
        while ContinuousClock.now < deadline {
            if let line = text.withLock({ $0.split(separator: "\n").first { $0.hasPrefix(marker) } }) {
                return try Endpoint(url: String(line.dropFirst(marker.count)))
            }
            guard process.isRunning else { throw NodeExited(name: name, status: process.terminationStatus, tail: tail) }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchError("node \(name) did not start within \(timeout):\n\(tail)")
    }
}

/// A node that exited before it listened.
struct NodeExited: Error, CustomStringConvertible {
    let name: String
    let status: Int32
    let tail: String

    /// `chorus` exits with 69 when an address it should listen on is taken.
    var addressTaken: Bool { status == 69 }

    var description: String { "node \(name) exited with status \(status):\n\(tail)" }
}
