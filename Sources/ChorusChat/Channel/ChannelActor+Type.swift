import ChorusModel

/// What a channel's type allows (``ChannelTypeSettings``), checked on every call that it governs,
/// whichever API the call came through.
extension ChannelActor {
    /// The settings of this channel's type; nil when the type was removed (then the node's
    /// defaults apply).
    var typeSettings: ChannelTypeSettings? {
        env.channelTypes.settings(ChatNode.typeName(of: state))
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

    /// Checks a message body and attachments against the type: attachments need `uploads`; a
    /// body with a word of the type's blocklist is refused (`block`, 400 `CHAT_MESSAGE_BLOCKED`)
    /// or accepted and logged for moderators (`flag`, the default).
    func checkContent(_ body: String, attachments: Int, messageID: MessageID?) throws(ChatError) {
        guard let settings = typeSettings else { return }
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
