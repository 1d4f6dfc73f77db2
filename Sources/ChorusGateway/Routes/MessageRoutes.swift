import ChorusChat
import ChorusModel
import Hummingbird

/// `/v1/channels/{id}/messages`: history, send, edit, delete, reactions and attachment URLs.
struct MessageRoutes {
    let node: ChatNode
    let maxBodyBytes: Int
    let signer: AttachmentURLSigner

    /// Default and largest page size of List Messages.
    static let defaultPageSize = 50
    static let maxPageSize = 100

    func register(on v1: RouterGroup<ChorusRequestContext>) {
        v1.get("channels/:channelID/messages", use: listMessages)
        v1.post("channels/:channelID/messages", use: sendMessage)
        v1.put("channels/:channelID/messages/:messageID", use: editMessage)
        v1.delete("channels/:channelID/messages/:messageID", use: deleteMessage)
        v1.post("channels/:channelID/messages/:messageID/reactions", use: addReaction)
        v1.delete("channels/:channelID/messages/:messageID/reactions/:emoteID", use: removeReaction)
        v1.get("channels/:channelID/messages/:messageID/attachments/:attachmentID/url", use: attachmentURL)
    }

    /// Parses `limit`, `before` and `after` of List Messages.
    static func pageRequest(_ query: Parameters) throws(ChatError) -> MessagePageRequest {
        var limit = defaultPageSize
        if let raw = query.get("limit") {
            guard let value = Int(raw), (1...maxPageSize).contains(value) else {
                throw ChatError(.invalidRequest, "limit must be an integer from 1 to \(maxPageSize)")
            }
            limit = value
        }
        func cursor(_ name: String) throws(ChatError) -> MessageID? {
            guard let raw = query.get(name) else { return nil }
            guard let id = MessageID(raw) else { throw ChatError(.invalidRequest, "\(name) must be a decimal message id") }
            return id
        }
        switch (try cursor("before"), try cursor("after")) {
        case (nil, nil): return .latest(limit: limit)
        case (let before?, nil): return .before(before, limit: limit)
        case (nil, let after?): return .after(after, limit: limit)
        case (_?, _?): throw ChatError(.invalidRequest, "use before or after, not both")
        }
    }

    @Sendable func listMessages(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let pageRequest = try Self.pageRequest(request.uri.queryParameters)
        let page = try await node.withChannel(try context.channelID()) { try await $0.messages(pageRequest, for: user.id) }
        return JSONBody.response(MessagePageBody(messages: page.messages.map(MessageBody.init), hasMore: page.hasMore))
    }

    @Sendable func sendMessage(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let headerKey = request.headers[.idempotencyKey]
        let body = try await JSONBody.decode(SendMessageRequest.self, from: request, limit: maxBodyBytes)
        let givenID = try Self.clientMessageID(body: body.clientMessageID, header: headerKey)
        // The edge retries a send whose channel changed primaries (`moving`); the deposed primary may
        // have replicated it already, and the new one commits it. A send without the client's own id
        // gets one here, the same on every retry, so such a retry returns the message, never a copy.
        let clientID = givenID ?? "edge-" + RequestIDs.next()
        let sent = try await node.withChannel(try context.channelID()) { channel in
            let draft = MessageDraft(
                body: body.body ?? "", attachments: (body.attachments ?? []).map(\.model),
                inlineEmotes: (body.inlineEmotes ?? []).map(\.model))
            return try await channel.send(draft, from: user.id, senderName: user.displayName, clientMessageID: clientID)
        }
        var response = JSONBody.response(MessageBody(message: sent.message), status: .created)
        if sent.replayed && givenID != nil { response.headers[.idempotentReplayed] = "true" }
        return response
    }

    /// The send's client message id: the `client_message_id` field or the `Idempotency-Key`
    /// header (both may be given if they agree).
    static func clientMessageID(body: String?, header: String?) throws(ChatError) -> String? {
        if let body, let header, body != header {
            throw ChatError(.invalidRequest, "client_message_id and the Idempotency-Key header differ; give one, or the same in both")
        }
        return body ?? header
    }

    @Sendable func editMessage(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let messageID = try context.messageID()
        let body = try await JSONBody.decode(EditMessageRequest.self, from: request, limit: maxBodyBytes)
        let message = try await node.withChannel(try context.channelID()) { channel in
            return try await channel.edit(messageID, body: body.body, inlineEmotes: (body.inlineEmotes ?? []).map(\.model), by: user.id)
        }
        return JSONBody.response(MessageBody(message: message))
    }

    @Sendable func deleteMessage(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let messageID = try context.messageID()
        try await node.withChannel(try context.channelID()) { try await $0.delete(messageID, by: user.id) }
        return JSONBody.noContent
    }

    @Sendable func addReaction(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let messageID = try context.messageID()
        let body = try await JSONBody.decode(AddReactionRequest.self, from: request, limit: maxBodyBytes)
        try await node.withChannel(try context.channelID()) { channel in
            try await channel.addReaction(body.emoteAssetID, to: messageID, by: user.id)
        }
        return try JSONBody.response(["message": "Reaction added"], status: .created)
    }

    @Sendable func removeReaction(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let (emote, messageID) = (try context.assetID("emoteID"), try context.messageID())
        try await node.withChannel(try context.channelID()) { try await $0.removeReaction(emote, from: messageID, by: user.id) }
        return JSONBody.noContent
    }

    @Sendable func attachmentURL(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let channelID = try context.channelID()
        let size = request.uri.queryParameters.get("size") ?? "full"
        guard AttachmentURLSigner.sizes.contains(size) else {
            throw ChatError(.invalidRequest, "size must be one of full, 1600, 512, 256, 128")
        }
        let (asset, messageID) = (try context.assetID("attachmentID"), try context.messageID())
        let attachment = try await node.withChannel(channelID) { try await $0.attachment(asset, of: messageID, for: user.id) }
        let signed = signer.url(for: attachment.assetID, size: size, now: node.clock.now())
        return try JSONBody.response(AttachmentURLBody(url: signed.url, expiresAt: signed.expiresAt))
    }
}

struct AttachmentURLBody: Encodable {
    var url: String
    var expiresAt: Int64

    enum CodingKeys: String, CodingKey { case url, expiresAt = "expires_at" }
}
