import ChorusChat
import ChorusModel
import Hummingbird

/// Reading across channels: mark all read, unread counts, query members, and the app's settings.
struct StreamReadRoutes {
    let node: ChatNode
    let maxBodyBytes: Int
    let configuration: ChorusConfiguration

    func register(on api: RouterGroup<ChorusRequestContext>) {
        api.post("channels/read", use: markAllRead)
        api.get("unread", use: unreadCounts)
        api.get("members", use: queryMembers)
        api.get("app", use: app)
    }

    /// The views of every channel of `user` (hidden ones too), as `user`, with `messages` newest messages each.
    private func views(of user: UserID, messages: Int) async throws -> [ChannelView] {
        try await node.views(of: try await node.channelIDs(of: user), for: user, messages: messages)
    }

    /// `POST /channels/read`: marks every channel of the user read up to its newest message.
    @Sendable func markAllRead(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        let user = try context.requireStreamUser(named: try body.actingUser(), what: "mark channels read")
        for view in try await views(of: user, messages: 1) where (view.unreadCount ?? 0) > 0 {
            guard let newest = view.messages.messages.last else { continue }
            _ = try await node.withChannel(view.info.id) { try await $0.markRead(newest.id, by: user) }
        }
        return try StreamJSON.response([:], status: .created, context: context)
    }

    /// `GET /unread` (`?user_id=` for a server token): the user's unread messages, in total and by channel.
    @Sendable func unreadCounts(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let named = try StreamBody.queryUserID(request, "user_id")
        let user = try context.requireStreamUser(named: named, what: "read unread counts")
        let views = try await views(of: user, messages: 0).sorted { $0.address.cid < $1.address.cid }
        var total = 0
        var channels: [JSONValue] = []
        for view in views {
            let unread = view.unreadCount ?? 0
            total += unread
            guard unread > 0 else { continue }
            let cursor = view.members.first { $0.member.userID == user }?.readCursor
            channels.append([
                "channel_id": .string(view.address.cid), "unread_count": .number(Double(unread)),
                "last_read": cursor.map { StreamJSON.time($0.updatedAt) } ?? .null,
            ])
        }
        return try StreamJSON.response(
            ["total_unread_count": .number(Double(total)), "unread_channels": .number(Double(channels.count)), "channels": .array(channels)],
            context: context)
    }

    /// Fields a member filter or sort may name.
    static let memberFields: Set<String> = [
        "id", "user_id", "name", "channel_role", "is_moderator", "created_at", "updated_at", "banned", "joined",
    ]

    /// `GET /members?payload={"type", "id", "filter_conditions", "sort", "limit", "offset"}`.
    @Sendable func queryMembers(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let payload = try StreamBody.payload(request)
        guard let type = try payload.string("type"), let id = try payload.string("id"), let address = ChannelAddress(type: type, id: id) else {
            throw StreamError.input("payload.type and payload.id must name a channel")
        }
        let filter = try QueryFilter.parse(payload["filter_conditions"] ?? .object([:]), path: "payload.filter_conditions")
        if let unknown = filter.fields.subtracting(Self.memberFields).sorted().first {
            throw StreamError.input("payload.filter_conditions: members cannot be filtered by \(unknown)")
        }
        let sort = try QuerySort.parse(payload["sort"], path: "payload.sort")
        if let unknown = Set(sort.fields.map(\.name)).subtracting(Self.memberFields).sorted().first {
            throw StreamError.input("payload.sort: members cannot be sorted by \(unknown)")
        }
        let limit = try payload.int("limit", in: 0...300) ?? 100
        let offset = try payload.int("offset", in: 0...10_000) ?? 0
        let viewer = try context.streamUser(named: try payload.actingUser())
        let view = try await StreamChannelRoutes.view(of: address, for: viewer, messages: 0, node: node)
        if context.identity == .anonymous, view.info.kind != .room { throw StreamError.notAllowed("anonymous users may only read public channels") }
        let shapes = try await StreamShapes.load(for: [view], node: node)
        let documents = view.members.map { state -> [String: JSONValue] in
            let member = state.member
            return [
                "id": .string(member.userID.rawValue), "user_id": .string(member.userID.rawValue),
                "name": .string(shapes.names[member.userID] ?? member.userID.rawValue),
                "channel_role": .string(StreamShapes.channelRole(member.role)), "is_moderator": .bool(member.role != .member),
                "created_at": StreamJSON.time(member.joinedAt), "updated_at": StreamJSON.time(member.joinedAt),
                "banned": false, "joined": true,
            ]
        }
        var matched = documents.indices.filter { index in filter.matches { documents[index][$0] } }
        let effectiveSort = sort.fields.isEmpty ? QuerySort(fields: [.init(name: "created_at", ascending: true)]) : sort
        matched.sort { lhs, rhs in
            let (a, b) = (documents[lhs], documents[rhs])
            return effectiveSort.precedes({ a[$0] }, { b[$0] }) { lhs < rhs }  // ties: join order
        }
        let page = matched.dropFirst(offset).prefix(limit).map { shapes.member(view.members[$0]) }
        return try StreamJSON.response(["members": .array(Array(page))], context: context)
    }

    /// `GET /app`: the app's settings as far as Chorus has them.
    @Sendable func app(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        if context.identity == .anonymous { throw StreamError.notAllowed("anonymous users cannot read the app's settings") }
        let app: JSONValue = [
            "name": .string(configuration.node.name),
            "permission_version": "v2",
            "multi_tenant_enabled": false,
            "auth_type": "jwt",
            "max_message_length": .number(Double(configuration.limits.maxMessageLength)),
            "channel_configs": .object(Dictionary(uniqueKeysWithValues: node.channelTypes.all().map {
                ($0.name, JSONValue.object(StreamChannelTypeRoutes.shape($0, commandObjects: true)))
            })),
        ]
        return try StreamJSON.response(["app": app], context: context)
    }
}
