import ChorusChat
import ChorusModel
import Foundation
import Hummingbird

/// Campaigns (server tokens only): create, list, get, update, delete, schedule, stop, resume and
/// test (docs/stream-api.md, "Campaigns").
struct StreamCampaignRoutes {
    let node: ChatNode
    let maxBodyBytes: Int

    func register(on api: RouterGroup<ChorusRequestContext>) {
        api.post("campaigns") { request, context in try await create(request, context) }
        api.get("campaigns") { request, context in try list(request, context) }
        api.get("campaigns/:campaignID") { _, context in try get(context) }
        api.put("campaigns/:campaignID") { request, context in try await update(request, context) }
        api.delete("campaigns/:campaignID") { _, context in try await delete(context) }
        api.patch("campaigns/:campaignID/schedule") { request, context in try await schedule(request, context) }
        api.post("campaigns/:campaignID/start") { request, context in try await schedule(request, context) }
        api.patch("campaigns/:campaignID/stop") { _, context in try await stop(context) }
        api.post("campaigns/:campaignID/stop") { _, context in try await stop(context) }
        api.patch("campaigns/:campaignID/resume") { _, context in try await resume(context) }
        api.post("campaigns/:campaignID/test") { request, context in try await test(request, context) }
    }

    /// `{"campaign": {"name", "text", "segment_id", "sender_id", "description"?, "channel_type"?,
    /// "defaults"?, "attachments"?, "id"?}}`, or the same fields flat (also `segment_ids: [one]`
    /// and `message_template.text`) → 201 `{"campaign"}`, a draft.
    func create(_ request: Request, _ context: ChorusRequestContext) async throws -> Response {
        try context.requireStreamServer("creating a campaign")
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        let fields = try body.object("campaign") ?? body
        guard let name = try fields.string("name") else { throw StreamError.input("\(fields.name("name")) is required") }
        guard let text = try Self.text(fields) else { throw StreamError.input("\(fields.name("text")) is required") }
        guard let segmentID = try Self.segmentID(fields) else { throw StreamError.input("\(fields.name("segment_id")) is required") }
        guard let senderID = try fields.userID("sender_id") else { throw StreamError.input("\(fields.name("sender_id")) is required") }
        let id = try fields.string("id").map(StreamIDs.check) ?? UUID().uuidString.lowercased()
        guard try node.campaign(id) == nil else { throw StreamError.input("campaign \(id) already exists") }
        let campaign = Campaign(
            id: id, name: name, description: try fields.string("description") ?? "", text: text, segmentID: segmentID, senderID: senderID,
            channelType: try fields.string("channel_type") ?? "messaging", defaults: try Self.defaults(fields) ?? [:],
            attachments: try Self.attachments(fields) ?? [], createdAt: node.clock.now())
        try await check(campaign, fields)
        try await node.saveCampaign(campaign)
        return try StreamJSON.response(["campaign": try shape(campaign)], status: .created, context: context)
    }

    /// `?limit=` (1-100, default 25) and `?offset=`: campaigns, oldest first.
    func list(_ request: Request, _ context: ChorusRequestContext) throws -> Response {
        try context.requireStreamServer("listing campaigns")
        let page = try StreamIDs.page(request)
        let campaigns = node.campaigns().dropFirst(page.offset).prefix(page.limit)
        return try StreamJSON.response(["campaigns": .array(try campaigns.map(shape))], context: context)
    }

    func get(_ context: ChorusRequestContext) throws -> Response {
        try context.requireStreamServer("reading a campaign")
        return try StreamJSON.response(["campaign": try shape(try existing(context))], context: context)
    }

    /// `{"campaign": {...}}` with any of create's fields → 201. A running or completed campaign
    /// cannot change; once it sent anything, its segment, sender and channel type stay.
    func update(_ request: Request, _ context: ChorusRequestContext) async throws -> Response {
        try context.requireStreamServer("changing a campaign")
        var campaign = try existing(context)
        let (status, progress) = try state(of: campaign)
        guard status != .running && status != .completed else {
            throw StreamError.input("campaign \(campaign.id) is \(status.rawValue): stop it before changing it")
        }
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        let fields = try body.object("campaign") ?? body
        let before = (campaign.segmentID, campaign.senderID, campaign.channelType)
        if let name = try fields.string("name") { campaign.name = name }
        if let description = try fields.string("description") { campaign.description = description }
        if let text = try Self.text(fields) { campaign.text = text }
        if let segmentID = try Self.segmentID(fields) { campaign.segmentID = segmentID }
        if let senderID = try fields.userID("sender_id") { campaign.senderID = senderID }
        if let channelType = try fields.string("channel_type") { campaign.channelType = channelType }
        if let defaults = try Self.defaults(fields) { campaign.defaults = defaults }
        if let attachments = try Self.attachments(fields) { campaign.attachments = attachments }
        if progress.startedAt != nil && before != (campaign.segmentID, campaign.senderID, campaign.channelType) {
            throw StreamError.input("campaign \(campaign.id) has started: its segment, sender and channel type cannot change")
        }
        try await check(campaign, fields)
        campaign.updatedAt = node.clock.now()
        try await node.saveCampaign(campaign)
        return try StreamJSON.response(["campaign": try shape(campaign)], status: .created, context: context)
    }

