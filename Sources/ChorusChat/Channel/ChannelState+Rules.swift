import ChorusModel

/// The chat rules: each `decide…` function checks a command against the current state and returns
/// the record to log, or throws the ``ChatError`` the client gets. None of them changes state.
///
/// Check order follows the API contract: the channel exists (the actor exists), then membership,
/// then channel kind (DMs cannot be modified), then role, then the command's own arguments.
extension ChannelState {
    /// `CHAT_CHANNEL_NOT_FOUND` once the channel is deleted.
    public func requireLive() throws(ChatError) {
        if deletedAt != nil { throw ChatError(.channelNotFound, "channel \(info.id) was deleted") }
    }

    /// The caller's role; `CHAT_NOT_MEMBER` if they are not a member.
    public func requireMember(_ user: UserID) throws(ChatError) -> MemberRole {
        try requireLive()
        guard let role = role(of: user) else { throw ChatError.notMember }
        return role
    }

    /// Rename a group or room: owner/admin only, never a DM.
    public func decideUpdate(name: String, by user: UserID, at: Timestamp, limits: ChatLimits) throws(ChatError) -> ChannelRecord {
        let role = try requireMember(user)
        if info.kind == .dm { throw ChatError(.cannotModifyDM, "DM channels cannot be modified") }
        guard role.canManage else { throw ChatError(.notAdmin, "only the owner or an admin can update this channel") }
        try limits.validateChannelName(name)
        return .updated(name: name, by: user, at: at)
    }

    /// Whether `actor` may add `target` with `role`; throws the reason if not.
    ///
    /// Owners and admins may add anyone as `member` or `admin`; in a room anyone may add themself as
    /// `member` (join). Nobody adds an `owner`. Does not check that the target user exists.
    public func authorizeAddMember(_ target: UserID, role: MemberRole, by actor: UserID) throws(ChatError) {
        try requireLive()
        let actorRole = self.role(of: actor)
        if info.kind == .dm {
            _ = try requireMember(actor)
            throw ChatError(.cannotModifyDM, "DM channels cannot be modified")
        }
        if info.kind == .room && actor == target {
            if actorRole != nil { throw ChatError(.alreadyMember, "you are already a member") }
            guard role == .member else {
                throw ChatError(.notAdmin, "joining a room gives role member; only the owner or an admin grants admin")
            }
            return
        }
        guard let actorRole else { throw ChatError.notMember }
        guard actorRole.canManage else { throw ChatError(.notAdmin, "only the owner or an admin can add members") }
        if role == .owner { throw ChatError(.invalidRequest, "role must be member or admin; a channel has one owner") }
        if members[target] != nil { throw ChatError(.alreadyMember, "user \(target) is already a member") }
    }

    /// Add `member` (whose user must exist), while the channel has fewer than
    /// `limits.maxMembersPerChannel` members.
    public func decideAddMember(_ member: Member, by actor: UserID, limits: ChatLimits = ChatLimits()) throws(ChatError) -> ChannelRecord {
        try authorizeAddMember(member.userID, role: member.role, by: actor)
        guard members.count < limits.maxMembersPerChannel else {
            throw ChatError(.invalidRequest, "the channel has \(members.count) members, the most a channel may have (limits.max_members_per_channel)")
        }
        return .memberAdded(member, by: actor)
    }

    /// Remove `target`: anyone may leave; owners and admins may remove others; nobody removes the owner.
    public func decideRemoveMember(_ target: UserID, by actor: UserID, at: Timestamp) throws(ChatError) -> ChannelRecord {
        let actorRole = try requireMember(actor)
        if info.kind == .dm { throw ChatError(.cannotModifyDM, "DM channels cannot be modified") }
        guard let targetRole = role(of: target) else {
            throw ChatError(.userNotFound, "user \(target) is not a member of this channel")
        }
        if targetRole == .owner { throw ChatError(.cannotRemoveOwner, "the owner cannot be removed from the channel") }
        if target != actor && !actorRole.canManage {
            throw ChatError(.notAdmin, "only the owner or an admin can remove other members")
        }
        return .memberRemoved(target, by: actor, at: at)
    }

