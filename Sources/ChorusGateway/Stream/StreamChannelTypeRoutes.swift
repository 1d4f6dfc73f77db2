import ChorusChat
import ChorusModel
import Foundation
import Hummingbird

/// Channel types (server tokens only): `POST /channeltypes`, `GET /channeltypes`,
/// `GET|PUT|DELETE /channeltypes/{name}` (docs/stream-api.md, "Channel types").
struct StreamChannelTypeRoutes {
    let node: ChatNode
    let maxBodyBytes: Int

    func register(on api: RouterGroup<ChorusRequestContext>) {
        api.post("channeltypes") { request, context in try await create(request, context) }
        api.get("channeltypes") { _, context in try list(context) }
        api.get("channeltypes/:name") { _, context in try get(context) }
        api.put("channeltypes/:name") { request, context in try await update(request, context) }
        api.delete("channeltypes/:name") { _, context in try await delete(context) }
    }

    /// What Stream's built-in commands (``ChannelTypeSettings/builtInCommands``) show.
    static let builtInCommands: [(name: String, description: String, args: String, set: String)] = [
        ("giphy", "Post a random gif to the channel", "[text]", "fun_set"),
        ("ban", "Ban a user", "[@username] [text]", "moderation_set"),
        ("unban", "Unban a user", "[@username]", "moderation_set"),
        ("mute", "Mute a user", "[@username]", "moderation_set"),
        ("unmute", "Unmute a user", "[@username]", "moderation_set"),
    ]

    /// A type's `blocklist` must name a configured word list (`chat.blocklists`).
    private func requireBlocklist(of settings: ChannelTypeSettings) throws {
        guard let name = settings.blocklist, !node.channelTypes.hasBlocklist(name) else { return }
        throw StreamError.input("blocklist \(name.prefix(64)) is not configured (chat.blocklists)")
    }

    /// The type named in the path, which must exist.
    private func existing(_ context: ChorusRequestContext) throws -> ChannelTypeSettings {
        let name = context.parameters.get("name") ?? ""
        guard let settings = node.channelTypes.settings(name) else {
            throw StreamError(.doesNotExist, .notFound, "channel type \(name.prefix(64)) does not exist")
        }
        return settings
    }

    func create(_ request: Request, _ context: ChorusRequestContext) async throws -> Response {
        try context.requireStreamServer("creating a channel type")
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        guard let name = try body.string("name") else { throw StreamError.input("name is required") }
        guard ChannelAddress(type: name, id: "x") != nil else {
            throw StreamError.input("name must be 1-\(ChannelAddress.maxTypeLength) characters from [A-Za-z0-9_-]")
        }
        guard node.channelTypes.settings(name) == nil else { throw StreamError.input("channel type \(name) already exists") }
        var settings = ChannelTypeSettings(name: name, at: node.clock.now())
        try Self.apply(body, to: &settings)
        try requireBlocklist(of: settings)
        try await node.saveChannelType(name, settings)
        return try StreamJSON.response(Self.shape(settings, commandObjects: false), status: .created, context: context)
    }

    func list(_ context: ChorusRequestContext) throws -> Response {
        try context.requireStreamServer("listing channel types")
        let types = node.channelTypes.all().map { ($0.name, JSONValue.object(Self.shape($0, commandObjects: true))) }
        return try StreamJSON.response(["channel_types": .object(Dictionary(uniqueKeysWithValues: types))], context: context)
    }

    func get(_ context: ChorusRequestContext) throws -> Response {
        try context.requireStreamServer("reading a channel type")
        return try StreamJSON.response(Self.shape(try existing(context), commandObjects: true), context: context)
    }

    /// Changes only the fields given; `permissions`, `grants` and `commands` are replaced whole.
    func update(_ request: Request, _ context: ChorusRequestContext) async throws -> Response {
        try context.requireStreamServer("changing a channel type")
        var settings = try existing(context)
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        try Self.apply(body, to: &settings)
        try requireBlocklist(of: settings)
        settings.updatedAt = node.clock.now()
        try await node.saveChannelType(settings.name, settings)
        return try StreamJSON.response(Self.shape(settings, commandObjects: false), status: .created, context: context)
    }

    /// Removes a type no live channel has. Built-in types stay.
    func delete(_ context: ChorusRequestContext) async throws -> Response {
        try context.requireStreamServer("deleting a channel type")
        let settings = try existing(context)
        guard !ChannelTypeSettings.builtInNames.contains(settings.name) else {
            throw StreamError.input("channel type \(settings.name) is built in and cannot be deleted")
        }
        let filter = try QueryFilter.parse(.object(["type": .string(settings.name)]))
        let inUse = try await node.queryChannels(filter, sort: QuerySort(), limit: 1)
        guard inUse.isEmpty else {
            throw StreamError.input("channel type \(settings.name) still has channels; delete them first")
        }
        try await node.saveChannelType(settings.name, nil)
        return try StreamJSON.response([:], context: context)
    }

    // MARK: Shapes