    /// Removes a campaign and its progress; a running one stops at its next batch.
    func delete(_ context: ChorusRequestContext) async throws -> Response {
        try context.requireStreamServer("deleting a campaign")
        try await node.deleteCampaign(try existing(context).id)
        return try StreamJSON.response([:], context: context)
    }

    /// `{"scheduled_for": unix seconds | RFC 3339}` (absent, 0 or past: now) → 200 `{"campaign"}`.
    /// A draft or a campaign that has not started yet may be (re)scheduled.
    func schedule(_ request: Request, _ context: ChorusRequestContext) async throws -> Response {
        try context.requireStreamServer("scheduling a campaign")
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        let when: Timestamp? =
            switch body["scheduled_for"] {
            case .number?: try body.int("scheduled_for", in: 0...253_402_300_799).map { Timestamp.seconds(Int64($0)) }
            case .string?: try body.time("scheduled_for")
            case nil, .null?: nil
            default: throw StreamError.input("scheduled_for must be unix seconds or an RFC 3339 time")
            }
        return try await transition(context, "scheduled", from: [.draft, .scheduled], hint: [.stopped: " (resume it instead)"]) { campaign, now in
            campaign.intent = .scheduled
            campaign.scheduledFor = max(when ?? now, now)
            campaign.scheduledAt = now
        }
    }

    /// Stops a scheduled or running campaign (its runner stops after the batch it is sending).
    func stop(_ context: ChorusRequestContext) async throws -> Response {
        try context.requireStreamServer("stopping a campaign")
        return try await transition(context, "stopped", from: [.scheduled, .running]) { campaign, now in
            campaign.intent = .stopped
            campaign.stoppedAt = now
        }
    }

    /// Resumes a stopped campaign where it stopped (at its scheduled time, if that is still ahead).
    func resume(_ context: ChorusRequestContext) async throws -> Response {
        try context.requireStreamServer("resuming a campaign")
        return try await transition(context, "resumed", from: [.stopped]) { campaign, now in
            campaign.intent = .scheduled
            campaign.scheduledFor = max(campaign.scheduledFor ?? now, now)
            campaign.resumedAt = now
        }
    }

    /// Changes the path's campaign with `change` when its status is one of `allowed` (else 400
    /// naming the status, plus the `hint` for it), saves it and answers 200 `{"campaign"}`.
    private func transition(
        _ context: ChorusRequestContext, _ what: String, from allowed: Set<Campaign.Status>, hint: [Campaign.Status: String] = [:],
        _ change: (inout Campaign, Timestamp) -> Void
    ) async throws -> Response {
        var campaign = try existing(context)
        let (status, _) = try state(of: campaign)
        guard allowed.contains(status) else {
            let names = allowed.map(\.rawValue).sorted().joined(separator: " or ")
            throw StreamError.input("campaign \(campaign.id) is \(status.rawValue): only a \(names) campaign can be \(what)\(hint[status] ?? "")")
        }
        let now = node.clock.now()
        change(&campaign, now)
        campaign.updatedAt = now
        try await node.saveCampaign(campaign)
        return try StreamJSON.response(["campaign": try shape(campaign)], context: context)
    }

    /// `{"users": [1-10 user ids]}` → 201 `{"status": "ok" | "failed", "results": {user: "sent" | why not}}`:
    /// sends the message to those users now; the campaign's status and counters do not change.
    func test(_ request: Request, _ context: ChorusRequestContext) async throws -> Response {
        try context.requireStreamServer("testing a campaign")
        let campaign = try existing(context)
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        guard let users = try body.memberIDs("users", max: 10), !users.isEmpty else { throw StreamError.input("users must list 1-10 user ids") }
        let results = try await node.testCampaign(campaign, users: Array(Set(users)))
        let failed = results.values.filter { $0 != "sent" }.count
        var object: [String: JSONValue] = [
            "status": .string(failed == 0 ? "ok" : "failed"),
            "results": .object(Dictionary(uniqueKeysWithValues: results.map { ($0.key.rawValue, JSONValue.string($0.value)) })),
        ]
        if failed > 0 { object["details"] = .string("\(failed) of \(results.count) users were not sent the message") }
        return try StreamJSON.response(object, status: .created, context: context)
    }

    // MARK: Input

    /// `text`, or a client's `message_template.text`.
    private static func text(_ fields: StreamBody) throws -> String? {
        let text = try fields.string("text") ?? fields.object("message_template")?.string("text")
        if let text {
            guard (1...5_000).contains(text.count) else { throw StreamError.input("\(fields.name("text")) must be 1-5,000 characters") }
            try CampaignTemplate.check(text)
        }
        return text
    }

    /// `segment_id`, or a client's `segment_ids` with one id.
    private static func segmentID(_ fields: StreamBody) throws -> String? {
        if let ids = try fields.strings("segment_ids", max: 1) {
            guard let id = ids.first else { throw StreamError.input("\(fields.name("segment_ids")) must name one segment") }
            return id
        }
        return try fields.string("segment_id")
    }

