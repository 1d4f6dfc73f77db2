import ChorusChat
import ChorusModel
import Hummingbird

/// Query channels (`POST /channels`) and upsert users (`POST /users`).
///
/// Query channels reads the candidate channels, evaluates the filter on each and sorts at the
/// edge. The candidates are the channels a `cid` filter names, else the calling user's channels
/// (a user token, or a server call naming `user_id`), else the channels of the users a `members`
/// filter names; a server query without any of them asks every node's channel index
/// (``ChatNode/queryChannels(_:sort:limit:)``; docs/stream-api.md, "Query cost").
struct StreamQueryRoutes {
    let node: ChatNode
    let maxBodyBytes: Int
    let watch: StreamWatch

    func register(on api: RouterGroup<ChorusRequestContext>) {
        api.post("channels", use: queryChannels)
        api.post("users", use: upsertUsers)
        api.patch("users", use: partialUpdateUsers)
        api.get("users", use: queryUsers)
        api.get("search", use: search)
    }

    @Sendable func queryChannels(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        if context.identity == .anonymous { throw StreamError.notAllowed("anonymous users cannot query channels") }
        let user = try context.streamUser(named: try body.actingUser())
        let filter = try QueryFilter.parse(body["filter_conditions"] ?? .object([:]))
        let sort = try QuerySort.parse(body["sort"])
        let limit = try body.int("limit", in: 0...30) ?? 10
        let offset = try body.int("offset", in: 0...10_000) ?? 0
        let messageLimit = try body.int("message_limit", in: 0...300) ?? 25
        let memberLimit = try body.int("member_limit", in: 0...100) ?? 100
        let presence = try body.bool("presence") ?? false
        let watchRequest = try StreamWatch.request(body)

        let effectiveSort = sort.fields.isEmpty ? QuerySort(fields: [.init(name: "updated_at", ascending: false)]) : sort
        var page: [ChannelView]
        if user == nil, filter.named("cid").isEmpty, filter.named("members").isEmpty {
            // A server query that names neither channels nor members: the channel index of every node.
            let found = try await node.queryChannels(filter, sort: effectiveSort, limit: offset + limit)
            page = try await ordered(node.views(of: found.dropFirst(offset).map(\.id), for: nil, messages: messageLimit), as: found.map(\.id))
        } else {
            // Candidates are read without messages; only the page's channels are read again with them.
            let (views, documents, matched) = try await matchingChannels(filter, for: user, messages: 0)
            let keys = matched.map { index in effectiveSort.key { documents[index][$0] } }  // read once per channel
            let sorted = matched.indices.sorted { lhs, rhs in
                effectiveSort.precedes(keys[lhs], keys[rhs]) { views[matched[lhs]].info.id > views[matched[rhs]].info.id }
            }.map { matched[$0] }
            page = sorted.dropFirst(offset).prefix(limit).map { views[$0] }
            if messageLimit > 0 {
                let withMessages = try await node.views(of: page.map(\.info.id), for: user, messages: messageLimit)
                page = ordered(withMessages, as: page.map(\.info.id), keeping: page)
            }
        }
        if let watchRequest {
            try await watch.watch(page.map(\.info.id), watchRequest, as: user)
            // Read again: the watch counts in `watcher_count`.
            page = ordered(try await node.views(of: page.map(\.info.id), for: user, messages: messageLimit), as: page.map(\.info.id), keeping: page)
        }
        let shapes = try await StreamShapes.load(for: Array(page), node: node, presence: presence, members: 0..<memberLimit)
        let channels = page.map { JSONValue.object(shapes.channelState($0, viewer: user, members: 0..<memberLimit)) }
        return try StreamJSON.response(["channels": .array(channels)], status: .created, context: context)
    }

    /// `views` in the order of `ids`; a channel gone meanwhile keeps its view in `keeping`, if any.
    private func ordered(_ views: [ChannelView], as ids: [ChannelID], keeping earlier: [ChannelView] = []) -> [ChannelView] {
        let byID = Dictionary((earlier + views).map { ($0.info.id, $0) }, uniquingKeysWith: { _, newer in newer })
        return ids.compactMap { byID[$0] }
    }

    /// The channels `filter` matches for `user` (`nil`: a server): every candidate's view (with
    /// its newest `messages`), its filter document, and the indices of the matching ones. Hidden
    /// channels are left out unless the filter asks about `hidden`.
    func matchingChannels(
        _ filter: QueryFilter, for user: UserID?, messages: Int
    ) async throws -> (views: [ChannelView], documents: [[String: JSONValue]], matched: [Int]) {
        let views = try await node.views(of: try await candidates(for: user, filter: filter), for: user, messages: messages)
        var muted = Set<ChannelID>()
        if let user {
            muted = Set(try await node.withUser(user) { try await $0.activeMutes() }.map(\.channelID))
        }
        let documents = views.map { view in
            var document = view.queryDocument(viewer: user)
            document["muted"] = .bool(muted.contains(view.info.id))
            return document
        }
        var matched = documents.indices.filter { index in filter.matches { documents[index][$0] } }
        // Hidden channels are left out unless the filter asks about `hidden`.
        if !filter.fields.contains("hidden") {
            matched = matched.filter { documents[$0]["hidden"] != .bool(true) }
        }
        return (views, documents, matched)
    }

    /// The channels a query has to look at.
    private func candidates(for user: UserID?, filter: QueryFilter) async throws -> [ChannelID] {
        let cids = filter.named("cid")
        if !cids.isEmpty {
            // Named channels: read only those (a user still sees only theirs, by the view's check).
            return Array(Set(cids.compactMap { $0.stringValue.flatMap(ChannelAddress.init(cid:))?.channelID }))
        }
        if let user { return try await node.channelIDs(of: user) }
        let named = Set(filter.named("members").compactMap { $0.stringValue.flatMap(UserID.init) })
        if !named.isEmpty {
            var ids = Set<ChannelID>()
            for member in named {
                ids.formUnion(try await node.channelIDs(of: member))
            }
            return Array(ids)
        }
        return try await node.allChannelIDs()
    }

