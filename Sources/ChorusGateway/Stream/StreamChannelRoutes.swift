import ChorusChat
import ChorusModel
import Hummingbird

/// The Stream-compatible channel endpoints: get-or-create with state, send, update, partial
/// update, hide/show and mark read (docs/stream-api.md, "Channels").
struct StreamChannelRoutes {
    let node: ChatNode
    let maxBodyBytes: Int
    let watch: StreamWatch

    func register(on api: RouterGroup<ChorusRequestContext>) {
        api.post("channels/:type/query", use: createWithMembers)
        api.post("channels/:type/:id/query", use: getOrCreate)
        api.post("channels/:type/:id/message", use: sendMessage)
        api.post("channels/:type/:id", use: update)
        api.patch("channels/:type/:id", use: partialUpdate)
        api.post("channels/:type/:id/hide") { request, context in try await setHidden(true, request, context) }
        api.post("channels/:type/:id/show") { request, context in try await setHidden(false, request, context) }
        api.post("channels/:type/:id/read", use: markRead)
        api.delete("channels/:type/:id", use: deleteChannel)
        // The router prefers the literal "query" segment, so these would otherwise be unmatched.
        for method in [HTTPRequest.Method.patch, .delete] {
            api.on("channels/:type/query", method: method) { _, _ -> Response in throw ChorusRequestContext.reservedChannelIDError }
        }
        api.post("channels/:type/:id/truncate", use: truncate)
        api.post("channels/:type/:id/event", use: sendEvent)
        api.post("channels/:type/:id/stop-watching", use: stopWatching)
    }

    /// The custom fields of a channel's `data`: everything but the built-in fields, nulls dropped.
    static func customData(_ data: StreamBody) -> [String: JSONValue] {
        data.fields.filter { !reservedData.contains($0.key) && $0.value != .null }
    }

    /// Fields of `data` that are not custom data.
    static let reservedData: Set<String> = [
        "id", "type", "cid", "name", "members", "created_by", "created_by_id", "created_at", "updated_at", "deleted_at",
        "last_message_at", "member_count", "frozen", "disabled", "config", "own_capabilities",
    ]

    @Sendable func getOrCreate(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        try await open(try context.channelAddress(), try await StreamBody.read(request, limit: maxBodyBytes), context: context)
    }

    /// `POST /channels/{type}/query` with `data.members` only: the id is derived from the member set.
    @Sendable func createWithMembers(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        guard let type = context.parameters.get("type"), let data = try body.object("data"), let members = try data.memberIDs("members"),
            !members.isEmpty
        else { throw StreamError.input("data.members is required to create a channel without an id") }
        let creator = try creator(of: data, context: context)
        guard let address = ChannelAddress(type: type, id: ChannelAddress.membersID(members + (creator.map { [$0] } ?? []))) else {
            throw StreamError.input("channel type must be 1-64 characters from [A-Za-z0-9_-]")
        }
        return try await open(address, body, context: context)
    }