    /// `defaults`: up to 20 template fields' fallbacks, strings of at most 256 characters.
    private static func defaults(_ fields: StreamBody) throws -> [String: String]? {
        guard let object = try fields.object("defaults") else { return nil }
        guard object.fields.count <= 20 else { throw StreamError.input("\(fields.name("defaults")) holds at most 20 fields") }
        var defaults: [String: String] = [:]
        for key in object.fields.keys {
            guard let value = try object.string(key), value.count <= 256 else {
                throw StreamError.input("\(object.name(key)) must be a string of at most 256 characters")
            }
            defaults[key] = value
        }
        return defaults
    }

    /// `attachments`: uploads, in the shape messages show them (`asset_id`, `title`,
    /// `mime_type`, `file_size`), at most the node's attachment limit.
    private static func attachments(_ fields: StreamBody) throws -> [Attachment]? {
        guard let value = fields["attachments"] else { return nil }
        guard case .array(let items) = value, items.count <= 10 else { throw StreamError.input("\(fields.name("attachments")) must be an array of at most 10 uploads") }
        return try items.enumerated().map { index, item in
            guard case .object(let members) = item else { throw StreamError.input("\(fields.name("attachments"))[\(index)] must be an object") }
            let attachment = StreamBody(members, path: "\(fields.name("attachments"))[\(index)]")
            guard let asset = try attachment.string("asset_id"), let assetID = AssetID(asset) else {
                throw StreamError.input("\(attachment.name("asset_id")) must name an upload (other attachment kinds are not supported yet)")
            }
            return Attachment(
                assetID: assetID, filename: try attachment.string("title") ?? "", contentType: try attachment.string("mime_type") ?? "application/octet-stream",
                sizeBytes: Int64(try attachment.int("file_size", in: 0...Int(Int32.max)) ?? 0))
        }
    }

    /// Checks what a campaign names exists: its segment, its sender and its channel type.
    private func check(_ campaign: Campaign, _ fields: StreamBody) async throws {
        guard (1...128).contains(campaign.name.count) else { throw StreamError.input("\(fields.name("name")) must be 1-128 characters") }
        guard campaign.description.count <= 1024 else { throw StreamError.input("\(fields.name("description")) must be at most 1,024 characters") }
        guard try node.segment(campaign.segmentID) != nil else { throw StreamError.input("segment \(campaign.segmentID.prefix(64)) does not exist") }
        guard node.channelTypes.settings(campaign.channelType) != nil, ChannelAddress(type: campaign.channelType, id: "x")?.v1Kind == nil else {
            throw StreamError.input("channel type \(campaign.channelType.prefix(64)) does not exist (or is a v1 type)")
        }
        do {
            _ = try await node.profile(of: campaign.senderID)
        } catch let error as ChatError where error.code == .userNotFound {
            throw StreamError.input("sender \(campaign.senderID) does not exist")
        }
    }

    // MARK: Shapes

    private func existing(_ context: ChorusRequestContext) throws -> Campaign {
        let id = context.parameters.get("campaignID") ?? ""
        guard let campaign = try node.campaign(id) else { throw StreamError(.doesNotExist, .notFound, "Can't find campaign with id \(id.prefix(64))") }
        return campaign
    }

    private func state(of campaign: Campaign) throws -> (Campaign.Status, CampaignProgress) {
        let progress = try node.campaignProgress(of: campaign)
        return (campaign.status(progress: progress, at: node.clock.now()), progress)
    }

    func shape(_ campaign: Campaign) throws -> JSONValue {
        let (status, progress) = try state(of: campaign)
        var object: [String: JSONValue] = [
            "id": .string(campaign.id), "name": .string(campaign.name), "description": .string(campaign.description),
            "text": .string(campaign.text), "segment_id": .string(campaign.segmentID), "segment_ids": [.string(campaign.segmentID)],
            "sender_id": .string(campaign.senderID.rawValue), "channel_type": .string(campaign.channelType),
            "defaults": .object(campaign.defaults.mapValues { .string($0) }),
            "attachments": .array(campaign.attachments.map(StreamShapes.attachment)),
            "status": .string(status.rawValue), "created_at": StreamJSON.time(campaign.createdAt), "updated_at": StreamJSON.time(campaign.updatedAt),
            "users_targeted": .number(Double(progress.targeted)), "messages_sent": .number(Double(progress.sent)),
            "failed": .number(Double(progress.failed)), "sent_messages": .number(Double(progress.sent)),
            "errored_messages": .number(Double(progress.failed)),
        ]
        let times: [(String, Timestamp?)] = [
            ("scheduled_for", campaign.scheduledFor), ("scheduled_at", campaign.scheduledAt), ("started_at", progress.startedAt),
            ("stopped_at", campaign.stoppedAt), ("resumed_at", campaign.resumedAt), ("completed_at", progress.completedAt),
        ]
        for (key, time) in times { object[key] = time.map(StreamJSON.time) ?? .null }
        if campaign.isHalted(progress), let error = progress.error { object["details"] = .string(error) }
        return .object(object)
    }
}
