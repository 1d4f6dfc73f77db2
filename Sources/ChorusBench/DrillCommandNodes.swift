import ChorusAuth
import Foundation
import NIOHTTP1
import NIOPosix

extension Drill {
    /// Running nodes the drill did not start (`--url`): it kills and restarts one with the operator's
    /// shell commands (`--kill-cmd`, `--restart-cmd`, `{node}` replaced by the node's name), and refuses
    /// faults it has no way to cause.
    public final class CommandNodes: Nodes {
        public let names: [String]
        public let endpoints: [Endpoint]
        public let jwtSecret: String
        /// The default; a cluster with another `cluster.virtual_nodes` gets owners wrong (only `--target busiest`
        /// and the rejoin probe use them).
        public let virtualNodes = 1024
        private let killCommand: String?
        private let restartCommand: String?

        init(names: [String], endpoints: [Endpoint], jwtSecret: String, killCommand: String?, restartCommand: String?) {
            self.names = names
            self.endpoints = endpoints
            self.jwtSecret = jwtSecret
            self.killCommand = killCommand
            self.restartCommand = restartCommand
        }

        /// Asks each node its name (`GET /v1/admin/cluster`, with a server token signed with `jwtSecret`).
        public static func discover(endpoints: [Endpoint], jwtSecret: String, killCommand: String?, restartCommand: String?) async throws -> CommandNodes {
            let token = JWT.sign(JWT.Claims(), secret: Array(jwtSecret.utf8))
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let connections = Connections(group: group, endpoints: endpoints)
            do {
                var names: [String] = []
                for (index, endpoint) in endpoints.enumerated() {
                    let reply = try await connections.request(node: index, .GET, "/v1/admin/cluster", token: token, timeout: .seconds(10))
                    guard reply.status == 200, let view = AdminView.parse(reply.text) else {
                        throw BenchError("\(endpoint) did not say which node it is (GET /v1/admin/cluster: HTTP \(reply.status) \(reply.text.prefix(200)))")
                    }
                    names.append(view.node)
                }
                guard Set(names).count == names.count else { throw BenchError("two --url values reach the same node: \(names)") }
                await connections.closeAll()
                try? await group.shutdownGracefully()
                return CommandNodes(names: names, endpoints: endpoints, jwtSecret: jwtSecret, killCommand: killCommand, restartCommand: restartCommand)
            } catch {
                await connections.closeAll()
                try? await group.shutdownGracefully()
                throw error
            }
        }

        public func refusal(of fault: Fault) -> String? {
            Self.refusal(of: fault, killCommand: killCommand, restartCommand: restartCommand)
        }

        /// Why running nodes with these commands cannot take `fault`; nil if they can.
        public static func refusal(of fault: Fault, killCommand: String?, restartCommand: String?) -> String? {
            switch fault {
            case .kill:
                guard killCommand == nil || restartCommand == nil else { return nil }
                return "the drill cannot kill nodes it did not start: give --kill-cmd and --restart-cmd (shell commands; "
                    + "{node} is replaced by the node's name), or let the drill start the nodes with --spawn N or --cluster FILE"
            case .pause:
                return "--fault pause sends SIGSTOP and SIGCONT to processes the drill started: use --spawn N or --cluster FILE"
            case .partition:
                return nil  // through the nodes' admin API; a node without fault injection says so
            }
        }

        public func killNode(_ node: Int) async throws {
            guard let killCommand else { throw BenchError(refusal(of: .kill) ?? "") }
            try await Self.run(killCommand, node: names[node])
        }

        public func pauseNode(_ node: Int) async throws { throw BenchError(refusal(of: .pause) ?? "") }

        public func resumeNode(_ node: Int) async throws { throw BenchError(refusal(of: .pause) ?? "") }

        public func restartNode(_ node: Int) async throws {
            guard let restartCommand else { throw BenchError(refusal(of: .kill) ?? "") }
            try await Self.run(restartCommand, node: names[node])
        }

        /// The nodes are not the drill's: they keep running.
        public func stop() async {}

        public func stopNow() {}

        public var logTail: String { "" }

        /// Runs `/bin/sh -c command` with `{node}` replaced; fails if it exits non-zero or runs over a minute.
        /// The command must return once it has done its work (a restart command starts the node in the
        /// background, e.g. `systemctl start`).
        static func run(_ command: String, node: String) async throws {
            let text = command.replacingOccurrences(of: "{node}", with: node)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", text]
            let log = NodeLog.capturing(process, name: node)
            try process.run()
            let deadline = ContinuousClock.now + .seconds(60)
            while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            if process.isRunning {
                process.terminate()
                throw BenchError("`\(text)` did not finish within 60 s:\n\(log.tail)")
            }
            guard process.terminationStatus == 0 else {
                throw BenchError("`\(text)` exited with status \(process.terminationStatus):\n\(log.tail)")
            }
        }
    }
}
