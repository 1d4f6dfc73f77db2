import ChorusChat
import ChorusModel

/// The Stream-compatible API's objects (channel, member, message, user, read state), built from
/// the engine's state. `names` holds the display names of the users the objects mention.
struct StreamShapes {
    var names: [UserID: String]
    /// The presence of the users a `presence: true` request shows (others show `online: false`).
    var presence: [UserID: UserPresence] = [:]

    /// The display names of every user `views` mention; with `presence`, also whether the
    /// members and watchers shown are online (asked of their user actors, in parallel).
    static func load(for views: [ChannelView], node: ChatNode, presence: Bool = false, members shown: Range<Int> = 0..<100) async throws -> StreamShapes {
        var users = Set<UserID>()
        var present = Set<UserID>()
        for view in views {
            users.formUnion(view.members.map(\.member.userID))
            users.formUnion(view.messages.messages.map(\.senderID))
            users.formUnion(view.watchers)
            if let creator = view.profile?.createdBy ?? view.info.ownerID { users.insert(creator) }
            if presence {
                present.formUnion(view.members[shown.clamped(to: view.members.indices)].map(\.member.userID))
                present.formUnion(view.watchers)
            }
        }
        var shapes = StreamShapes(names: try await node.displayNames(of: users))
        guard presence else { return shapes }
        shapes.presence = await withTaskGroup(of: (UserID, UserPresence?).self) { group in
            for user in present {
                group.addTask { (user, try? await node.withUser(user) { try await $0.presence() }) }
            }
            var found: [UserID: UserPresence] = [:]
            for await (user, presence) in group { found[user] = presence }
            return found
        }
        return shapes
    }

    func user(_ id: UserID) -> JSONValue {
        var object: [String: JSONValue] = ["id": .string(id.rawValue), "name": .string(names[id] ?? id.rawValue), "online": false]
        if let presence = presence[id] { Self.add(presence, to: &object) }
        return .object(object)
    }

    /// `online` and `last_active` of a user object.
    static func add(_ presence: UserPresence, to object: inout [String: JSONValue]) {
        object["online"] = .bool(presence.online)
        if let lastActive = presence.lastActive { object["last_active"] = StreamJSON.time(lastActive) }
    }

    /// A member's role as Stream names it: the creator is `owner`, admins are moderators.
    static func channelRole(_ role: MemberRole) -> String {
        switch role {
        case .owner: "owner"
        case .admin: "channel_moderator"
        case .member: "channel_member"
        }
    }

    func member(_ state: ChannelState.MemberState) -> JSONValue {
        let member = state.member
        return [
            "user_id": .string(member.userID.rawValue), "user": user(member.userID),
            "channel_role": .string(Self.channelRole(member.role)), "is_moderator": .bool(member.role != .member),
            "created_at": StreamJSON.time(member.joinedAt), "updated_at": StreamJSON.time(member.joinedAt),
            "banned": false, "shadow_banned": false,
        ]
    }

    /// The channel object: built-in fields, then custom data (which never overrides a built-in).
    func channel(_ view: ChannelView) -> JSONValue {
        .object(channelObject(view))
    }

    func channelObject(_ view: ChannelView) -> [String: JSONValue] {
        let address = view.address
        var object = view.profile?.custom ?? [:]
        let builtIn: [String: JSONValue] = [
            "id": .string(address.id), "type": .string(address.type), "cid": .string(address.cid),
            "created_at": StreamJSON.time(view.info.createdAt), "updated_at": StreamJSON.time(view.updatedAt),
            "frozen": false, "disabled": false, "member_count": .number(Double(view.members.count)),
            "last_message_at": view.lastMessageAt.map(StreamJSON.time) ?? .null,
        ]
        object.merge(builtIn) { _, builtIn in builtIn }
        if !view.info.name.isEmpty { object["name"] = .string(view.info.name) }
        if let creator = view.profile?.createdBy ?? view.info.ownerID { object["created_by"] = user(creator) }
        return object
    }

    /// The id a message has on this API: the client's own id when it gave one, else the engine's.
    static func messageID(_ message: Message) -> String {
        messageID(message.id, clientID: message.clientMessageID)
    }

    static func messageID(_ id: MessageID, clientID: String?) -> String {
        if let clientID, !clientID.hasPrefix("edge-") { return clientID }
        return id.description
    }

    func message(_ message: Message, cid: String) -> JSONValue {
        var counts: [String: JSONValue] = [:]
        var latest: [JSONValue] = []
        for reaction in message.reactions {
            counts[reaction.emoteAssetID.rawValue] = .number(Double(reaction.count))
            for reactor in reaction.userIDs.suffix(10) {
                latest.append([
                    "type": .string(reaction.emoteAssetID.rawValue), "user_id": .string(reactor.rawValue), "user": user(reactor),
                    "message_id": .string(Self.messageID(message)), "score": 1,
                ])
            }
        }
        return [
            "id": .string(Self.messageID(message)), "cid": .string(cid), "text": .string(message.body),
            "type": .string(message.deleted ? "deleted" : "regular"), "user": user(message.senderID),
            "created_at": StreamJSON.time(message.createdAt), "updated_at": StreamJSON.time(message.editedAt ?? message.createdAt),
            "deleted_at": message.deleted ? StreamJSON.time(message.editedAt ?? message.createdAt) : .null,
            "attachments": .array(message.attachments.map(Self.attachment)),
            "latest_reactions": .array(latest), "own_reactions": [], "reaction_counts": .object(counts), "reaction_scores": .object(counts),
            "reply_count": 0, "mentioned_users": [], "silent": false, "pinned": false, "shadowed": false,
        ]
    }

    /// An upload as messages (and campaigns) show it.
    static func attachment(_ attachment: Attachment) -> JSONValue {
        [
            "asset_id": .string(attachment.assetID.rawValue), "title": .string(attachment.filename),
            "mime_type": .string(attachment.contentType), "file_size": .number(Double(attachment.sizeBytes)),
        ]
    }

    /// The read state of every member who has read something.
    func read(_ view: ChannelView, viewer: UserID?) -> JSONValue {
        .array(view.members.compactMap { state -> JSONValue? in
            guard let cursor = state.readCursor else { return nil }
            var entry: [String: JSONValue] = [
                "user": user(state.member.userID), "last_read": StreamJSON.time(cursor.updatedAt),
                "last_read_message_id": .string(Self.messageID(cursor.lastReadMessageID, clientID: view.clientIDs[cursor.lastReadMessageID])),
            ]
            if state.member.userID == viewer, let unread = view.unreadCount { entry["unread_messages"] = .number(Double(unread)) }
            return .object(entry)
        })
    }

    /// What get-or-create and query channels return for one channel.
    func channelState(_ view: ChannelView, viewer: UserID?, members: Range<Int> = 0..<100, watchers: Range<Int> = 0..<100) -> [String: JSONValue] {
        let cid = view.address.cid
        let shown = view.watchers[watchers.clamped(to: view.watchers.indices)]
        var state: [String: JSONValue] = [
            "channel": channel(view),
            "members": .array(view.members[members.clamped(to: view.members.indices)].map(member)),
            "messages": .array(view.messages.messages.map { message($0, cid: cid) }),
            "pinned_messages": [], "watchers": .array(shown.map(user)), "watcher_count": .number(Double(view.watcherCount)),
            "read": read(view, viewer: viewer),
        ]
        if let viewer, let membership = view.members.first(where: { $0.member.userID == viewer }) {
            state["membership"] = member(membership)
            state["hidden"] = .bool(membership.hidden)
        }
        return state
    }
}