    private func open(_ address: ChannelAddress, _ body: StreamBody, context: ChorusRequestContext) async throws -> Response {
        let data = try body.object("data")
        var creation: ChannelCreation?
        if let data, let creator = try creator(of: data, context: context) {
            let custom = Self.customData(data)
            try ChannelActor.validateCustom(custom)
            creation = ChannelCreation(
                createdBy: creator, name: try data.string("name") ?? "", custom: custom, members: try data.memberIDs("members") ?? [])
        } else if context.identity.map({ if case .user = $0 { true } else { false } }) == true {
            creation = ChannelCreation(createdBy: try context.requireStreamUser(named: nil, what: "create channels"), name: "", custom: [:], members: [])
        }
        let messagePage = try body.object("messages")
        let memberLimit = try body.object("members")?.int("limit", in: 0...100) ?? 100
        let memberOffset = try body.object("members")?.int("offset", in: 0...10_000) ?? 0
        let watchers = try Self.watcherRange(body)
        let presence = try body.bool("presence") ?? false
        let watchRequest = try StreamWatch.request(body)
        let viewer = try viewer(context, body: body)
        let (id, _) = try await node.openChannel(address, creating: creation)
        let view: ChannelView
        do {
            if let watchRequest {
                if context.identity == .anonymous { throw StreamError.notAllowed("anonymous users cannot watch channels") }
                try await watch.watch([id], watchRequest, as: viewer)
            }
            let messages = try await messagePageRequest(messagePage, in: id)
            view = try await node.withChannel(id) { try await $0.view(for: viewer, messages: messages) }
        } catch let error as ChatError where error.code == .channelNotFound {
            if creation == nil && context.isServer && data != nil {
                throw StreamError.input("data.created_by (or data.created_by_id) is required to create a channel with a server token")
            }
            throw StreamError.channelNotFound(address)
        }
        try Self.check(view, isAt: address)
        if context.identity == .anonymous, view.info.kind != .room {
            throw StreamError.notAllowed("anonymous users may only read public channels (livestream)")
        }
        let members = memberOffset..<(memberOffset + memberLimit)
        let shapes = try await StreamShapes.load(for: [view], node: node, presence: presence, members: members)
        return try StreamJSON.response(
            shapes.channelState(view, viewer: viewer, members: members, watchers: watchers),
            status: .created, context: context)
    }

    /// `messages: {"limit", "id_lt" | "id_lte" | "id_gt" | "id_gte"}`: the newest `limit` (default
    /// 25, at most 300) messages, or those before or after a message (named by either of its ids).
    private func messagePageRequest(_ page: StreamBody?, in channel: ChannelID) async throws -> MessagePageRequest {
        let limit = try page?.int("limit", in: 0...300) ?? 25
        let bounds = try ["id_lt", "id_lte", "id_gt", "id_gte"].compactMap { key in try page?.string(key).map { (key, $0) } }
        guard let (key, given) = bounds.first else { return .latest(limit: limit) }
        guard bounds.count == 1 else { throw StreamError.input("messages: give one of id_lt, id_lte, id_gt and id_gte") }
        var id = try await node.withChannel(channel) { try await $0.messageID(forStreamID: given) }
        if id == nil, let (found, message) = try await node.locateMessage(given), found == channel { id = message }
        guard let id else { throw StreamError.input("messages.\(key): no message \(given.prefix(80)) in this channel") }
        switch key {
        case "id_lt": return .before(id, limit: limit)
        // Inclusive bounds as the exclusive ones next to them (clamped: an id is client input).
        case "id_lte": return .before(MessageID(rawValue: min(id.rawValue, .max - 1) + 1), limit: limit)
        case "id_gt": return .after(id, limit: limit)
        default: return .after(MessageID(rawValue: max(id.rawValue, 1) - 1), limit: limit)
        }
    }

    /// The watchers a response lists: `watchers: {"limit", "offset"}` (default the first 100).
    static func watcherRange(_ body: StreamBody) throws -> Range<Int> {
        let page = try body.object("watchers")
        let offset = try page?.int("offset", in: 0...ChannelActor.viewedWatchersLimit) ?? 0
        let limit = try page?.int("limit", in: 0...100) ?? 100
        return offset..<(offset + limit)
    }

    /// `POST /channels/{type}/{id}/stop-watching` `{"connection_id"}`: the socket stops watching
    /// (it gets notification events of the channel again, if its user is a member).
    @Sendable func stopWatching(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        guard let connection = try body.string("connection_id"), !connection.isEmpty else {
            throw StreamError.input("connection_id is required")
        }
        if context.identity == .anonymous { throw StreamError.notAllowed("anonymous users cannot watch channels") }
        let address = try context.channelAddress()
        let (id, _) = try await node.openChannel(address, creating: nil)
        do {
            try await watch.stopWatching(id, connection: connection, as: try viewer(context, body: body))
        } catch let error as ChatError where error.code == .channelNotFound {
            throw StreamError.channelNotFound(address)
        }
        return try StreamJSON.response([:], context: context)
    }