    /// A user object as this API shows it.
    static func userObject(_ profile: UserProfile) -> JSONValue {
        [
            "id": .string(profile.id.rawValue), "name": .string(profile.displayName), "role": "user",
            "created_at": StreamJSON.time(profile.createdAt), "updated_at": StreamJSON.time(profile.createdAt),
            "online": false, "banned": false,
        ]
    }

    /// `PATCH /users` `{"users": [{"id": "alice", "set": {"name": "Al"}}]}` (server, or a user for
    /// themself): only `name` can be set so far.
    @Sendable func partialUpdateUsers(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        guard case .array(let entries)? = body["users"], (1...100).contains(entries.count) else {
            throw StreamError.input("users must be an array of 1-100 {\"id\", \"set\", \"unset\"} objects")
        }
        var result: [String: JSONValue] = [:]
        for (index, entry) in entries.enumerated() {
            guard case .object(let fields) = entry else { throw StreamError.input("users[\(index)] must be an object") }
            let change = StreamBody(fields, path: "users[\(index)]")
            guard let id = try change.userID("id") else { throw StreamError.input("users[\(index)].id is required") }
            if case .user(let profile) = context.identity, profile.id != id {
                throw StreamError.notAllowed("a user token may only update its own user")
            }
            if context.identity == .anonymous { throw StreamError.notAllowed("anonymous users cannot update users") }
            let set = try change.object("set") ?? StreamBody([:], path: "users[\(index)].set")
            let unset = try change.strings("unset", max: 100) ?? []
            if let other = set.fields.keys.sorted().first(where: { $0 != "name" }) ?? unset.first {
                throw StreamError.input("users[\(index)]: \(other) cannot be changed: only set.name is supported (user roles and custom fields are not stored yet)")
            }
            let profile = try await {
                if let name = try set.string("name") { return try await node.upsertUser(id, displayName: name) }
                return try await node.profile(of: id)
            }()
            result[id.rawValue] = Self.userObject(profile)
        }
        return try StreamJSON.response(["users": .object(result)], context: context)
    }

    /// `GET /users?payload={"filter_conditions": {"id": {"$in": […]}}, "sort", "limit", "offset"}`:
    /// the filter must name the users (`id` with `$eq` or `$in`, up to 1,000); it may also test
    /// `name`, `role`, `created_at`, `online`. Users that do not exist are left out.
    @Sendable func queryUsers(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        if context.identity == .anonymous { throw StreamError.notAllowed("anonymous users cannot query users") }
        let payload = try StreamBody.payload(request)
        let filter = try QueryFilter.parse(payload["filter_conditions"] ?? .object([:]), path: "payload.filter_conditions")
        let fields: Set<String> = ["id", "name", "role", "created_at", "updated_at", "online"]
        if let unknown = filter.fields.subtracting(fields).sorted().first {
            throw StreamError.input("payload.filter_conditions: users cannot be filtered by \(unknown) yet")
        }
        let ids = filter.named("id").compactMap { $0.stringValue.flatMap(UserID.init) }
        guard !ids.isEmpty else {
            throw StreamError.input("payload.filter_conditions must name the users: {\"id\": {\"$in\": […]}} (there is no user index yet)")
        }
        let sort = try QuerySort.parse(payload["sort"], path: "payload.sort")
        if let unknown = Set(sort.fields.map(\.name)).subtracting(fields).sorted().first {
            throw StreamError.input("payload.sort: users cannot be sorted by \(unknown)")
        }
        let limit = try payload.int("limit", in: 0...100) ?? 30
        let offset = try payload.int("offset", in: 0...1000) ?? 0
        var users: [[String: JSONValue]] = []
        for id in Set(ids) {
            guard let profile = try? await node.profile(of: id), case .object(var object) = Self.userObject(profile) else { continue }
            if let presence = try? await node.withUser(id, { try await $0.presence() }) { StreamShapes.add(presence, to: &object) }
            if filter.matches({ object[$0] }) { users.append(object) }
        }
        users.sort { lhs, rhs in
            sort.precedes({ lhs[$0] }, { rhs[$0] }) { (lhs["id"]?.stringValue ?? "") < (rhs["id"]?.stringValue ?? "") }
        }
        return try StreamJSON.response(["users": .array(users.dropFirst(offset).prefix(limit).map { .object($0) })], context: context)
    }

    /// `POST /users` `{"users": {"alice": {"id": "alice", "name": "Alice"}}}` (server only):
    /// creates or renames each user.
    @Sendable func upsertUsers(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        try context.requireStreamServer("upserting users")
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        guard let users = try body.object("users"), !users.fields.isEmpty, users.fields.count <= 100 else {
            throw StreamError.input("users must be an object of 1-100 users by id")
        }
        var result: [String: JSONValue] = [:]
        for key in users.fields.keys.sorted() {
            guard let user = try users.object(key) else { throw StreamError.input("users.\(key) must be an object") }
            guard let id = UserID(key), try user.string("id").map({ $0 == key }) ?? true else {
                throw StreamError.input("users.\(key): the key must be a valid user id equal to its id field")
            }
            let profile = try await node.upsertUser(id, displayName: try user.string("name") ?? id.rawValue)
            result[key] = Self.userObject(profile)
        }
        return try StreamJSON.response(["users": .object(result)], status: .created, context: context)
    }
}
