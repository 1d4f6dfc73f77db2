import ChorusModel
import Foundation

/// A message sent from one user to every user of a segment, each in a channel of the two of them
/// (Stream's campaigns; docs/stream-api.md, "Campaigns").
///
/// The campaign document holds what the API decides (its content, and whether it should run);
/// what its runner has done is a separate document, ``CampaignProgress``, that only runners
/// write. So a stop never races a runner's write, and what a client reads as the status is
/// derived from both (``status(progress:at:)``).
public struct Campaign: Sendable, Codable, Equatable {
    /// What the API asked for last.
    public enum Intent: String, Sendable, Codable {
        /// Not scheduled yet.
        case draft
        /// Runs from `scheduledFor` on (it may have started, or ended).
        case scheduled
        /// Stopped by the API; resumed, it carries on where it stopped.
        case stopped
    }

    /// What a client sees.
    public enum Status: String, Sendable, Codable {
        case draft, scheduled, running, stopped, completed
    }

    public var id: String
    public var name: String
    public var description: String
    /// The message, with `{{ user.name }}`-style fields (``CampaignTemplate``).
    public var text: String
    public var segmentID: String
    public var senderID: UserID
    public var channelType: String
    /// Values for template fields a user lacks, by field (`user.name`) or its last part (`name`).
    public var defaults: [String: String]
    public var attachments: [Attachment]
    public var intent: Intent
    public var scheduledFor: Timestamp?
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    public var scheduledAt: Timestamp?
    public var stoppedAt: Timestamp?
    public var resumedAt: Timestamp?

    public init(
        id: String, name: String, description: String, text: String, segmentID: String, senderID: UserID, channelType: String,
        defaults: [String: String], attachments: [Attachment], createdAt: Timestamp
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.text = text
        self.segmentID = segmentID
        self.senderID = senderID
        self.channelType = channelType
        self.defaults = defaults
        self.attachments = attachments
        self.intent = .draft
        self.createdAt = createdAt
        self.updatedAt = createdAt
    }

    /// The status a client sees at `now`; a run that halted (``CampaignProgress/haltedAt``) since
    /// it was last scheduled or resumed shows as stopped.
    public func status(progress: CampaignProgress, at now: Timestamp) -> Status {
        if progress.completedAt != nil { return .completed }
        switch intent {
        case .draft: return .draft
        case .stopped: return .stopped
        case .scheduled:
            if isHalted(progress) { return .stopped }
            return now < (scheduledFor ?? now) ? .scheduled : .running
        }
    }

    /// Whether the run halted since the campaign was last scheduled or resumed.
    public func isHalted(_ progress: CampaignProgress) -> Bool {
        guard let halted = progress.haltedAt else { return false }
        return halted >= max(scheduledAt ?? createdAt, resumedAt ?? createdAt)
    }

    /// The client message id each recipient's message carries: a runner that sends to a user
    /// again (after a crash, or while a failover briefly runs two) finds the first one instead.
    /// It names this campaign's creation too, so a campaign made again under the same id sends anew.
    var clientMessageID: String { "campaign-\(id)-\(createdAt.milliseconds)" }
}

/// How far a campaign got: only its runner writes it, after each batch (at most once a second).
public struct CampaignProgress: Sendable, Codable, Equatable {
    /// The creation time of the campaign it belongs to (one made again under the same id starts afresh).
    public var campaignCreatedAt: Timestamp?
    /// The last user handled (users go in ascending id order).
    public var cursor: UserID?
    /// The segment's size when the campaign started; once it completes, the users it handled.
    public var targeted = 0
    public var sent = 0
    public var failed = 0
    public var startedAt: Timestamp?
    public var completedAt: Timestamp?
    public var updatedAt: Timestamp?
    /// When the run stopped on something only a change can mend (its segment or sender is
    /// gone), and what; resuming the campaign tries again.
    public var haltedAt: Timestamp?
    public var error: String?

    public init() {}
}

/// A campaign's text with `{{ user.id }}`, `{{ user.name }}`, `{{ sender.id }}` and
/// `{{ sender.name }}` filled in; a field that is empty takes the campaign's default.
public enum CampaignTemplate {
    public static let fields: Set<String> = ["user.id", "user.name", "sender.id", "sender.name"]

    /// The fields `text` uses, in order; fails on one that is not in ``fields``.
    public static func check(_ text: String) throws {
        for field in parts(of: text).compactMap(\.field) where !fields.contains(field) {
            throw ChatError(.invalidRequest, "text: unknown template field {{ \(field.prefix(64)) }} (known: \(fields.sorted().joined(separator: ", ")))")
        }
    }

    public static func render(_ text: String, user: UserProfile, sender: UserProfile, defaults: [String: String]) -> String {
        var rendered = ""
        for part in parts(of: text) {
            guard let field = part.field else {
                rendered += part.text
                continue
            }
            let value: String =
                switch field {
                case "user.id": user.id.rawValue
                case "user.name": user.displayName
                case "sender.id": sender.id.rawValue
                case "sender.name": sender.displayName
                default: ""
                }
            let fallback = defaults[field] ?? defaults[String(field.split(separator: ".").last ?? "")] ?? ""
            rendered += value.isEmpty ? fallback : value
        }
        return rendered
    }

    /// `text` cut into literal text and `{{ field }}` references (the field trimmed).
    private static func parts(of text: String) -> [(text: String, field: String?)] {
        var parts: [(text: String, field: String?)] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            parts.append((String(rest[..<open.lowerBound]), nil))
            parts.append(("", rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)))
            rest = rest[close.upperBound...]
        }
        parts.append((String(rest), nil))
        return parts
    }
}
