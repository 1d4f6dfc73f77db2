extension Drill {
    /// Every message of a subscriber's channel reached it, over its WebSocket connections (live, or
    /// replayed after a `resume`) or, where the server said the history was gone (`resume_failed`
    /// `HISTORY_UNAVAILABLE`), from the REST reload the protocol prescribes; and no message came twice
    /// over the socket, or out of order.
    ///
    /// Subscribers join before the first send, so the channel's whole message history is expected.
    public struct StreamCheck: Sendable, Equatable, Codable {
        public var subscribers = 0
        /// Messages of the history that never reached the subscriber.
        public var gaps = 0
        /// A message delivered again over the socket (not counting repeats the protocol tells the
        /// client to drop after a `resume_failed`).
        public var duplicates = 0
        /// A message delivered after one with a higher seq.
        public var outOfOrder = 0
        /// A message delivered that is not in the history.
        public var unexpected = 0

        public init(subscribers: Int = 0, gaps: Int = 0, duplicates: Int = 0, outOfOrder: Int = 0, unexpected: Int = 0) {
            self.subscribers = subscribers
            self.gaps = gaps
            self.duplicates = duplicates
            self.outOfOrder = outOfOrder
            self.unexpected = unexpected
        }

        enum CodingKeys: String, CodingKey { case subscribers, gaps, duplicates, outOfOrder = "out_of_order", unexpected }

        public var passed: Bool { gaps == 0 && duplicates == 0 && outOfOrder == 0 && unexpected == 0 }

        /// Checks one subscriber: `delivered` are the seqs of the `message` events it got over its sockets,
        /// in arrival order; `reloaded` the seqs it read over REST; `expected` the seqs of its channel's
        /// messages. With `countUnexpected` false, deliveries outside `expected` are left out (a check
        /// of one round's messages).
        public static func check(delivered: [UInt64], reloaded: Set<UInt64>, expected: [UInt64], countUnexpected: Bool = true) -> StreamCheck {
            var result = StreamCheck(subscribers: 1)
            let expectedSet = Set(expected)
            var seen = Set<UInt64>()
            var highest: UInt64?
            for seq in delivered {
                let known = expectedSet.contains(seq)
                if !known {
                    guard countUnexpected else { continue }
                    result.unexpected += 1
                }
                guard seen.insert(seq).inserted else {
                    result.duplicates += 1
                    continue
                }
                if let top = highest, seq < top { result.outOfOrder += 1 }
                highest = max(highest ?? seq, seq)
            }
            result.gaps = expectedSet.filter { !seen.contains($0) && !reloaded.contains($0) }.count
            return result
        }

        /// What a subscriber with gaps missed, for a person tracing it: each missing seq with the
        /// seqs that arrived just before and after it on the sockets, and how many were reloaded.
        public static func gapReport(delivered: [UInt64], reloaded: Set<UInt64>, expected: [UInt64], subscriber: String) -> String {
            let seen = Set(delivered)
            let missing = expected.filter { !seen.contains($0) && !reloaded.contains($0) }.sorted()
            let shown = missing.prefix(5).map { seq in
                let before = delivered.last { $0 < seq }.map(String.init) ?? "none"
                let after = delivered.first { $0 > seq }.map(String.init) ?? "none"
                return "\(seq) (delivered before: \(before), after: \(after))"
            }
            let more = missing.count > shown.count ? ", and \(missing.count - shown.count) more" : ""
            return "stream gap: \(subscriber) missed seq \(shown.joined(separator: ", "))\(more); "
                + "\(delivered.count) delivered, \(reloaded.count) reloaded"
        }

        /// Sums over subscribers.
        public static func + (a: StreamCheck, b: StreamCheck) -> StreamCheck {
            StreamCheck(
                subscribers: a.subscribers + b.subscribers, gaps: a.gaps + b.gaps, duplicates: a.duplicates + b.duplicates,
                outOfOrder: a.outOfOrder + b.outOfOrder, unexpected: a.unexpected + b.unexpected)
        }

        /// One line for the report.
        public var summary: String {
            let head = "\(Report.grouped(subscribers)) subscribers: "
            guard !passed else { return head + "every message exactly once, in order" }
            return head + "\(Report.grouped(gaps)) gaps, \(Report.grouped(duplicates)) duplicates, "
                + "\(Report.grouped(outOfOrder)) out of order, \(Report.grouped(unexpected)) not in the history"
        }
    }
}
