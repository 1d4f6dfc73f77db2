import ChorusModel
import Distributed

/// What a channel's type allows (``ChannelTypeSettings``), checked on every call that it governs,
/// whichever API the call came through.
extension ChannelActor {
    /// The settings of this channel's type; nil when the type was removed (then the node's
    /// defaults apply). Looked up again only when the registry changed since the last time (a
    /// send checks them several times).
    var typeSettings: ChannelTypeSettings? {
        let generation = env.channelTypes.generation
        if let typeCache, typeCache.generation == generation { return typeCache.settings }
        let settings = env.channelTypes.settings(ChatNode.typeName(of: state))
        typeCache = (generation, settings)
        return settings
    }

    /// The node's limits, with the type's longest message.
    var limits: ChatLimits {
        var limits = env.limits
        if let settings = typeSettings { limits.maxMessageLength = settings.maxMessageLength }
        return limits
    }

    /// Refuses a call whose feature (`what`) the channel's type turns off, with 403
    /// `CHAT_DISABLED_BY_CHANNEL_TYPE`.
    func requireEnabled(_ feature: KeyPath<ChannelTypeSettings, Bool> & Sendable, _ what: String) throws(ChatError) {
        guard let settings = typeSettings, !settings[keyPath: feature] else { return }
        throw ChatError(.disabledByChannelType, "\(what) are turned off for channel type \(settings.name)")
    }

    /// Refuses `user`'s action (`permission`) when the type forbids it (403
    /// `CHAT_PERMISSION_DENIED`): the type's `permissions` policies first — the one of highest
    /// `priority` (a `Deny` first at equal priority) that names the action's resource (or `*`)
    /// and the user's channel role or `user` (or `*`), and, when it says `owner`, acts on the
    /// user's own message or reaction, decides — then, when none applies, its `grants`: a role
    /// they list needs `permission` there. Neither widens the built-in rules, which the call
    /// checks next; a server token acting as a user is not checked.
    func requireGranted(_ permission: String, to user: UserID, asServer: Bool) throws(ChatError) {
        guard !asServer, let settings = typeSettings, !settings.grants.isEmpty || !settings.permissions.isEmpty else { return }
        let role = state.members[user].map { Self.grantRole($0.member.role) } ?? "user"
        if let resource = Self.policyResources[permission] {
            let own = permission.hasSuffix("-owner") || permission.hasPrefix("create-") || permission == "delete-reaction"
            let deciding = settings.permissions
                .filter { policy in
                    (policy.resources.contains(resource) || policy.resources.contains("*"))
                        && (policy.roles.contains(role) || policy.roles.contains("user") || policy.roles.contains("*")) && (!policy.owner || own)
                }
                .max { ($0.priority, $0.action == "Deny" ? 1 : 0) < ($1.priority, $1.action == "Deny" ? 1 : 0) }
            if let deciding {
                guard deciding.action == "Deny" else { return }
                throw ChatError(.permissionDenied, "policy \(deciding.name) of channel type \(settings.name) denies \(resource) to role \(role)")
            }
        }
        guard let granted = settings.grants[role], !granted.contains(permission) else { return }
        throw ChatError(.permissionDenied, "role \(role) is not granted \(permission) in channel type \(settings.name)")
    }

    /// The policy resource (Stream's names) of each action that grants govern.
    static let policyResources: [String: String] = [
        "create-message": "CreateMessage", "update-message-owner": "UpdateMessage", "delete-message-owner": "DeleteMessage",
        "delete-message": "DeleteMessage", "create-reaction": "CreateReaction", "delete-reaction": "DeleteReaction",
        "read-channel": "ReadChannel", "send-custom-event": "SendCustomEvent",
    ]

    /// Refuses a message that calls a built-in command (`/giphy …`) the type does not enable
    /// (403 `CHAT_DISABLED_BY_CHANNEL_TYPE`). Chorus runs no command itself: an enabled one is
    /// posted as the text it is, for clients to act on.
    func checkCommand(_ body: String) throws(ChatError) {
        guard body.hasPrefix("/"), let settings = typeSettings else { return }
        let name = String(body.dropFirst().prefix { !$0.isWhitespace })
        guard ChannelTypeSettings.builtInCommands.contains(name), !settings.enabledCommands.contains(name) else { return }
        throw ChatError(.disabledByChannelType, "command /\(name) is not enabled for channel type \(settings.name)")
    }

    /// A member role's name in grants (Stream's channel roles).
    static func grantRole(_ role: MemberRole) -> String {
        switch role {
        case .owner: "owner"
        case .admin: "channel_moderator"
        case .member: "channel_member"
        }
    }

    /// Checks a message body and attachments against the type: attachments need `uploads`; a
    /// body with a word of the type's blocklist is refused (`block`, 400 `CHAT_MESSAGE_BLOCKED`)
    /// or accepted and logged for moderators (`flag`, the default).
    func checkContent(_ body: String, attachments: Int, messageID: MessageID?) throws(ChatError) {
        guard let settings = typeSettings else { return }
        try checkCommand(body)
        if attachments > 0 { try requireEnabled(\.uploads, "uploads") }
        guard let blocklist = settings.blocklist else { return }
        let words = env.channelTypes.blockedWords(in: body, blocklist: blocklist)
        guard !words.isEmpty else { return }
        if settings.blocklistBehavior == .block {
            throw ChatError(.messageBlocked, "the message has words of blocklist \(blocklist), which channel type \(settings.name) blocks")
        }
        env.logger.notice(
            "message flagged by a blocklist",
            metadata: ["channel": "\(state.info.id)", "message": "\(messageID.map { "\($0)" } ?? "new")", "blocklist": "\(blocklist)", "words": "\(words.count)"])
    }
}

extension ChannelActor {
    /// Removes the messages older than the type's `message_retention` (by the time in their ids,
    /// which is when they were sent), for everyone and from the store, with one `expired`
    /// record; returns whether anything was old enough. Types whose retention is `infinite`
    /// keep everything.
    public distributed func expireMessages() async throws -> Bool {
        guard let settings = typeSettings, let days = Int(settings.messageRetention), days > 0, !state.isPlaceholder else { return false }
        let now = env.clock.now()
        let cutoff = now.milliseconds - Int64(days) * 86_400_000 - SnowflakeGenerator.epochMilliseconds
        guard cutoff > 0 else { return false }
        let through = MessageID(rawValue: UInt64(cutoff) << UInt64(SnowflakeGenerator.nodeBits + SnowflakeGenerator.sequenceBits) - 1)
        guard try oldestLiveMessage().map({ $0 <= through }) ?? false else { return false }
        try await commit(.expired(through: through, at: now)) { _, _ in () }
        return true
    }

    /// The oldest message not yet erased, in memory or in the store.
    private func oldestLiveMessage() throws -> MessageID? {
        let erased = state.erasedThrough
        if state.hasOlderInStore, let store = env.store {
            let oldest = try store.messages(in: state.info.id, after: erased, before: nil, limit: 1, fromNewest: false).first?.id
            if let oldest { return oldest }
        }
        return state.recent.first { message in erased.map { message.id > $0 } ?? true }?.id
    }
}