    /// Post a message; `id` is made by the caller and must be larger than every id in the channel.
    public func decideSend(
        _ draft: MessageDraft, id: MessageID, from sender: UserID, senderName: String, at: Timestamp, limits: ChatLimits,
        clientMessageID: String? = nil
    ) throws(ChatError) -> ChannelRecord {
        _ = try requireMember(sender)
        try limits.validate(draft)
        if let clientMessageID { try limits.validateClientMessageID(clientMessageID) }
        precondition(recent.last.map { $0.id < id } ?? true, "message ids must increase within a channel")
        return .messageSent(NewMessage(id: id, senderID: sender, senderName: senderName, draft: draft, at: at, clientMessageID: clientMessageID))
    }

    /// Replace the body (and inline emotes) of the caller's own message. Attachments are kept.
    public func decideEdit(
        _ id: MessageID, body: String, inlineEmotes: [InlineEmote], by user: UserID, at: Timestamp, limits: ChatLimits
    ) throws(ChatError) -> ChannelRecord {
        _ = try requireMember(user)
        let message = try liveMessage(id)
        guard message.senderID == user else { throw ChatError(.notMessageAuthor, "only the author can edit a message") }
        try limits.validate(MessageDraft(body: body, attachments: message.attachments, inlineEmotes: inlineEmotes))
        return .messageEdited(id, body: body, inlineEmotes: inlineEmotes, at: at)
    }

    /// Delete a message: its author, or an owner/admin. `nil` when it is already deleted (nothing to log).
    public func decideDelete(_ id: MessageID, by user: UserID, at: Timestamp) throws(ChatError) -> ChannelRecord? {
        let role = try requireMember(user)
        guard let message = message(id), !isErased(id) else { throw ChatError.messageNotFound(id) }
        if message.deleted { return nil }
        guard message.senderID == user || role.canManage else {
            throw ChatError(.notMessageAuthor, "only the author, the owner or an admin can delete a message")
        }
        return .messageDeleted(id, by: user, at: at)
    }

    /// React to a message with an emote, once per user and emote.
    public func decideAddReaction(_ id: MessageID, emote: AssetID, by user: UserID, at: Timestamp) throws(ChatError) -> ChannelRecord {
        _ = try requireMember(user)
        let message = try liveMessage(id)
        if message.reactions.contains(where: { $0.emoteAssetID == emote && $0.userIDs.contains(user) }) {
            throw ChatError(.reactionExists, "you already reacted with emote \(emote)")
        }
        return .reactionAdded(id, emote: emote, user: user, at: at)
    }

    /// Take back the caller's reaction.
    public func decideRemoveReaction(_ id: MessageID, emote: AssetID, by user: UserID, at: Timestamp) throws(ChatError) -> ChannelRecord {
        _ = try requireMember(user)
        let message = try liveMessage(id)
        guard message.reactions.contains(where: { $0.emoteAssetID == emote && $0.userIDs.contains(user) }) else {
            throw ChatError(.reactionNotFound, "you have no reaction with emote \(emote) on this message")
        }
        return .reactionRemoved(id, emote: emote, user: user, at: at)
    }

    /// Move the caller's read cursor to message `id` (which must exist; deleted messages count).
    public func decideMarkRead(_ id: MessageID, by user: UserID, at: Timestamp) throws(ChatError) -> ChannelRecord {
        _ = try requireMember(user)
        guard message(id) != nil, !isErased(id) else { throw ChatError.messageNotFound(id) }
        return .readCursorSet(user: user, message: id, at: at)
    }

    /// Hide or show the channel in the caller's list; `nil` when it already is.
    public func decideHidden(_ hidden: Bool, by user: UserID, at: Timestamp) throws(ChatError) -> ChannelRecord? {
        _ = try requireMember(user)
        guard members[user]?.hidden != hidden else { return nil }
        return hidden ? .hidden(user: user, at: at) : .shown(user: user, at: at)
    }

    /// The attachment `asset` of message `id`.
    public func attachment(_ asset: AssetID, of id: MessageID, for user: UserID) throws(ChatError) -> Attachment {
        _ = try requireMember(user)
        let message = try liveMessage(id)
        guard let attachment = message.attachments.first(where: { $0.assetID == asset }) else {
            throw ChatError(.notFound, "message \(id) has no attachment \(asset)")
        }
        return attachment
    }

    private func liveMessage(_ id: MessageID) throws(ChatError) -> Message {
        guard let message = message(id), !message.deleted, !isErased(id) else { throw ChatError.messageNotFound(id) }
        return message
    }
}
