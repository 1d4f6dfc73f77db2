import ChorusAuth
import Foundation
import NIOCore
import NIOPosix
import Synchronization

extension Drill {
    /// Runs a drill against `nodes`: waits for the cluster, sets up rooms and subscribers, runs the
    /// rounds (load, fault, detection, rejoin, checks), and returns the findings. The nodes are left
    /// running; the caller stops them.
    public struct Runner: Sendable {
        public var configuration: Configuration
        public var nodes: any Nodes
        /// A progress line about once a second.
        public var progress: @Sendable (String) -> Void
        /// Milestones: setup, each fault, each round's result.
        public var note: @Sendable (String) -> Void

        public init(
            configuration: Configuration, nodes: any Nodes, progress: @escaping @Sendable (String) -> Void = { _ in },
            note: @escaping @Sendable (String) -> Void = { _ in }
        ) {
            self.configuration = configuration
            self.nodes = nodes
            self.progress = progress
            self.note = note
        }

        public func run() async throws -> Findings {
            try configuration.validate()
            if let refusal = nodes.refusal(of: configuration.fault) { throw BenchError(refusal) }
            guard nodes.names.count >= 2 else { throw BenchError("a drill needs at least two nodes: one to hurt, one to notice") }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.eventLoops)
            let connections = Connections(group: group, endpoints: nodes.endpoints)
            var session = Session(runner: self, group: group, connections: connections)
            do {
                let findings = try await session.execute()
                await connections.closeAll()
                try? await group.shutdownGracefully()
                return findings
            } catch {
                await connections.closeAll()
                try? await group.shutdownGracefully()
                throw error
            }
        }
    }

    /// What the progress line shows as the drill's state ("round 1/2: drill-2 killed, …").
    final class LiveStatus: Sendable {
        private let text = Mutex("setting up")

        func set(_ value: String) { text.withLock { $0 = value } }

        var current: String { text.withLock { $0 } }
    }

    /// The state of one drill while it runs, on the task that runs it. The long-running parts it starts
    /// (subscribers, the progress line) only get its `Sendable` pieces.
    struct Session {
        let configuration: Configuration
        let nodes: any Nodes
        let names: [String]
        let group: MultiThreadedEventLoopGroup
        let connections: Connections
        let log: SendLog
        /// Names this run's users, rooms and client ids.
        let runID: String
        let serverToken: String
        let status = LiveStatus()
        let stop = StopFlag()
        let progress: @Sendable (String) -> Void
        let note: @Sendable (String) -> Void
        var rng: SplitMix64
        /// The index of the next send (unique over the rounds).
        var nextIndex = 0
        var rooms: [Room] = []
        var subscribers: [SubscriberLog] = []
        var faults: [FaultMark] = []

        /// How long the survivors have to mark a killed node down, and a node to rejoin.
        static let detectionTimeout = 60.0
        static let rejoinTimeout = 60.0

        init(runner: Runner, group: MultiThreadedEventLoopGroup, connections: Connections) {
            configuration = runner.configuration
            nodes = runner.nodes
            names = runner.nodes.names
            self.group = group
            self.connections = connections
            log = SendLog(rooms: runner.configuration.channels, origin: monotonicNanos())
            runID = String(UInt32.random(in: 0...UInt32.max), radix: 36)
            serverToken = JWT.sign(JWT.Claims(), secret: Array(runner.nodes.jwtSecret.utf8))
            progress = runner.progress
            note = runner.note
            rng = SplitMix64(seed: runner.configuration.seed)
        }

        mutating func execute() async throws -> Findings {
            note("waiting until each of the \(names.count) nodes sees every other one up")
            try await waitUntilAllUp()
            rooms = try await setUpRooms()
            let owners = Dictionary(grouping: rooms, by: \.owner).sorted { $0.key < $1.key }.map { "\(names[$0.key]) ×\($0.value.count)" }
            note("\(rooms.count) channels (owners: \(owners.joined(separator: ", "))), \(rooms.count * configuration.subscribersPerChannel) subscribers spread over \(names.count) nodes")
            let background = startSubscribers() + [startProgress()]
            do {
                try await waitForFirstConnections()
                let findings = try await runRounds()
                await stopBackground(background)
                return findings
            } catch {
                await stopBackground(background)
                throw error
            }
        }

        private mutating func runRounds() async throws -> Findings {
            var results: [RoundResult] = []
            var totals = CheckOutcome()
            for round in 1...configuration.rounds {
                let (result, cumulative) = try await runRound(round)
                results.append(result)
                totals = cumulative
                note(result.line)
            }
            let states = subscribers.map(\.snapshot)
            return Findings(
                configuration: configuration, nodes: names, endpoints: nodes.endpoints.map(\.description), runID: runID, rounds: results,
                totals: Totals(
                    sends: log.counts, history: totals.history, stream: totals.stream, unreadableViews: totals.unreadable,
                    divergentChannels: totals.divergent, reconnections: states.reduce(0) { $0 + max($1.connections - 1, 0) },
                    reloads: states.reduce(0) { $0 + $1.reloads }),
                timeline: Timeline.buckets(log.samples, until: log.seconds(monotonicNanos())), faults: faults)
        }

        // MARK: Background tasks

        /// One task per subscriber, each starting on the next node (round-robin over the client URLs).
        private mutating func startSubscribers() -> [Task<Void, Never>] {
            var tasks: [Task<Void, Never>] = []
            for room in rooms {
                for token in room.subscriberTokens {
                    let log = SubscriberLog(room: room.index, home: subscribers.count % names.count)
                    subscribers.append(log)
                    let runner = SubscriberRunner(
                        log: log, channelID: room.id, token: token, endpoints: nodes.endpoints, group: group, connections: connections, stop: stop)
                    tasks.append(Task { await runner.run(home: log.home) })
                }
            }
            return tasks
        }

        private func startProgress() -> Task<Void, Never> {
            let (stop, log, subscribers, status, progress) = (self.stop, self.log, self.subscribers, self.status, self.progress)
            return Task {
                while !stop.isSet {
                    try? await Task.sleep(for: .seconds(1))
                    guard !stop.isSet else { return }
                    let counts = log.counts
                    let deliveries = subscribers.reduce(0) { $0 + $1.deliveryCount }
                    let reconnections = subscribers.reduce(0) { $0 + max($1.connectionCount - 1, 0) }
                    progress(
                        "\(Report.fixed(log.seconds(monotonicNanos()), 0, width: 4)) s  \(status.current)  |  sends ok \(Report.grouped(counts.acknowledged))"
                            + " failed \(Report.grouped(counts.failed)) retried \(Report.grouped(counts.retried))"
                            + "  |  deliveries \(Report.grouped(deliveries)), reconnections \(Report.grouped(reconnections))")
                }
            }
        }

        /// The subscribers connect before the first send, so each must receive the room's whole history.
        private func waitForFirstConnections() async throws {
            let deadline = monotonicNanos() + 30_000_000_000
            var waiting = subscribers.count
            while monotonicNanos() < deadline {
                waiting = subscribers.filter { $0.connectionCount == 0 }.count
                if waiting == 0 { return }
                try await Task.sleep(for: .milliseconds(50))
            }
            throw BenchError("\(waiting) of \(subscribers.count) subscribers could not open their WebSocket within 30 s")
        }

        private func stopBackground(_ tasks: [Task<Void, Never>]) async {
            stop.set()
            for subscriber in subscribers { subscriber.closeSocket() }
            for task in tasks { await task.value }
        }

        // MARK: Helpers

        /// A user token for this run's users.
        func userToken(_ user: String) -> String {
            let now = Date().timeIntervalSince1970.rounded(.down)
            return JWT.sign(JWT.Claims(userID: user, name: user, exp: now + 86_400, iat: now), secret: Array(nodes.jwtSecret.utf8))
        }

        func makeSender() -> Sender {
            Sender(connections: connections, nodeCount: names.count, deadline: configuration.sendDeadline, log: log)
        }

        static func nanos(_ seconds: Double) -> UInt64 { UInt64(max(seconds, 0) * 1e9) }
    }
}
