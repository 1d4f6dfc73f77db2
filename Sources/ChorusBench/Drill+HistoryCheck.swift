extension Drill {
    /// A send the drill got a 201 for: what every node's view of the history must hold.
    public struct Ack: Sendable, Equatable {
        public var round: Int
        public var clientID: String
        public var messageID: UInt64
        public var seq: UInt64
        /// An edit of it was acknowledged: its body must read ``Drill/editedBody(clientID:)``.
        public var edited: Bool
        /// A reaction to it was acknowledged: ``Drill/reactionEmote`` must be on it.
        public var reacted: Bool

        public init(round: Int, clientID: String, messageID: UInt64, seq: UInt64, edited: Bool = false, reacted: Bool = false) {
            self.round = round
            self.clientID = clientID
            self.messageID = messageID
            self.seq = seq
            self.edited = edited
            self.reacted = reacted
        }
    }

    /// One message as a node's history pages show it.
    public struct HistoryEntry: Sendable, Equatable {
        public var messageID: UInt64
        public var seq: UInt64
        /// The client id the body starts with (nil for an empty body).
        public var clientID: String?
        public var edited: Bool
        public var reacted: Bool

        public init(messageID: UInt64, seq: UInt64, clientID: String?, edited: Bool = false, reacted: Bool = false) {
            self.messageID = messageID
            self.seq = seq
            self.clientID = clientID
            self.edited = edited
            self.reacted = reacted
        }
    }

    // MARK: Client ids and bodies

    /// `<run>.r<round>.c<channel>.<n>`: unique in a run, a valid `client_message_id`
    /// (`A-Z a-z 0-9 - _ . :`), and it names its round, so a history can be split by round.
    public static func clientID(run: String, round: Int, channel: Int, index: Int) -> String {
        "\(run).r\(round).c\(channel).\(index)"
    }

    /// The round a drill client id was sent in; nil for any other text.
    public static func round(ofClientID id: String) -> Int? {
        let parts = id.split(separator: ".")
        guard parts.count >= 3, parts[1].first == "r" else { return nil }
        return Int(parts[1].dropFirst())
    }

    /// A message body starts with its client id, so a history shows which send each message came
    /// from, and a send posted twice shows as two messages with one client id.
    public static func messageBody(clientID: String) -> String { "\(clientID) drill message" }

    /// An edit keeps the client id at the start and says it was edited.
    public static func editedBody(clientID: String) -> String { "\(clientID) edited" }

    /// The client id a body starts with; nil for an empty body.
    public static func clientID(inBody body: String) -> String? {
        body.split(separator: " ", maxSplits: 1).first.map(String.init)
    }

    /// The emote of the drill's reactions.
    public static let reactionEmote = "777"

    // MARK: The check

    /// Every acknowledged send is in a node's view of its channel exactly once, in the order of the
    /// seqs its 201s carried, with its acknowledged edit and reaction; nothing appears twice.
    public struct HistoryCheck: Sendable, Equatable, Codable {
        public var acknowledged = 0
        /// Acknowledged messages whose id is not in the history.
        public var lost = 0
        /// Extra copies: a message id listed twice, or one client id on several messages.
        public var duplicated = 0
        /// Acknowledged messages listed before one acknowledged with a lower seq, or with another seq than their 201 said.
        public var outOfOrder = 0
        /// Client ids in the history that no 201 acknowledged (a send whose answer was lost, or one that timed out and still committed). Not an error.
        public var unacknowledged = 0
        /// Acknowledged edits and reactions missing from their message.
        public var lostEdits = 0
        public var lostReactions = 0

        public init(acknowledged: Int = 0, lost: Int = 0, duplicated: Int = 0, outOfOrder: Int = 0, unacknowledged: Int = 0, lostEdits: Int = 0, lostReactions: Int = 0) {
            self.acknowledged = acknowledged
            self.lost = lost
            self.duplicated = duplicated
            self.outOfOrder = outOfOrder
            self.unacknowledged = unacknowledged
            self.lostEdits = lostEdits
            self.lostReactions = lostReactions
        }

        enum CodingKeys: String, CodingKey {
            case acknowledged, lost, duplicated, outOfOrder = "out_of_order", unacknowledged
            case lostEdits = "lost_edits", lostReactions = "lost_reactions"
        }

        public var passed: Bool { lost == 0 && duplicated == 0 && outOfOrder == 0 && lostEdits == 0 && lostReactions == 0 }

        /// Checks one node's view of one channel (`history`, oldest first) against the sends acknowledged in it.
        public static func check(acks: [Ack], history: [HistoryEntry]) -> HistoryCheck {
            var result = HistoryCheck(acknowledged: acks.count)
            var position: [UInt64: Int] = [:]
            var copies: [String: Int] = [:]
            for (index, entry) in history.enumerated() {
                guard position[entry.messageID] == nil else {
                    result.duplicated += 1  // the same message listed twice
                    continue
                }
                position[entry.messageID] = index
                if let client = entry.clientID { copies[client, default: 0] += 1 }
            }
            result.duplicated += copies.values.reduce(0) { $0 + max($1 - 1, 0) }
            let acknowledged = Set(acks.map(\.clientID))
            result.unacknowledged = copies.keys.filter { !acknowledged.contains($0) }.count

            var furthest: Int?
            for ack in acks.sorted(by: { $0.seq < $1.seq }) {
                guard let index = position[ack.messageID] else {
                    result.lost += 1
                    continue
                }
                let entry = history[index]
                if entry.seq != ack.seq || (furthest.map { index < $0 } ?? false) {
                    result.outOfOrder += 1
                } else {
                    furthest = index
                }
                if ack.edited && !entry.edited { result.lostEdits += 1 }
                if ack.reacted && !entry.reacted { result.lostReactions += 1 }
            }
            return result
        }

        /// The worst of several nodes' views of one channel, field by field; nil for no views.
        public static func worst(_ checks: [HistoryCheck]) -> HistoryCheck? {
            guard var worst = checks.first else { return nil }
            for check in checks.dropFirst() {
                worst.lost = max(worst.lost, check.lost)
                worst.duplicated = max(worst.duplicated, check.duplicated)
                worst.outOfOrder = max(worst.outOfOrder, check.outOfOrder)
                worst.unacknowledged = max(worst.unacknowledged, check.unacknowledged)
                worst.lostEdits = max(worst.lostEdits, check.lostEdits)
                worst.lostReactions = max(worst.lostReactions, check.lostReactions)
            }
            return worst
        }

        /// Sums over channels.
        public static func + (a: HistoryCheck, b: HistoryCheck) -> HistoryCheck {
            HistoryCheck(
                acknowledged: a.acknowledged + b.acknowledged, lost: a.lost + b.lost, duplicated: a.duplicated + b.duplicated,
                outOfOrder: a.outOfOrder + b.outOfOrder, unacknowledged: a.unacknowledged + b.unacknowledged,
                lostEdits: a.lostEdits + b.lostEdits, lostReactions: a.lostReactions + b.lostReactions)
        }

        /// One line for the report.
        public var summary: String {
            var text = "\(Report.grouped(acknowledged)) acknowledged, \(Report.grouped(lost)) lost, \(Report.grouped(duplicated)) duplicated"
            if outOfOrder > 0 { text += ", \(Report.grouped(outOfOrder)) out of order" }
            if lostEdits > 0 || lostReactions > 0 { text += ", \(lostEdits) edits and \(lostReactions) reactions lost" }
            if unacknowledged > 0 { text += " (\(Report.grouped(unacknowledged)) committed without an acknowledgement: not an error)" }
            return text
        }
    }
}
