import ChorusChat
import ChorusModel
import Hummingbird

/// `/v1/channels`: channels, members, hide/show, read cursors and typing.
struct ChannelRoutes {
    let node: ChatNode
    let maxBodyBytes: Int

    func register(on v1: RouterGroup<ChorusRequestContext>) {
        v1.get("channels", use: listChannels)
        v1.post("channels", use: createChannel)
        v1.get("channels/:channelID", use: getChannel)
        v1.put("channels/:channelID", use: updateChannel)
        v1.post("channels/:channelID/hide") { request, context in try await setHidden(true, context) }
        v1.post("channels/:channelID/show") { request, context in try await setHidden(false, context) }
        v1.get("channels/:channelID/members", use: listMembers)
        v1.post("channels/:channelID/members", use: addMember)
        v1.delete("channels/:channelID/members/:userID", use: removeMember)
        v1.post("channels/:channelID/read", use: markRead)
        v1.post("channels/:channelID/typing", use: startTyping)
        v1.get("channels/:channelID/typing", use: typingUsers)
    }

    @Sendable func listChannels(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let includeHidden: Bool
        switch request.uri.queryParameters.get("include_hidden") {
        case nil, "false", "0": includeHidden = false
        case "true", "1": includeHidden = true
        default: throw ChatError(.invalidRequest, "include_hidden must be true or false")
        }
        let entries = try await node.listChannels(for: user.id, includeHidden: includeHidden)
        return JSONBody.response(entries.map(ChannelListItemBody.init))
    }

    @Sendable func createChannel(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let body = try await JSONBody.decode(CreateChannelRequest.self, from: request, limit: maxBodyBytes)
        switch ChannelKind(rawValue: body.type) {
        case .dm:
            guard let other = body.userID else { throw ChatError(.invalidRequest, "user_id: is required for a dm") }
            let result = try await node.openDirectChannel(from: user.id, to: other)
            return JSONBody.response(ChannelBody(info: result.channel), status: result.created ? .created : .ok)
        case let kind?:
            guard let name = body.name else { throw ChatError(.invalidRequest, "name: is required for a \(body.type)") }
            let info = try await node.createChannel(kind: kind, name: name, owner: user.id)
            return JSONBody.response(ChannelBody(info: info), status: .created)
        case nil:
            throw ChatError(.invalidRequest, "type: must be dm, group or room")
        }
    }

    @Sendable func getChannel(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let info = try await node.withChannel(try context.channelID()) { try await $0.info(for: user.id) }
        return JSONBody.response(ChannelBody(info: info))
    }

    @Sendable func updateChannel(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let body = try await JSONBody.decode(UpdateChannelRequest.self, from: request, limit: maxBodyBytes)
        let info = try await node.withChannel(try context.channelID()) { channel in
            return try await channel.update(name: body.name, by: user.id)
        }
        return JSONBody.response(ChannelBody(info: info))
    }

    func setHidden(_ hidden: Bool, _ context: ChorusRequestContext) async throws -> Response {
        let user = try context.requireUser()
        try await node.withChannel(try context.channelID()) { try await $0.setHidden(hidden, by: user.id) }
        return JSONBody.noContent
    }

    @Sendable func listMembers(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let members = try await node.withChannel(try context.channelID()) { try await $0.members(for: user.id) }
        let names = try await node.displayNames(of: Set(members.map(\.userID)))
        return try JSONBody.response(members.map { MemberBody(member: $0, displayName: names[$0.userID] ?? $0.userID.rawValue) })
    }

    @Sendable func addMember(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let body = try await JSONBody.decode(AddMemberRequest.self, from: request, limit: maxBodyBytes)
        let member = try await node.withChannel(try context.channelID()) { channel in
            guard let role = MemberRole(rawValue: body.role ?? "member") else {
                throw ChatError(.invalidRequest, "role: must be member or admin")
            }
            return try await channel.addMember(body.userID, role: role, by: user.id)
        }
        let name = try await node.profile(of: member.userID).displayName
        return try JSONBody.response(MemberBody(member: member, displayName: name), status: .created)
    }

    @Sendable func removeMember(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let target = try context.userID()
        try await node.withChannel(try context.channelID()) { try await $0.removeMember(target, by: user.id) }
        return JSONBody.noContent
    }

    @Sendable func markRead(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let body = try await JSONBody.decode(MarkReadRequest.self, from: request, limit: maxBodyBytes)
        let cursor = try await node.withChannel(try context.channelID()) { channel in
            return try await channel.markRead(body.lastReadMessageID, by: user.id)
        }
        return try JSONBody.response(ReadCursorBody(cursor: cursor))
    }

    @Sendable func startTyping(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let user = try context.requireUser()
        try await node.withChannel(try context.channelID()) { try await $0.startTyping(by: user.id) }
        return JSONBody.noContent
    }

    @Sendable func typingUsers(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let users = try await node.withChannel(try context.channelID()) { try await $0.typingUsers(for: user.id) }
        return try JSONBody.response(["typing_users": users])
    }
}
