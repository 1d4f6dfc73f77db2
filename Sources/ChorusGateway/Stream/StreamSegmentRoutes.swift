import ChorusChat
import ChorusModel
import Foundation
import Hummingbird

/// Segments (server tokens only): `POST /segments`, `GET /segments`, `GET|PUT|DELETE
/// /segments/{id}` (docs/stream-api.md, "Segments").
struct StreamSegmentRoutes {
    let node: ChatNode
    let maxBodyBytes: Int

    func register(on api: RouterGroup<ChorusRequestContext>) {
        api.post("segments") { request, context in try await create(request, context) }
        api.get("segments") { request, context in try list(request, context) }
        api.get("segments/:segmentID") { _, context in try get(context) }
        api.put("segments/:segmentID") { request, context in try await update(request, context) }
        api.delete("segments/:segmentID") { _, context in try await delete(context) }
    }

    /// `{"segment": {"name", "type": "user", "filter", "description"?, "id"?}}` (or the same
    /// fields flat) → 201 `{"segment"}`.
    func create(_ request: Request, _ context: ChorusRequestContext) async throws -> Response {
        try context.requireStreamServer("creating a segment")
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        let fields = try body.object("segment") ?? body
        guard let name = try fields.string("name") else { throw StreamError.input("\(fields.name("name")) is required") }
        guard let type = try fields.string("type") else { throw StreamError.input("\(fields.name("type")) is required") }
        guard type == "user" else { throw StreamError.input("\(fields.name("type")): only user segments are supported (type \"user\")") }
        guard let filter = fields["filter"] else { throw StreamError.input("\(fields.name("filter")) is required") }
        let id = try fields.string("id").map(StreamIDs.check) ?? UUID().uuidString.lowercased()
        guard try node.segment(id) == nil else { throw StreamError.input("segment \(id) already exists") }
        let now = node.clock.now()
        var segment = Segment(
            id: id, name: try Self.name(name, fields), description: try Self.description(fields), filter: filter, size: 0, createdAt: now,
            updatedAt: now)
        segment.size = try await node.countUsers(matching: try Segment.parse(filter))
        try await node.saveSegment(segment)
        return try StreamJSON.response(["segment": try shape(segment)], status: .created, context: context)
    }

    /// `?limit=` (1-100, default 25) and `?offset=`: segments, oldest first.
    func list(_ request: Request, _ context: ChorusRequestContext) throws -> Response {
        try context.requireStreamServer("listing segments")
        let page = try StreamIDs.page(request)
        let segments = node.segments().dropFirst(page.offset).prefix(page.limit)
        return try StreamJSON.response(["segments": .array(try segments.map(shape))], context: context)
    }

    func get(_ context: ChorusRequestContext) throws -> Response {
        try context.requireStreamServer("reading a segment")
        return try StreamJSON.response(["segment": try shape(try existing(context))], context: context)
    }

    /// `{"segment": {"name"?, "description"?, "filter"?}}` → 201. A segment a campaign still
    /// uses keeps its filter.
    func update(_ request: Request, _ context: ChorusRequestContext) async throws -> Response {
        try context.requireStreamServer("changing a segment")
        var segment = try existing(context)
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        let fields = try body.object("segment") ?? body
        if let name = try fields.string("name") { segment.name = try Self.name(name, fields) }
        if fields["description"] != nil { segment.description = try Self.description(fields) }
        if let type = try fields.string("type"), type != "user" {
            throw StreamError.input("\(fields.name("type")): only user segments are supported (type \"user\")")
        }
        if let filter = fields["filter"], filter != segment.filter {
            if let campaign = try user(of: segment) {
                throw StreamError.input("segment \(segment.id) is used by campaign \(campaign.id), which has not completed: its filter cannot change")
            }
            segment.size = try await node.countUsers(matching: try Segment.parse(filter))
            segment.filter = filter
        }
        segment.updatedAt = node.clock.now()
        try await node.saveSegment(segment)
        return try StreamJSON.response(["segment": try shape(segment)], status: .created, context: context)
    }

    /// Removes a segment no unfinished campaign uses.
    func delete(_ context: ChorusRequestContext) async throws -> Response {
        try context.requireStreamServer("deleting a segment")
        let segment = try existing(context)
        if let campaign = try user(of: segment) {
            throw StreamError.input("segment \(segment.id) is used by campaign \(campaign.id), which has not completed; delete or finish it first")
        }
        try await node.deleteSegment(segment.id)
        return try StreamJSON.response([:], context: context)
    }

    // MARK: Shapes

    private func existing(_ context: ChorusRequestContext) throws -> Segment {
        let id = context.parameters.get("segmentID") ?? ""
        guard let segment = try node.segment(id) else { throw StreamError(.doesNotExist, .notFound, "Can't find segment with id \(id.prefix(64))") }
        return segment
    }

    /// A campaign that uses `segment` and has not completed.
    private func user(of segment: Segment) throws -> Campaign? {
        let now = node.clock.now()
        return node.campaigns().first { campaign in
            campaign.segmentID == segment.id && (try? campaign.status(progress: node.campaignProgress(of: campaign), at: now)) != .completed
        }
    }

    private static func name(_ name: String, _ fields: StreamBody) throws -> String {
        guard (1...128).contains(name.count) else { throw StreamError.input("\(fields.name("name")) must be 1-128 characters") }
        return name
    }

    private static func description(_ fields: StreamBody) throws -> String {
        let description = try fields.string("description") ?? ""
        guard description.count <= 1024 else { throw StreamError.input("\(fields.name("description")) must be at most 1,024 characters") }
        return description
    }

    func shape(_ segment: Segment) throws -> JSONValue {
        [
            "id": .string(segment.id), "name": .string(segment.name), "description": .string(segment.description), "type": "user",
            "filter": segment.filter, "size": .number(Double(segment.size)), "status": "ready", "in_use": .bool(try user(of: segment) != nil),
            "created_at": StreamJSON.time(segment.createdAt), "updated_at": StreamJSON.time(segment.updatedAt),
        ]
    }
}