    /// Who creates the channel: the token's user, or for a server the `created_by` the data names.
    private func creator(of data: StreamBody, context: ChorusRequestContext) throws -> UserID? {
        let named = try data.object("created_by")?.userID("id") ?? data.userID("created_by_id")
        return try context.streamUser(named: named)
    }

    /// The user whose view a call returns: the token's user, or the user a server call names.
    private func viewer(_ context: ChorusRequestContext, body: StreamBody) throws -> UserID? {
        try context.streamUser(named: try body.actingUser())
    }

    /// The existing channel at `address` as `viewer` sees it; Stream's "Can't find channel" if none.
    static func view(of address: ChannelAddress, for viewer: UserID?, messages: Int, node: ChatNode) async throws -> ChannelView {
        let (id, _) = try await node.openChannel(address, creating: nil)
        do {
            let view = try await node.withChannel(id) { try await $0.view(for: viewer, messages: .latest(limit: messages)) }
            try check(view, isAt: address)
            return view
        } catch let error as ChatError where error.code == .channelNotFound {
            throw StreamError.channelNotFound(address)
        }
    }

    /// A hashed id is shared by every cid with the same hash: refuse the second one.
    static func check(_ view: ChannelView, isAt address: ChannelAddress) throws {
        try check(view.address, isAt: address)
    }

    static func check(_ found: ChannelAddress, isAt address: ChannelAddress) throws {
        guard found == address else {
            throw StreamError.input("channel \(address.cid) has the same internal id as \(found.cid); choose another id")
        }
    }

    /// Runs `body` on the existing channel at the path's address, checking the address.
    func withChannel<Result: Sendable>(
        _ context: ChorusRequestContext, _ body: @Sendable (ChannelActor, ChannelID) async throws -> Result
    ) async throws -> (ChannelAddress, Result) {
        let address = try context.channelAddress()
        let (id, _) = try await node.openChannel(address, creating: nil)
        do {
            let result = try await node.withChannel(id) { channel in
                try Self.check(try await channel.address(), isAt: address)
                return try await body(channel, id)
            }
            return (address, result)
        } catch let error as ChatError where error.code == .channelNotFound {
            throw StreamError.channelNotFound(address)
        }
    }

    @Sendable func sendMessage(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        guard let message = try body.object("message") else { throw StreamError.input("message is required") }
        let sender = try context.requireStreamUser(named: try message.actingUser() ?? body.actingUser(), what: "send messages")
        let text = try message.string("text") ?? ""
        try refuseThreads(message, in: try context.channelAddress())
        let clientID = try message.string("id")
        if let clientID { try node.limits.validateClientMessageID(clientID) }
        let name = try await node.profile(of: sender).displayName
        let (address, sent) = try await withChannel(context) { channel, _ in
            try await channel.send(MessageDraft(body: text), from: sender, senderName: name, clientMessageID: clientID, asServer: context.isServer)
        }
        let shapes = StreamShapes(names: [sender: name])
        return try StreamJSON.response(["message": shapes.message(sent.message, cid: address.cid)], status: .created, context: context)
    }

    /// Replies (`parent_id`) and quotes (`quoted_message_id`): refused with 403 where the type
    /// turns them off, and with 400 elsewhere, as threads and quoted replies do not exist yet (a
    /// reply must not be posted as if it were not one).
    private func refuseThreads(_ message: StreamBody, in address: ChannelAddress) throws {
        for (key, feature, what) in [("parent_id", \ChannelTypeSettings.replies, "replies"), ("quoted_message_id", \.quotes, "quotes")]
        where message[key] != nil && message[key] != .null {
            if let settings = node.channelTypes.settings(address.type), !settings[keyPath: feature] {
                throw StreamError.notAllowed("\(what) are turned off for channel type \(settings.name)")
            }
            throw StreamError.input("message.\(key): \(what) are not supported yet (docs/stream-api.md, \"Not yet\")")
        }
    }

