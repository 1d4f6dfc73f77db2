import ChorusChat
import ChorusModel
import Hummingbird

/// Messages by id and reactions: `GET/POST/PUT/DELETE /messages/{id}`,
/// `POST /messages/{id}/reaction`, `DELETE /messages/{id}/reaction/{type}`,
/// `GET /messages/{id}/reactions`, and `GET /channels/{type}/{id}/messages?ids=…`.
///
/// A message is found by the id this API gave it (``ChatNode/locateMessage(_:)``): the sender's
/// own id, or the engine id.
struct StreamMessageRoutes {
    let node: ChatNode
    let maxBodyBytes: Int

    func register(on api: RouterGroup<ChorusRequestContext>) {
        api.get("messages/:messageID", use: getMessage)
        api.post("messages/:messageID", use: updateMessage)
        api.put("messages/:messageID", use: partialUpdateMessage)
        api.delete("messages/:messageID", use: deleteMessage)
        api.post("messages/:messageID/reaction", use: addReaction)
        api.delete("messages/:messageID/reaction/:reactionType", use: removeReaction)
        api.get("messages/:messageID/reactions", use: reactions)
        api.get("channels/:type/:id/messages", use: messagesByID)
    }

    /// The message the path names: its channel's actor and address, and its engine id.
    private func locate(_ context: ChorusRequestContext) async throws -> (ChannelID, MessageID, String) {
        guard let key = context.parameters.get("messageID"), !key.isEmpty, key.utf8.count <= 255 else {
            throw StreamError.input("message id must be 1-255 characters")
        }
        guard let (channel, message) = try await node.locateMessage(key) else {
            throw StreamError(.doesNotExist, .notFound, "Can't find message with id \(key)")
        }
        return (channel, message, key)
    }

    /// Runs `body` on the message's channel with the message as `viewer` sees it.
    private func withMessage<Result: Sendable>(
        _ context: ChorusRequestContext, viewer: UserID?, _ body: @Sendable (ChannelActor, Message) async throws -> Result
    ) async throws -> (ChannelAddress, Result) {
        let (channelID, messageID, key) = try await locate(context)
        do {
            return try await node.withChannel(channelID) { channel in
                let address = try await channel.address()
                let message = try await channel.message(messageID, for: viewer)
                return (address, try await body(channel, message))
            }
        } catch let error as ChatError where [.channelNotFound, .messageNotFound].contains(error.code) {
            throw StreamError(.doesNotExist, .notFound, "Can't find message with id \(key)")
        }
    }

    private func respond(_ message: Message, address: ChannelAddress, extra: [String: JSONValue] = [:], status: HTTPResponse.Status = .ok, context: ChorusRequestContext) async throws -> Response {
        let shapes = StreamShapes(names: try await node.displayNames(of: Set([message.senderID] + message.reactions.flatMap(\.userIDs))))
        var object = extra
        object["message"] = shapes.message(message, cid: address.cid)
        return try StreamJSON.response(object, status: status, context: context)
    }

    @Sendable func getMessage(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        if context.identity == .anonymous { throw StreamError.notAllowed("anonymous users cannot read messages by id") }
        let viewer = try context.streamUser(named: nil)
        let (address, message) = try await withMessage(context, viewer: viewer) { _, message in message }
        return try await respond(message, address: address, context: context)
    }

    /// The user an edit or delete is made as: the token's user, or for a server the user the body
    /// names, else the message's sender.
    private func author(_ context: ChorusRequestContext, named: UserID?, message: Message) throws -> UserID {
        if context.identity == .anonymous { throw StreamError.notAllowed("anonymous users cannot change messages") }
        return try context.streamUser(named: named) ?? message.senderID
    }

    /// `POST /messages/{id}` `{"message": {"text": …}}`: replaces the text (the sender only).
    @Sendable func updateMessage(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        guard let message = try body.object("message"), let text = try message.string("text") else { throw StreamError.input("message.text is required") }
        let named = try message.actingUser() ?? body.actingUser()
        let (address, edited) = try await withMessage(context, viewer: nil) { channel, current in
            try await channel.edit(
                current.id, body: text, inlineEmotes: [], by: try author(context, named: named, message: current), asServer: context.isServer)
        }
        return try await respond(edited, address: address, context: context)
    }

    /// `PUT /messages/{id}` `{"set": {"text": …}, "unset": […]}`: only `text` can be set so far.
    @Sendable func partialUpdateMessage(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        let set = try body.object("set") ?? StreamBody([:], path: "set")
        let unset = try body.strings("unset", max: 100) ?? []
        if let other = set.fields.keys.sorted().first(where: { $0 != "text" }) ?? unset.first {
            throw StreamError.input("\(other) cannot be changed: only set.text is supported (message custom fields are not stored yet)")
        }
        guard let text = try set.string("text") else { throw StreamError.input("set.text is required") }
        let named = try body.actingUser()
        let (address, edited) = try await withMessage(context, viewer: nil) { channel, current in
            try await channel.edit(
                current.id, body: text, inlineEmotes: [], by: try author(context, named: named, message: current), asServer: context.isServer)
        }
        return try await respond(edited, address: address, context: context)
    }

