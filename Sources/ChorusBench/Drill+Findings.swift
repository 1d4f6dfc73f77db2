import Foundation

extension Drill {
    /// Counters of the drill's sends, edits and reactions.
    public struct SendCounts: Sendable, Equatable, Codable {
        /// Sends begun (load and rejoin probes).
        public var started = 0
        public var acknowledged = 0
        /// Sends still unacknowledged at their deadline.
        public var failed = 0
        /// Sends that needed more than one attempt, acknowledged or not.
        public var retried = 0
        /// Attempts of the acknowledged and failed sends.
        public var attempts = 0
        public var edits = 0
        public var editsFailed = 0
        public var reactions = 0
        public var reactionsFailed = 0
        /// Why sends failed for good (their last attempt's error).
        public var failures: [String: Int] = [:]
        /// Why attempts failed (`HTTP 503`, `no answer`, `connect failed`, …), retried or not.
        public var attemptErrors: [String: Int] = [:]

        public init() {}

        enum CodingKeys: String, CodingKey {
            case started, acknowledged, failed, retried, attempts, edits, editsFailed = "edits_failed", reactions
            case reactionsFailed = "reactions_failed", failures, attemptErrors = "attempt_errors"
        }

        /// What happened after `earlier` (a round's share of the counters).
        public func since(_ earlier: SendCounts) -> SendCounts {
            func minus(_ a: [String: Int], _ b: [String: Int]) -> [String: Int] {
                a.merging(b.mapValues { -$0 }, uniquingKeysWith: +).filter { $0.value != 0 }
            }
            var d = self
            d.started -= earlier.started
            d.acknowledged -= earlier.acknowledged
            d.failed -= earlier.failed
            d.retried -= earlier.retried
            d.attempts -= earlier.attempts
            d.edits -= earlier.edits
            d.editsFailed -= earlier.editsFailed
            d.reactions -= earlier.reactions
            d.reactionsFailed -= earlier.reactionsFailed
            d.failures = minus(failures, earlier.failures)
            d.attemptErrors = minus(attemptErrors, earlier.attemptErrors)
            return d
        }

        /// `HTTP 503 ×12, no answer ×3`.
        static func tally(_ counts: [String: Int]) -> String {
            counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                .map { "\($0.key) ×\(Report.grouped($0.value))" }.joined(separator: ", ")
        }

        var summary: String {
            var text = "\(Report.grouped(started)) started, \(Report.grouped(acknowledged)) acknowledged, \(Report.grouped(failed)) failed"
            if !failures.isEmpty { text += " (\(Self.tally(failures)))" }
            text += ", \(Report.grouped(retried)) retried, \(Report.grouped(attempts)) attempts"
            if !attemptErrors.isEmpty { text += "; failed attempts: \(Self.tally(attemptErrors))" }
            return text
        }
    }

    /// What one round measured and found.
    public struct RoundResult: Sendable, Equatable, Codable {
        public var round: Int
        public var fault: Fault
        public var target: String
        /// Seconds since the drill started.
        public var faultAtS: Double
        public var recoveredAtS: Double?
        /// From the fault until every surviving node's admin view showed the target `down`; nil if that
        /// did not happen (within 60 s, or within the pause).
        public var detectionMs: Double?
        /// From the restart (or SIGCONT) until every node showed the target `up` and a send to a channel
        /// it owns was acknowledged; nil if that did not happen within 60 s.
        public var rejoinMs: Double?
        public var windows: WindowSummary
        /// This round's share of the counters.
        public var sends: SendCounts
        /// The checks of the messages sent in this round, at its end.
        public var history: HistoryCheck
        public var stream: StreamCheck
        /// Node views of a channel's history that could not be read, and channels whose nodes disagreed.
        public var unreadableViews: Int
        public var divergentChannels: Int
        public var notes: [String]

        public init(
            round: Int, fault: Fault, target: String, faultAtS: Double, recoveredAtS: Double?, detectionMs: Double?, rejoinMs: Double?,
            windows: WindowSummary, sends: SendCounts, history: HistoryCheck, stream: StreamCheck, unreadableViews: Int,
            divergentChannels: Int, notes: [String]
        ) {
            self.round = round
            self.fault = fault
            self.target = target
            self.faultAtS = faultAtS
            self.recoveredAtS = recoveredAtS
            self.detectionMs = detectionMs
            self.rejoinMs = rejoinMs
            self.windows = windows
            self.sends = sends
            self.history = history
            self.stream = stream
            self.unreadableViews = unreadableViews
            self.divergentChannels = divergentChannels
            self.notes = notes
        }

