/// A channel type's settings (Stream's channel type config): what every channel of the type
/// allows, through both APIs. The built-in types (``builtInNames``) exist from the start with
/// ``builtIn(_:defaultMaxMessageLength:)``'s settings; an app may change them and add its own
/// (docs/stream-api.md, "Channel types").
public struct ChannelTypeSettings: Sendable, Equatable, Codable {
    /// Automatic moderation (stored and returned; Chorus runs none).
    public enum Automod: String, Sendable, Codable, CaseIterable {
        case disabled, simple, AI
    }

    /// What a moderation rule does to a message it matches.
    public enum Behavior: String, Sendable, Codable, CaseIterable {
        case flag, block
    }

    /// One permission policy (Stream's `PolicyRequest`): stored and returned.
    public struct Policy: Sendable, Equatable, Codable {
        public var name: String
        public var action: String
        public var priority: Int
        public var owner: Bool
        public var resources: [String]
        public var roles: [String]

        public init(name: String, action: String, priority: Int, owner: Bool, resources: [String], roles: [String]) {
            self.name = name
            self.action = action
            self.priority = priority
            self.owner = owner
            self.resources = resources
            self.roles = roles
        }
    }

    public var name: String
    public var typingEvents = true
    public var readEvents = true
    public var connectEvents = true
    public var customEvents = true
    public var reactions = true
    public var replies = true
    public var quotes = true
    public var search = true
    public var mutes = true
    public var uploads = true
    public var urlEnrichment = true
    public var pushNotifications = true
    public var reminders = false
    /// `infinite`, or a number of days as a decimal string.
    public var messageRetention = "infinite"
    public var maxMessageLength = 5_000
    public var automod = Automod.disabled
    public var automodBehavior = Behavior.flag
    /// Stored and returned as given (`{"explicit": {"flag": 0.6, "block": 0.9}, …}`).
    public var automodThresholds: JSONValue?
    public var blocklist: String?
    public var blocklistBehavior: Behavior?
    /// Command names (`all` stands for every built-in command).
    public var commands = ["all"]
    public var permissions: [Policy] = []
    /// Role name → the permissions it is granted.
    public var grants: [String: [String]] = [:]
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(name: String, at time: Timestamp) {
        self.name = name
        self.createdAt = time
        self.updatedAt = time
    }

    /// The longest `max_message_length` a type may set.
    public static let maxMessageLengthLimit = 20_000

    /// The types every app has: Stream's, then the v1 API's kinds.
    public static let builtInNames = ["messaging", "team", "livestream", "commerce", "gaming", "dm", "group", "room"]

    /// Stream's built-in commands, which `all` in ``commands`` stands for.
    public static let builtInCommands = ["giphy", "ban", "unban", "mute", "unmute"]

    /// The commands the type enables: ``commands`` with `all` expanded.
    public var enabledCommands: [String] {
        guard commands.contains("all") else { return commands }
        return Self.builtInCommands + commands.filter { $0 != "all" && !Self.builtInCommands.contains($0) }
    }

    /// A built-in type's settings before any change (Chorus's choice, documented in
    /// docs/stream-api.md): everything on, except that `livestream` has no read or connect events,
    /// URL enrichment or mutes (large audiences) and `commerce` no replies or mutes; the v1 kinds
    /// take the node's configured message length.
    public static func builtIn(_ name: String, defaultMaxMessageLength: Int) -> ChannelTypeSettings? {
        guard builtInNames.contains(name) else { return nil }
        var settings = ChannelTypeSettings(name: name, at: Timestamp(milliseconds: 0))
        switch name {
        case "livestream":
            settings.readEvents = false
            settings.connectEvents = false
            settings.urlEnrichment = false
            settings.mutes = false
        case "commerce":
            settings.replies = false
            settings.mutes = false
        case "dm", "group", "room":
            settings.maxMessageLength = defaultMaxMessageLength
        default:
            break
        }
        return settings
    }

    /// The first thing wrong with these settings, if any.
    public func problem() -> String? {
        if !(1...Self.maxMessageLengthLimit).contains(maxMessageLength) {
            return "max_message_length must be 1-\(Self.maxMessageLengthLimit)"
        }
        if messageRetention != "infinite", Int(messageRetention).map({ $0 < 1 || $0 > 36_500 }) ?? true {
            return "message_retention must be \"infinite\" or a number of days (1-36500)"
        }
        if let blocklist, blocklist.isEmpty || blocklist.count > 64 { return "blocklist must be 1-64 characters" }
        for command in commands where command.isEmpty || command.count > 64 { return "commands: each name must be 1-64 characters" }
        if commands.count > 50 { return "commands: at most 50" }
        if permissions.count > 100 { return "permissions: at most 100 policies" }
        if grants.count > 50 || grants.values.contains(where: { $0.count > 100 }) { return "grants: at most 50 roles of 100 permissions" }
        return nil
    }
}