    /// The user a change is made as: the token's user; for a server, the channel's owner (a
    /// server may do anything its owner may, whoever the body names), else the user it names.
    private func actor(_ context: ChorusRequestContext, body: StreamBody, channel: ChannelActor) async throws -> UserID {
        let named = try body.actingUser()
        guard context.isServer else {
            guard let user = try context.streamUser(named: named) else { throw StreamError.notAllowed("anonymous users cannot change channels") }
            return user
        }
        guard let user = try await channel.owner() ?? named else {
            throw StreamError.notAllowed("this channel has no owner to act for; name a user_id")
        }
        return user
    }

    /// `POST /channels/{type}/{id}`: replace the data (name and custom fields), add or remove members.
    @Sendable func update(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        let data = try body.object("data")
        let added = try body.memberIDs("add_members") ?? []
        let removed = try body.memberIDs("remove_members") ?? []
        let promoted = try body.memberIDs("add_moderators") ?? []
        let demoted = try body.memberIDs("demote_moderators") ?? []
        for key in ["invites", "message"] where body[key] != nil {
            throw StreamError.input("\(key) is not supported yet (docs/stream-api.md, \"Not yet\")")
        }
        let server = context.isServer
        let custom = try data.map { data in
            let custom = Self.customData(data)
            try ChannelActor.validateCustom(custom)
            return custom
        }
        // Checked before anything changes, so a bad name does not leave half an update behind.
        let name = try data?.string("name")
        if let name { try node.limits.validateChannelName(name) }
        let (_, view) = try await withChannel(context) { channel, id in
            let actor = try await actor(context, body: body, channel: channel)
            for user in added {
                _ = try await channel.addMember(user, role: .member, by: actor)
            }
            for user in removed {
                try await channel.removeMember(user, by: actor)
            }
            if !promoted.isEmpty { _ = try await channel.setRole(.admin, of: promoted, by: actor, asServer: server) }
            if !demoted.isEmpty { _ = try await channel.setRole(.member, of: demoted, by: actor, asServer: server) }
            if let custom {
                return try await channel.changeProfile(name: name, ProfileChange(replace: true, set: custom), by: actor, asServer: server)
            }
            return try await channel.view(for: nil, messages: .latest(limit: 0))
        }
        let shapes = try await StreamShapes.load(for: [view], node: node)
        return try StreamJSON.response(
            ["channel": shapes.channel(view), "members": .array(view.members.map(shapes.member))], status: .created, context: context)
    }

    /// `PATCH /channels/{type}/{id}`: `set` and `unset` custom fields (and the name).
    @Sendable func partialUpdate(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        var set = try body.object("set")?.fields ?? [:]
        let unset = try body.strings("unset", max: 100) ?? []
        guard !set.isEmpty || !unset.isEmpty else { throw StreamError.input("set or unset is required") }
        if unset.contains("name") { throw StreamError.input("unset: name cannot be removed; set a new one") }
        let name = try StreamBody(set, path: "set").string("name")
        set["name"] = nil
        if let reserved = Set(set.keys).union(unset).intersection(Self.reservedData).sorted().first {
            throw StreamError.input("\(reserved) is a built-in field and cannot be changed here")
        }
        let server = context.isServer
        let change = ProfileChange(set: set, unset: unset)
        let (_, view) = try await withChannel(context) { channel, _ in
            let actor = try await actor(context, body: body, channel: channel)
            return try await channel.changeProfile(name: name, change, by: actor, asServer: server)
        }
        let shapes = try await StreamShapes.load(for: [view], node: node)
        return try StreamJSON.response(["channel": shapes.channel(view), "members": .array(view.members.map(shapes.member))], context: context)
    }