        enum CodingKeys: String, CodingKey {
            case round, fault, target, faultAtS = "fault_at_s", recoveredAtS = "recovered_at_s", detectionMs = "detection_ms"
            case rejoinMs = "rejoin_ms", windows = "unavailable_windows", sends, history, stream
            case unreadableViews = "unreadable_views", divergentChannels = "divergent_channels", notes
        }

        public var passed: Bool { history.passed && stream.passed && unreadableViews == 0 }
    }

    /// The checks over everything the drill sent, at the end of the last round, and the whole run's counters.
    public struct Totals: Sendable, Equatable, Codable {
        public var sends: SendCounts
        public var history: HistoryCheck
        public var stream: StreamCheck
        public var unreadableViews: Int
        public var divergentChannels: Int
        /// Subscriber connections after the first, and REST reloads after `resume_failed`.
        public var reconnections: Int
        public var reloads: Int

        public init(sends: SendCounts, history: HistoryCheck, stream: StreamCheck, unreadableViews: Int, divergentChannels: Int, reconnections: Int, reloads: Int) {
            self.sends = sends
            self.history = history
            self.stream = stream
            self.unreadableViews = unreadableViews
            self.divergentChannels = divergentChannels
            self.reconnections = reconnections
            self.reloads = reloads
        }

        enum CodingKeys: String, CodingKey {
            case sends, history, stream, unreadableViews = "unreadable_views", divergentChannels = "divergent_channels"
            case reconnections, reloads
        }

        public var passed: Bool { history.passed && stream.passed && unreadableViews == 0 }
    }

    /// Everything a drill found: what `--json` writes and the final table shows.
    public struct Findings: Sendable, Equatable, Codable {
        public var configuration: Configuration
        /// Node names, in the order of `endpoints`.
        public var nodes: [String]
        public var endpoints: [String]
        public var runID: String
        public var rounds: [RoundResult]
        public var totals: Totals
        public var timeline: [TimelineBucket]
        public var faults: [FaultMark]

        public init(
            configuration: Configuration, nodes: [String], endpoints: [String], runID: String, rounds: [RoundResult], totals: Totals,
            timeline: [TimelineBucket], faults: [FaultMark]
        ) {
            self.configuration = configuration
            self.nodes = nodes
            self.endpoints = endpoints
            self.runID = runID
            self.rounds = rounds
            self.totals = totals
            self.timeline = timeline
            self.faults = faults
        }

        enum CodingKeys: String, CodingKey {
            case configuration, nodes, endpoints, runID = "run_id", rounds, totals, timeline, faults, passed
        }

        /// Nothing acknowledged was lost or duplicated, every stream was gap-free, every view was read.
        public var passed: Bool { totals.passed && rounds.allSatisfy(\.passed) }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(configuration, forKey: .configuration)
            try c.encode(nodes, forKey: .nodes)
            try c.encode(endpoints, forKey: .endpoints)
            try c.encode(runID, forKey: .runID)
            try c.encode(rounds, forKey: .rounds)
            try c.encode(totals, forKey: .totals)
            try c.encode(timeline, forKey: .timeline)
            try c.encode(faults, forKey: .faults)
            try c.encode(passed, forKey: .passed)
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                configuration: try c.decode(Configuration.self, forKey: .configuration), nodes: try c.decode([String].self, forKey: .nodes),
                endpoints: try c.decode([String].self, forKey: .endpoints), runID: try c.decode(String.self, forKey: .runID),
                rounds: try c.decode([RoundResult].self, forKey: .rounds), totals: try c.decode(Totals.self, forKey: .totals),
                timeline: try c.decode([TimelineBucket].self, forKey: .timeline), faults: try c.decode([FaultMark].self, forKey: .faults))
        }

        /// The `--json` file: pretty, with sorted keys.
        public func jsonData() throws -> Data {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            return try encoder.encode(self)
        }

        /// The `--plot` file.
        public func plot() -> [UInt8] {
            let c = configuration
            let title = "\(nodes.count) NODES, \(c.channels) CHANNELS X \(c.subscribersPerChannel) SUBSCRIBERS, \(Report.grouped(Int(c.rate))) MSG/S"
            return Plot.render(timeline: timeline, faults: faults, title: title)
        }
    }
}
