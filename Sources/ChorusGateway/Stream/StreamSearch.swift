import ChorusChat
import ChorusModel
import Hummingbird

/// `GET /search?payload={…}`: messages by whole words, in the channels a channel filter matches.
///
/// The channel filter (`filter_conditions`, required) picks the channels as query channels
/// does. Each channel then finds its newest matches (memory, then the store's FTS5 index), the
/// edge merges them, applies `message_filter_conditions`, sorts and pages.
extension StreamQueryRoutes {
    /// Fields a message filter or sort may name.
    static let messageFields: Set<String> = ["id", "text", "type", "user.id", "user_id", "created_at", "updated_at", "cid"]

    /// The most results a search pages through (`offset` + `limit`).
    static let searchWindow = 1000

    @Sendable func search(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let payload = try StreamBody.payload(request)
        if context.identity == .anonymous { throw StreamError.notAllowed("anonymous users cannot search") }
        let user = try context.streamUser(named: try payload.actingUser())
        guard let channelFilter = payload["filter_conditions"] else { throw StreamError.input("payload.filter_conditions is required") }
        let filter = try QueryFilter.parse(channelFilter, path: "payload.filter_conditions")
        let messageFilter = try payload["message_filter_conditions"].map {
            try QueryFilter.parse($0, path: "payload.message_filter_conditions")
        }
        if let unknown = messageFilter?.fields.subtracting(Self.messageFields).sorted().first {
            throw StreamError.input("payload.message_filter_conditions: messages cannot be filtered by \(unknown)")
        }
        let sort = try QuerySort.parse(payload["sort"], path: "payload.sort")
        if let unknown = Set(sort.fields.map(\.name)).subtracting(Self.messageFields).sorted().first {
            throw StreamError.input("payload.sort: messages cannot be sorted by \(unknown)")
        }
        guard let query = try payload.string("query") ?? messageFilter?.textQuery, !TextWords.words(of: query).isEmpty else {
            throw StreamError.input("payload.query (or message_filter_conditions.text.$q) with at least one word is required")
        }
        let limit = try payload.int("limit", in: 1...100) ?? 20
        var offset = try payload.int("offset", in: 0...Self.searchWindow) ?? 0
        if let next = try payload.string("next") {
            guard payload["offset"] == nil else { throw StreamError.input("payload: give offset or next, not both") }
            guard let decoded = Int(next), (0...Self.searchWindow).contains(decoded) else {
                throw StreamError.input("payload.next must be the next value of an earlier search")
            }
            offset = decoded
        }
        guard offset + limit <= Self.searchWindow else {
            throw StreamError.input("payload: offset + limit may be at most \(Self.searchWindow)")
        }

        let (views, _, matched) = try await matchingChannels(filter, for: user, messages: 0)
        let channels = matched.map { views[$0] }
        let window = offset + limit + 1
        let found = try await withThrowingTaskGroup(of: [(ChannelView, Message)].self) { group in
            for view in channels {
                group.addTask {
                    let messages = try await node.withChannel(view.info.id) { try await $0.search(query, limit: window, for: user) }
                    return messages.map { (view, $0) }
                }
            }
            var found: [(ChannelView, Message)] = []
            for try await hits in group { found += hits }
            return found
        }
        var hits = found.map { view, message in (view, message, Self.document(message, cid: view.address.cid)) }
        if let messageFilter { hits = hits.filter { hit in messageFilter.matches { hit.2[$0] } } }
        hits.sort { lhs, rhs in
            sort.precedes({ lhs.2[$0] }, { rhs.2[$0] }) { lhs.1.id > rhs.1.id }  // ties: newest first
        }
        let page = hits.dropFirst(offset).prefix(limit)
        let shapes = try await StreamShapes.load(for: Array(page.map(\.0)), node: node)
        let results: [JSONValue] = page.map { view, message, _ in
            guard case .object(var object) = shapes.message(message, cid: view.address.cid) else { return .null }
            object["channel"] = shapes.channel(view)
            return ["message": .object(object)]
        }
        var answer: [String: JSONValue] = ["results": .array(results)]
        if hits.count > offset + limit { answer["next"] = .string(String(offset + limit)) }
        if offset > 0 { answer["previous"] = .string(String(max(0, offset - limit))) }
        return try StreamJSON.response(answer, context: context)
    }

    /// The fields of one message that message filters and sorts read.
    static func document(_ message: Message, cid: String) -> [String: JSONValue] {
        [
            "id": .string(StreamShapes.messageID(message)), "text": .string(message.body), "type": .string(message.deleted ? "deleted" : "regular"),
            "user.id": .string(message.senderID.rawValue), "user_id": .string(message.senderID.rawValue),
            "created_at": StreamJSON.time(message.createdAt), "updated_at": StreamJSON.time(message.editedAt ?? message.createdAt),
            "cid": .string(cid),
        ]
    }
}

extension QueryFilter {
    /// The words of a `text: {"$q": …}` condition at the top level (or in a top-level `$and`).
    var textQuery: String? {
        switch self {
        case .condition(field: "text", .q(let query)): query
        case .and(let filters): filters.lazy.compactMap(\.textQuery).first
        default: nil
        }
    }
}