    /// `DELETE /messages/{id}` (`?hard=true` is accepted and deletes the same way: the text,
    /// attachments and reactions are gone; the message stays as `type: deleted`).
    @Sendable func deleteMessage(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        _ = try StreamChannelRoutes.flag(request, "hard")
        let named = try StreamBody.queryUserID(request, "deleted_by")
        let (address, deleted) = try await withMessage(context, viewer: nil) { channel, current in
            try await channel.delete(current.id, by: try author(context, named: named, message: current), asServer: context.isServer)
            return try await channel.message(current.id, for: nil)
        }
        return try await respond(deleted, address: address, context: context)
    }

    /// `POST /messages/{id}/reaction` `{"reaction": {"type": "love", "user_id"?}}`.
    @Sendable func addReaction(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        guard let reaction = try body.object("reaction"), let type = try reaction.string("type"), let emote = AssetID(type) else {
            throw StreamError.input("reaction.type is required (1-128 visible characters)")
        }
        let user = try context.requireStreamUser(named: try reaction.actingUser() ?? body.actingUser(), what: "react")
        let (address, message) = try await withMessage(context, viewer: user) { channel, current in
            try await channel.addReaction(emote, to: current.id, by: user, asServer: context.isServer)
            return try await channel.message(current.id, for: user)
        }
        let object: [String: JSONValue] = [
            "reaction": [
                "type": .string(type), "user_id": .string(user.rawValue), "user": ["id": .string(user.rawValue)],
                "message_id": .string(StreamShapes.messageID(message)), "score": 1, "created_at": StreamJSON.time(node.clock.now()),
            ]
        ]
        return try await respond(message, address: address, extra: object, status: .created, context: context)
    }

    /// `DELETE /messages/{id}/reaction/{type}` (`?user_id=` for a server token).
    @Sendable func removeReaction(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        guard let type = context.parameters.get("reactionType"), let emote = AssetID(type) else { throw StreamError.input("reaction type is invalid") }
        let named = try StreamBody.queryUserID(request, "user_id")
        let user = try context.requireStreamUser(named: named, what: "remove reactions")
        let (address, message) = try await withMessage(context, viewer: user) { channel, current in
            try await channel.removeReaction(emote, from: current.id, by: user, asServer: context.isServer)
            return try await channel.message(current.id, for: user)
        }
        let object: [String: JSONValue] = [
            "reaction": ["type": .string(type), "user_id": .string(user.rawValue), "message_id": .string(StreamShapes.messageID(message))]
        ]
        return try await respond(message, address: address, extra: object, context: context)
    }

    /// `GET /messages/{id}/reactions?limit=&offset=`: each user's reaction, by type in first-use order.
    @Sendable func reactions(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        if context.identity == .anonymous { throw StreamError.notAllowed("anonymous users cannot read reactions") }
        let query = request.uri.queryParameters
        guard let limit = Int(query.get("limit") ?? "25"), (1...300).contains(limit), let offset = Int(query.get("offset") ?? "0"), offset >= 0 else {
            throw StreamError.input("limit must be 1-300 and offset at least 0")
        }
        let viewer = try context.streamUser(named: nil)
        let (_, message) = try await withMessage(context, viewer: viewer) { _, message in message }
        let all = message.reactions.flatMap { reaction in reaction.userIDs.map { (reaction.emoteAssetID.rawValue, $0) } }
        let page: [JSONValue] = all.dropFirst(offset).prefix(limit).map { type, user in
            ["type": .string(type), "user_id": .string(user.rawValue), "user": ["id": .string(user.rawValue)], "message_id": .string(StreamShapes.messageID(message)), "score": 1]
        }
        return try StreamJSON.response(["reactions": .array(page)], context: context)
    }

    /// `GET /channels/{type}/{id}/messages?ids=a,b`: those messages of the channel, in the order
    /// asked; ids the channel does not have are left out.
    @Sendable func messagesByID(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        if context.identity == .anonymous { throw StreamError.notAllowed("anonymous users cannot read messages by id") }
        let keys = (request.uri.queryParameters.get("ids") ?? "").split(separator: ",").map(String.init)
        guard (1...100).contains(keys.count) else { throw StreamError.input("ids must list 1-100 message ids, separated by commas") }
        let viewer = try context.streamUser(named: nil)
        let address = try context.channelAddress()
        let view = try await StreamChannelRoutes.view(of: address, for: viewer, messages: 0, node: node)
        var messages: [Message] = []
        for key in keys {
            guard let (channel, id) = try await node.locateMessage(key), channel == view.info.id else { continue }
            if let message = try? await node.withChannel(channel, { try await $0.message(id, for: viewer) }) { messages.append(message) }
        }
        let shapes = StreamShapes(names: try await node.displayNames(of: Set(messages.map(\.senderID))))
        return try StreamJSON.response(["messages": .array(messages.map { shapes.message($0, cid: address.cid) })], context: context)
    }
}
