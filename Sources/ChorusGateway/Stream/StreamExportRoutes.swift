import ChorusChat
import ChorusCluster
import ChorusModel
import Crypto
import Foundation
import Hummingbird

/// Channel exports (server tokens only): `POST /export_channels` starts a background task that
/// writes one JSON document, `GET /export_channels/{id}` reports it with a signed, expiring URL,
/// which `GET /exports/{file}` serves (docs/stream-api.md, "Exports").
struct StreamExportRoutes {
    let node: ChatNode
    let maxBodyBytes: Int
    /// Where export files are written.
    let directory: String
    /// Signs download URLs (the CDN key).
    let key: SymmetricKey
    /// How long a download URL works.
    let ttlSeconds: Int

    static let kind = "export_channels"

    func register(on api: RouterGroup<ChorusRequestContext>, files router: Router<ChorusRequestContext>) {
        api.post("export_channels") { request, context in try await start(request, context) }
        api.get("export_channels/:taskID") { request, context in try await status(request, context) }
        router.get("exports/:file") { request, context in try download(request, context) }
        let (node, directory) = (node, directory)
        node.registerTaskRunner(kind: Self.kind) { task in
            try await Self.run(task, node: node, directory: directory)
        } cleanup: { task in
            if let file = task.file { try? FileManager.default.removeItem(atPath: directory + "/" + file) }
        }
    }

    // MARK: Requests

    /// `{"channels": [{"cid"} or {"type", "id"}, optional "messages_since"/"messages_until"] (1-25),
    /// "clear_deleted_message_text", "include_truncated_messages", "export_users"}` → 201 `{"task_id"}`.
    func start(_ request: Request, _ context: ChorusRequestContext) async throws -> Response {
        try context.requireStreamServer("exporting channels")
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        guard case .array(let items)? = body["channels"], (1...25).contains(items.count) else {
            throw StreamError.input("channels must list 1-25 channels")
        }
        var channels: [ChatTask.ExportOptions.Channel] = []
        for (index, item) in items.enumerated() {
            guard case .object(let fields) = item else { throw StreamError.input("channels[\(index)] must be an object") }
            let channel = StreamBody(fields, path: "channels[\(index)]")
            let address: ChannelAddress?
            if let cid = try channel.string("cid") {
                address = ChannelAddress(cid: cid)
            } else if let type = try channel.string("type"), let id = try channel.string("id") {
                address = ChannelAddress(type: type, id: id)
            } else {
                address = nil
            }
            guard let address, address.channelID != nil else { throw StreamError.input("channels[\(index)] needs a cid (or type and id) of a channel") }
            channels.append(.init(cid: address.cid, since: try channel.time("messages_since"), until: try channel.time("messages_until")))
        }
        let options = ChatTask.ExportOptions(
            channels: channels, clearDeletedMessageText: try body.bool("clear_deleted_message_text") ?? false,
            includeTruncatedMessages: try body.bool("include_truncated_messages") ?? false, exportUsers: try body.bool("export_users") ?? false)
        let now = node.clock.now()
        let task = ChatTask(id: node.newTaskID(), kind: Self.kind, status: .pending, createdAt: now, updatedAt: now, export: options)
        try node.startTask(task)
        return try StreamJSON.response(["task_id": .string(task.id)], status: .created, context: context)
    }

    /// The task; once completed, `result.url` downloads the export until it expires.
    func status(_ request: Request, _ context: ChorusRequestContext) async throws -> Response {
        try context.requireStreamServer("export status")
        let id = context.parameters.get("taskID") ?? ""
        guard id.count <= 200, let task = try await node.task(id), task.kind == Self.kind else {
            throw StreamError(.doesNotExist, .notFound, "Can't find task with id \(id.prefix(200))")
        }
        var object = StreamTaskRoutes.statusObject(task)
        if task.status == .completed, let file = task.file {
            let host = request.head.authority ?? "localhost"
            object["result"] = ["url": .string("http://\(host)/" + signedPath(file, now: node.clock.now())), "path": .string(file)]
        }
        return try StreamJSON.response(object, context: context)
    }