    /// Applies the fields `body` gives; throws 400 naming the first bad one.
    static func apply(_ body: StreamBody, to settings: inout ChannelTypeSettings) throws {
        let flags: [(String, WritableKeyPath<ChannelTypeSettings, Bool>)] = [
            ("typing_events", \.typingEvents), ("read_events", \.readEvents), ("connect_events", \.connectEvents),
            ("custom_events", \.customEvents), ("reactions", \.reactions), ("replies", \.replies), ("quotes", \.quotes),
            ("search", \.search), ("mutes", \.mutes), ("uploads", \.uploads), ("url_enrichment", \.urlEnrichment),
            ("push_notifications", \.pushNotifications), ("reminders", \.reminders),
        ]
        for (key, path) in flags {
            if let value = try body.bool(key) { settings[keyPath: path] = value }
        }
        switch body["message_retention"] {
        case .string(let text)?: settings.messageRetention = text
        case .number?: if let days = try body.int("message_retention", in: 1...36_500) { settings.messageRetention = String(days) }
        case nil: break
        default: throw StreamError.input("message_retention must be \"infinite\" or a number of days")
        }
        if let length = try body.int("max_message_length", in: 1...ChannelTypeSettings.maxMessageLengthLimit) {
            settings.maxMessageLength = length
        }
        if let automod = try body.string("automod") {
            guard let value = ChannelTypeSettings.Automod(rawValue: automod) else { throw StreamError.input("automod must be one of disabled, simple, AI") }
            settings.automod = value
        }
        if let behavior = try behavior(body, "automod_behavior") { settings.automodBehavior = behavior }
        if let behavior = try behavior(body, "blocklist_behavior") { settings.blocklistBehavior = behavior }
        if let blocklist = try body.string("blocklist") { settings.blocklist = blocklist }
        if let thresholds = body["automod_thresholds"] {
            guard case .object = thresholds else { throw StreamError.input("automod_thresholds must be an object") }
            settings.automodThresholds = thresholds
        }
        if let commands = try body.strings("commands", max: 50) { settings.commands = commands }
        if let grants = try body.object("grants") {
            var table: [String: [String]] = [:]
            for role in grants.fields.keys { table[role] = try grants.strings(role, max: 100) ?? [] }
            settings.grants = table
        }
        if let permissions = body["permissions"] { settings.permissions = try policies(permissions) }
        if let problem = settings.problem() { throw StreamError.input(problem) }
    }

    private static func behavior(_ body: StreamBody, _ key: String) throws -> ChannelTypeSettings.Behavior? {
        try body.string(key).map { raw in
            guard let value = ChannelTypeSettings.Behavior(rawValue: raw) else { throw StreamError.input("\(key) must be flag or block") }
            return value
        }
    }

    private static func policies(_ value: JSONValue) throws -> [ChannelTypeSettings.Policy] {
        guard case .array(let items) = value, items.count <= 100 else { throw StreamError.input("permissions must be an array of at most 100 policies") }
        return try items.enumerated().map { index, item in
            guard case .object(let fields) = item else { throw StreamError.input("permissions[\(index)] must be an object") }
            let policy = StreamBody(fields, path: "permissions[\(index)]")
            guard let name = try policy.string("name"), let priority = try policy.int("priority", in: 0...1_000_000) else {
                throw StreamError.input("permissions[\(index)] needs a name and a priority")
            }
            let action = try policy.string("action") ?? "Allow"
            guard action == "Allow" || action == "Deny" else { throw StreamError.input("permissions[\(index)].action must be Allow or Deny") }
            return ChannelTypeSettings.Policy(
                name: name, action: action, priority: priority, owner: try policy.bool("owner") ?? false,
                resources: try policy.strings("resources", max: 100) ?? [], roles: try policy.strings("roles", max: 100) ?? [])
        }
    }

    /// A type as Stream shows it: commands as names (create, update) or as objects (list, get).
    static func shape(_ settings: ChannelTypeSettings, commandObjects: Bool) -> [String: JSONValue] {
        let commands: [JSONValue] = settings.enabledCommands.map { name in
            guard commandObjects else { return .string(name) }
            let known = builtInCommands.first { $0.name == name }
            return [
                "name": .string(name), "description": .string(known?.description ?? ""), "args": .string(known?.args ?? ""),
                "set": .string(known?.set ?? ""),
            ]
        }
        var shape: [String: JSONValue] = [
            "name": .string(settings.name), "typing_events": .bool(settings.typingEvents), "read_events": .bool(settings.readEvents),
            "connect_events": .bool(settings.connectEvents), "custom_events": .bool(settings.customEvents),
            "reactions": .bool(settings.reactions), "replies": .bool(settings.replies), "quotes": .bool(settings.quotes),
            "search": .bool(settings.search), "mutes": .bool(settings.mutes), "uploads": .bool(settings.uploads),
            "url_enrichment": .bool(settings.urlEnrichment), "push_notifications": .bool(settings.pushNotifications),
            "reminders": .bool(settings.reminders), "message_retention": .string(settings.messageRetention),
            "max_message_length": .number(Double(settings.maxMessageLength)), "automod": .string(settings.automod.rawValue),
            "automod_behavior": .string(settings.automodBehavior.rawValue), "commands": .array(commands),
            "permissions": .array(settings.permissions.map { policy in
                [
                    "name": .string(policy.name), "action": .string(policy.action), "priority": .number(Double(policy.priority)),
                    "owner": .bool(policy.owner), "resources": .array(policy.resources.map(JSONValue.string)),
                    "roles": .array(policy.roles.map(JSONValue.string)),
                ]
            }),
            "grants": .object(settings.grants.mapValues { .array($0.map(JSONValue.string)) }),
            "created_at": StreamJSON.time(settings.createdAt), "updated_at": StreamJSON.time(settings.updatedAt),
        ]
        if let thresholds = settings.automodThresholds { shape["automod_thresholds"] = thresholds }
        if let blocklist = settings.blocklist { shape["blocklist"] = .string(blocklist) }
        if let behavior = settings.blocklistBehavior { shape["blocklist_behavior"] = .string(behavior.rawValue) }
        return shape
    }
}