    func setHidden(_ hidden: Bool, _ request: Request, _ context: ChorusRequestContext) async throws -> Response {
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        let user = try context.requireStreamUser(named: try body.actingUser(), what: hidden ? "hide channels" : "show channels")
        let clear = try hidden && (body.bool("clear_history") ?? false)
        _ = try await withChannel(context) { channel, _ in
            if clear { try await channel.clearHistory(for: user) }
            try await channel.setHidden(hidden, by: user, clearHistory: clear)
        }
        return try StreamJSON.response([:], status: .created, context: context)
    }

    /// `DELETE /channels/{type}/{id}?hard_delete=true|false`: the channel as it was, with `deleted_at`.
    @Sendable func deleteChannel(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let hard = try Self.flag(request, "hard_delete")
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        let server = context.isServer
        let (_, view) = try await withChannel(context) { channel, _ in
            try await channel.deleteChannel(hard: hard, by: try await actor(context, body: body, channel: channel), asServer: server)
        }
        let shapes = try await StreamShapes.load(for: [view], node: node)
        var object = shapes.channelObject(view)
        object["deleted_at"] = StreamJSON.time(node.clock.now())
        return try StreamJSON.response(["channel": .object(object)], context: context)
    }

    /// `POST /channels/{type}/{id}/truncate` `{"hard_delete": bool}`: removes every message so far.
    @Sendable func truncate(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        let hard = try body.bool("hard_delete") ?? false
        if body["message"] != nil { throw StreamError.input("message is not supported yet on truncate (docs/stream-api.md, \"Not yet\")") }
        let server = context.isServer
        let (_, view) = try await withChannel(context) { channel, _ in
            try await channel.truncate(hard: hard, by: try await actor(context, body: body, channel: channel), asServer: server)
        }
        let shapes = try await StreamShapes.load(for: [view], node: node)
        var object = shapes.channelObject(view)
        object["truncated_at"] = StreamJSON.time(node.clock.now())
        return try StreamJSON.response(["channel": .object(object)], status: .created, context: context)
    }

    /// A boolean query parameter (`true`/`false`, as clients write them); absent is false.
    static func flag(_ request: Request, _ name: String) throws -> Bool {
        switch request.uri.queryParameters.get(name) {
        case nil, "false", "0": return false
        case "true", "1": return true
        default: throw StreamError.input("\(name) must be true or false")
        }
    }

    /// `POST /channels/{type}/{id}/read`: up to `message_id`, else the newest message.
    @Sendable func markRead(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        let user = try context.requireStreamUser(named: try body.actingUser(), what: "mark channels read")
        let given = try body.string("message_id")
        let (address, read) = try await withChannel(context) { channel, _ -> (ReadCursor, String)? in
            let target: MessageID
            var streamID = given
            if let given {
                guard let id = try await channel.messageID(forStreamID: given) else {
                    throw StreamError(.doesNotExist, .notFound, "Can't find message with id \(given.prefix(80))")
                }
                target = id
            } else {
                guard let newest = try await channel.view(for: user, messages: .latest(limit: 1)).messages.messages.last else {
                    return nil
                }
                target = newest.id
                streamID = StreamShapes.messageID(newest)
            }
            return (try await channel.markRead(target, by: user, asServer: context.isServer), streamID ?? target.description)
        }
        let cursor = read?.0
        let shapes = StreamShapes(names: try await node.displayNames(of: [user]))
        var event: [String: JSONValue] = [
            "type": "message.read", "cid": .string(address.cid), "channel_type": .string(address.type), "channel_id": .string(address.id),
            "user": shapes.user(user), "created_at": StreamJSON.time(cursor?.updatedAt ?? node.clock.now()),
        ]
        if let read { event["last_read_message_id"] = .string(read.1) }
        return try StreamJSON.response(["event": .object(event)], status: .created, context: context)
    }
}
