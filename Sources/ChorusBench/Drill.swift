/// `chorus drill`: the operator's failover drill.
///
/// A drill runs a fan-out load against a cluster (senders posting to fresh rooms at a fixed rate, with
/// edits and reactions, and WebSocket subscribers spread over every node), hurts one node per round
/// (SIGKILL, or SIGSTOP for a while), and measures what clients live through: how long the survivors
/// take to mark the node down, how long each channel cannot be written, how long the node takes to
/// rejoin. Then it checks what must never happen: an acknowledged send missing or posted twice in any
/// node's view of the history, and a WebSocket stream with a gap or a repeat.
///
/// The checks are pure values (``HistoryCheck``, ``StreamCheck``, ``Windows``, ``Timeline``) that the
/// unit tests drive with hand-made histories; sockets, processes and timers live in the shell around
/// them (``Runner``, ``Nodes``, ``Sender``, ``SubscriberRunner``).
public enum Drill {}

extension Drill {
    /// How a round hurts its target node.
    public enum Fault: String, Sendable, Codable, CaseIterable {
        /// SIGKILL; the node is restarted on its data directory once the round's duration has passed
        /// and the survivors have marked it down.
        case kill
        /// SIGSTOP, then SIGCONT after ``Configuration/pauseSeconds``: a node that hangs and comes back.
        case pause
        /// Cut the node off the network (network namespaces, needs root). Not implemented yet.
        case partition
    }

    /// Which node a round hurts.
    public enum TargetChoice: String, Sendable, Codable, CaseIterable {
        /// Any node, chosen with the drill's seeded generator.
        case random
        /// The owner of the channel with the most acknowledged sends so far.
        case busiest
        /// The metadata log's leader (as the first node that answers sees it): the worst case, since
        /// the survivors elect a new leader before it can take the node off the ring.
        case leader
    }

    /// The shape of a drill: the load, the rounds and their fault.
    public struct Configuration: Sendable, Equatable, Codable {
        /// Rooms, each with one sender and its subscribers.
        public var channels = 12
        /// WebSocket subscribers of each room, spread round-robin over the nodes.
        public var subscribersPerChannel = 3
        /// Messages per second offered over all rooms (open loop).
        public var rate = 60.0
        /// Seconds of load per round after the warm-up; the fault falls at a random moment in its first half.
        public var duration = 10.0
        /// Seconds of load at the start of each round before the fault may fall.
        public var warmup = 2.0
        public var rounds = 1
        public var fault = Fault.kill
        public var target = TargetChoice.random
        /// How long `pause` keeps the node stopped.
        public var pauseSeconds = 5.0
        /// How long one send is retried (same client_message_id, the next node each time) before it counts as failed.
        public var sendDeadline = 5.0
        /// The share of acknowledged messages that are then edited, and that get a reaction.
        public var editFraction = 0.1
        public var reactionFraction = 0.1
        /// Seconds to wait at the end of a round for subscribers to receive the whole history.
        public var drainTimeout = 10.0
        /// Load-generator threads.
        public var eventLoops = 2
        /// Seeds the fault moments and targets, so a drill can be repeated.
        public var seed: UInt64 = 1

        public init() {}

        enum CodingKeys: String, CodingKey {
            case channels, subscribersPerChannel = "subscribers_per_channel", rate, duration = "duration_s"
            case warmup = "warmup_s", rounds, fault, target, pauseSeconds = "pause_s", sendDeadline = "send_deadline_s"
            case editFraction = "edit_fraction", reactionFraction = "reaction_fraction", drainTimeout = "drain_timeout_s"
            case eventLoops = "event_loops", seed
        }

        /// Checks every field; the message names the flag to fix.
        public func validate() throws(BenchError) {
            func check(_ ok: Bool, _ message: String) throws(BenchError) { if !ok { throw BenchError(message) } }
            func seconds(_ value: Double, _ range: ClosedRange<Double>) -> Bool { value.isFinite && range.contains(value) }
            try check((1...1_000).contains(channels), "--channels must be from 1 to 1000")
            try check((1...1_000).contains(subscribersPerChannel), "--subscribers must be from 1 to 1000")
            try check(channels * subscribersPerChannel <= 20_000, "--channels × --subscribers must be at most 20000")
            try check(rate.isFinite && rate > 0 && rate <= 100_000, "--rate must be a number of messages per second above 0 (at most 100000)")
            try check(seconds(duration, 0.1...86_400), "--duration must be from 0.1 to 86400 seconds")
            try check(seconds(warmup, 0...3_600), "--warmup must be from 0 to 3600 seconds")
            try check((1...100).contains(rounds), "--rounds must be from 1 to 100")
            try check(seconds(pauseSeconds, 0.1...3_600), "--pause-seconds must be from 0.1 to 3600")
            try check(seconds(sendDeadline, 0.1...600), "--send-deadline-ms must be from 100 to 600000")
            try check(seconds(editFraction, 0...1), "--edits must be a fraction from 0 to 1")
            try check(seconds(reactionFraction, 0...1), "--reactions must be a fraction from 0 to 1")
            try check(seconds(drainTimeout, 0...600), "--drain-timeout must be from 0 to 600 seconds")
            try check((1...64).contains(eventLoops), "--event-loops must be from 1 to 64")
        }
    }

    /// How `--fault partition` cuts a node off: the node's cluster transport drops its peers' traffic
    /// both ways (`POST /v1/admin/faults`), which needs `cluster.fault_injection: true` on the nodes.
    /// The drill's own nodes have it; running nodes (`--url`) must be configured so.
    public static let partitionHow =
        "--fault partition asks the target (POST /v1/admin/faults) to drop its cluster traffic, which needs "
        + "cluster.fault_injection: true in the nodes' config (the nodes of --spawn and --cluster have it)"
}

extension Drill {
    /// A small seeded generator (SplitMix64), so `--seed` repeats a drill's fault moments and targets.
    public struct SplitMix64: RandomNumberGenerator, Sendable {
        private var state: UInt64

        public init(seed: UInt64) { state = seed }

        public mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            return Drill.mix(state)
        }

        /// A number in [0, 1).
        public mutating func unit() -> Double {
            Double(next() >> 11) / Double(UInt64(1) << 53)
        }
    }

    /// The SplitMix64 finalizer: spreads nearby inputs over all 64 bits (which sends get edited or a reaction).
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
