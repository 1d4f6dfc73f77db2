import ChorusModel
import Foundation
import Synchronization
import Yams

extension Drill {
    /// Cluster nodes the drill started as child processes (`chorus node`), each on its own data directory
    /// in a scratch directory that is removed at the end. A killed node is started again with the same
    /// arguments, so it recovers from its own write-ahead log and listens on the same addresses.
    ///
    /// Like ``SpawnedServer`` (whose node log it shares), but it can kill, pause and restart one node.
    public final class SpawnedNodes: Nodes {
        public let names: [String]
        public let endpoints: [Endpoint]
        public let jwtSecret: String
        public let virtualNodes: Int
        private let executable: URL
        private let directory: URL
        private let arguments: [[String]]
        private let environment: [String: String]
        /// The current process and log of each node (replaced when it restarts).
        private let processes: Mutex<[Process]>
        private let logs: Mutex<[NodeLog]>

        private init(
            names: [String], endpoints: [Endpoint], jwtSecret: String, virtualNodes: Int, executable: URL, directory: URL,
            arguments: [[String]], environment: [String: String], processes: [Process], logs: [NodeLog]
        ) {
            self.names = names
            self.endpoints = endpoints
            self.jwtSecret = jwtSecret
            self.virtualNodes = virtualNodes
            self.executable = executable
            self.directory = directory
            self.arguments = arguments
            self.environment = environment
            self.processes = Mutex(processes)
            self.logs = Mutex(logs)
        }

        /// `count` nodes on 127.0.0.1 (`drill-1` …), from a generated cluster config with free ports and the
        /// default settings, except the per-user rate limit (the drill's users send far more than a person)
        /// and, if given, the replication factor.
        public static func spawn(executable: URL, count: Int, replicationFactor: Int? = nil) async throws -> SpawnedNodes {
            // Another program may take a port between the check and the node's bind: then again, on new ports.
            var attempt = 1
            while true {
                do {
                    return try await spawnOnce(executable: executable, count: count, replicationFactor: replicationFactor)
                } catch let error as NodeExited where error.addressTaken && attempt < 3 {
                    attempt += 1
                }
            }
        }

        private static func spawnOnce(executable: URL, count: Int, replicationFactor: Int?) async throws -> SpawnedNodes {
            let ports = try LocalPorts.free(2 * count)
            let directory = try scratchDirectory()
            let names = (1...count).map { "drill-\($0)" }
            let nodes: [[String: Any]] = names.enumerated().map { index, name in
                [
                    "name": name, "cluster_address": "127.0.0.1:\(ports[index])", "client_address": "127.0.0.1:\(ports[count + index])",
                    "data_dir": directory.appendingPathComponent(name).path,
                ]
            }
            // Fault injection lets --fault partition cut a node off (POST /v1/admin/faults).
            var cluster: [String: Any] = ["name": "drill", "nodes": nodes, "fault_injection": true]
            if let replicationFactor { cluster["replication_factor"] = replicationFactor }
            let config: [String: Any] = ["cluster": cluster, "limits": SpawnedServer.benchLimits]
            return try await start(executable: executable, directory: directory, config: config, names: names, virtualNodes: 1024)
        }

        /// Every node of a cluster file, with its addresses and settings, the data directories moved into
        /// the scratch directory, and the benchmark's rate limits.
        public static func cluster(executable: URL, configPath: String) async throws -> SpawnedNodes {
            guard var config = try Yams.load(yaml: String(contentsOfFile: configPath, encoding: .utf8)) as? [String: Any],
                var cluster = config["cluster"] as? [String: Any], var nodes = cluster["nodes"] as? [[String: Any]]
            else {
                throw BenchError("\(configPath): expected a mapping with cluster.nodes")
            }
            let names = nodes.compactMap { $0["name"] as? String }
            guard names.count >= 2, names.count == nodes.count else {
                throw BenchError("\(configPath): a drill needs at least two nodes in cluster.nodes, each with a name")
            }
            let directory = try scratchDirectory()
            for index in nodes.indices {
                nodes[index]["data_dir"] = directory.appendingPathComponent("node-\(index)").path
            }
            cluster["nodes"] = nodes
            cluster["fault_injection"] = true  // for --fault partition
            config["cluster"] = cluster
            var limits = config["limits"] as? [String: Any] ?? [:]
            limits.merge(SpawnedServer.benchLimits) { $1 }
            config["limits"] = limits
            let virtualNodes = cluster["virtual_nodes"] as? Int ?? 1024
            return try await start(executable: executable, directory: directory, config: config, names: names, virtualNodes: virtualNodes)
        }