    /// `exports/<file>?expires=<unix>&signature=<hex HMAC-SHA256 of "exports/<file>?expires=<unix>">`.
    func signedPath(_ file: String, now: Timestamp) -> String {
        let path = "exports/\(file)?expires=\(now.seconds + Int64(ttlSeconds))"
        return path + "&signature=" + HMAC<SHA256>.authenticationCode(for: Data(path.utf8), using: key).map { String(format: "%02x", $0) }.joined()
    }

    /// Serves an export file to a valid, unexpired signed URL (404 otherwise, without saying which
    /// part failed). The signature is checked in constant time, before the file is looked for.
    func download(_ request: Request, _ context: ChorusRequestContext) throws -> Response {
        let file = context.parameters.get("file") ?? ""
        // Served outside the Stream API group: the plain (v1) error shape.
        let notFound = ChatError(.notFound, "no such export, or its URL expired")
        let now = node.clock.now().seconds
        guard let expires = request.uri.queryParameters.get("expires").flatMap({ Int64($0) }),
            (now...now + Int64(ttlSeconds)).contains(expires),
            let signature = request.uri.queryParameters.get("signature").flatMap(Self.bytes(hex:)),
            HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Data("exports/\(file)?expires=\(expires)".utf8), using: key),
            file.hasSuffix(".json"), !file.contains("/"), !file.hasPrefix("."),
            let data = FileManager.default.contents(atPath: directory + "/" + file)
        else { throw notFound }
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The bytes of a hex string (64 digits for an HMAC-SHA256), or nil.
    static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    // MARK: The task

    /// Writes the export: `{"channels": [{"channel", "members", "messages"}], "users"?}`, each in the
    /// API's shapes; messages with their reactions, oldest first, within the channel's time range.
    static func run(_ task: ChatTask, node: ChatNode, directory: String) async throws -> ChatTask {
        guard let options = task.export else { throw StreamError.input("an export task without options") }
        var exported: [JSONValue] = []
        var users = Set<UserID>()
        for channel in options.channels {
            guard let address = ChannelAddress(cid: channel.cid), let id = address.channelID else { continue }
            let view = try await node.withChannel(id) { try await $0.view(for: nil, messages: .latest(limit: 0)) }
            var messages: [Message] = []
            var after = MessageID(rawValue: 0)
            while true {
                let page = try await node.withChannel(id) { try await $0.view(for: nil, messages: .after(after, limit: 300)) }.messages.messages
                messages += page
                guard page.count == 300, let last = page.last else { break }  // a short page is the last
                after = last.id
            }
            messages = messages.filter { message in
                channel.since.map { message.createdAt >= $0 } ?? true && channel.until.map { message.createdAt <= $0 } ?? true
            }
            if options.clearDeletedMessageText {
                messages = messages.map { message in
                    var message = message
                    if message.deleted { message.body = "" }
                    return message
                }
            }
            users.formUnion(view.members.map(\.member.userID))
            users.formUnion(messages.map(\.senderID))
            var full = view
            full.messages = MessagePage(messages: messages, hasMore: false)
            let shapes = try await StreamShapes.load(for: [full], node: node)
            exported.append([
                "channel": .object(shapes.channelObject(view)), "members": .array(view.members.map(shapes.member)),
                "messages": .array(messages.map { shapes.message($0, cid: address.cid) }),
            ])
        }
        var document: [String: JSONValue] = ["channels": .array(exported), "exported_at": StreamJSON.time(node.clock.now())]
        if options.exportUsers {
            let shapes = StreamShapes(names: try await node.displayNames(of: users))
            document["users"] = .array(users.sorted { $0.rawValue < $1.rawValue }.map(shapes.user))
        }
        // Exports hold whole histories: only this node's user may read them.
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let file = task.id + ".json"
        // Synced before the task says completed: an OS crash must not leave a completed task without its file.
        try DurableFile.write(JSONEncoder().encode(JSONValue.object(document)), to: directory + "/" + file, in: directory)
        var done = task
        done.file = file
        done.status = .completed
        return done
    }
}