        private static func scratchDirectory() throws -> URL {
            let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("chorus-drill-\(UInt32.random(in: 0...UInt32.max))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return directory
        }

        private static func start(executable: URL, directory: URL, config: [String: Any], names: [String], virtualNodes: Int) async throws -> SpawnedNodes {
            var processes: [Process] = []
            do {
                let path = directory.appendingPathComponent("cluster.yaml")
                try Yams.dump(object: config).write(to: path, atomically: true, encoding: .utf8)
                let jwtSecret = randomHex(bytes: 32)
                var environment = ProcessInfo.processInfo.environment
                environment["CHORUS_JWT_SECRET"] = jwtSecret
                environment["CHORUS_CLUSTER_SECRET"] = randomHex(bytes: 32)
                // `stay`: the drill stops all nodes together at the end, nobody is left to hand keys to.
                let level = nodeLogDirectory == nil ? "warning" : "info"
                let arguments = names.map { ["node", "--config", path.path, "--name", $0, "--on-stop", "stay", "--log-level", level] }
                var logs: [NodeLog] = []
                for (name, nodeArguments) in zip(names, arguments) {
                    let (process, log) = try launch(executable: executable, arguments: nodeArguments, environment: environment, name: name)
                    processes.append(process)
                    logs.append(log)
                }
                var endpoints: [Endpoint] = []
                for (process, log) in zip(processes, logs) {
                    endpoints.append(try await log.listeningEndpoint(process: process, timeout: .seconds(60)))
                }
                return SpawnedNodes(
                    names: names, endpoints: endpoints, jwtSecret: jwtSecret, virtualNodes: virtualNodes, executable: executable,
                    directory: directory, arguments: arguments, environment: environment, processes: processes, logs: logs)
            } catch {
                for process in processes where process.isRunning { kill(process.processIdentifier, SIGKILL) }
                try? FileManager.default.removeItem(at: directory)
                throw error
            }
        }

        /// Starts one node with its output going to a fresh log.
        private static func launch(executable: URL, arguments: [String], environment: [String: String], name: String) throws -> (Process, NodeLog) {
            let process = Process()
            process.executableURL = executable
            process.arguments = arguments
            process.environment = ParentWatch.environment(environment)
            var copy: FileHandle?
            if let nodeLogDirectory {
                try FileManager.default.createDirectory(atPath: nodeLogDirectory, withIntermediateDirectories: true)
                let path = nodeLogDirectory + "/\(name).log"
                if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
                copy = FileHandle(forWritingAtPath: path)
                _ = try? copy?.seekToEnd()
            }
            let log = NodeLog.capturing(process, name: name, copy: copy)
            try process.run()
            return (process, log)
        }

        /// `CHORUS_DRILL_NODE_LOGS=DIR`: spawned nodes log at `info`, each appending to `DIR/NAME.log`
        /// over its restarts, kept after the drill (docs/drill.md, "When a round fails").
        static var nodeLogDirectory: String? {
            ProcessInfo.processInfo.environment["CHORUS_DRILL_NODE_LOGS"].flatMap { $0.isEmpty ? nil : $0 }
        }

        // MARK: Faults

        public func refusal(of fault: Fault) -> String? { nil }

        public func killNode(_ node: Int) async throws {
            let process = processes.withLock { $0[node] }
            kill(process.processIdentifier, SIGKILL)
            let deadline = ContinuousClock.now + .seconds(10)
            while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            guard !process.isRunning else { throw BenchError("\(names[node]) did not die within 10 s of SIGKILL") }
        }

        public func pauseNode(_ node: Int) async throws {
            kill(processes.withLock { $0[node] }.processIdentifier, SIGSTOP)
        }

        public func resumeNode(_ node: Int) async throws {
            kill(processes.withLock { $0[node] }.processIdentifier, SIGCONT)
        }

        public func restartNode(_ node: Int) async throws {
            guard !processes.withLock({ $0[node] }).isRunning else { throw BenchError("\(names[node]) still runs; it cannot be restarted") }
            let (process, log) = try Self.launch(executable: executable, arguments: arguments[node], environment: environment, name: names[node])
            processes.withLock { $0[node] = process }
            logs.withLock { $0[node] = log }
            let endpoint = try await log.listeningEndpoint(process: process, timeout: .seconds(60))
            guard endpoint == endpoints[node] else {
                throw BenchError("\(names[node]) came back on \(endpoint), not \(endpoints[node])")
            }
        }

        // MARK: Stopping

        public func stop() async {
            let running = signalAll()
            let deadline = ContinuousClock.now + .seconds(20)
            while running.contains(where: \.isRunning), ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(50))
            }
            for process in running where process.isRunning { kill(process.processIdentifier, SIGKILL) }
            try? FileManager.default.removeItem(at: directory)
        }

        public func stopNow() {
            let running = signalAll()
            let deadline = ContinuousClock.now + .seconds(5)
            while running.contains(where: \.isRunning), ContinuousClock.now < deadline { usleep(20_000) }
            for process in running where process.isRunning { kill(process.processIdentifier, SIGKILL) }
            try? FileManager.default.removeItem(at: directory)
        }

        /// SIGCONT (a paused node would not see SIGTERM) and SIGTERM to every node that runs.
        private func signalAll() -> [Process] {
            let running = processes.withLock { $0 }.filter(\.isRunning)
            for process in running {
                kill(process.processIdentifier, SIGCONT)
                kill(process.processIdentifier, SIGTERM)
            }
            return running
        }

        public var logTail: String {
            logs.withLock { $0 }.map { "[\($0.name)] " + $0.tail }.joined(separator: "\n")
        }
    }
}
