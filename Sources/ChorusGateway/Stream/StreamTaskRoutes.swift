import ChorusChat
import ChorusModel
import Hummingbird

/// Background tasks: `POST /channels/delete` starts one, `GET /tasks/{id}` reports it
/// (docs/stream-api.md, "Tasks").
struct StreamTaskRoutes {
    let node: ChatNode
    let maxBodyBytes: Int

    func register(on api: RouterGroup<ChorusRequestContext>) {
        api.post("channels/delete") { request, context in try await deleteChannels(request, context) }
        api.get("tasks/:taskID") { _, context in try await task(context) }
    }

    /// `{"cids": [...1-100], "hard_delete": bool}` → 201 `{"task_id"}`. A server deletes any
    /// channel; a user those they own or moderate (each channel's outcome says which failed).
    func deleteChannels(_ request: Request, _ context: ChorusRequestContext) async throws -> Response {
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        guard let cids = try body.strings("cids", max: 100), !cids.isEmpty else { throw StreamError.input("cids must list 1-100 channels") }
        var addresses: [ChannelAddress] = []
        for cid in cids {
            guard let address = ChannelAddress(cid: cid) else { throw StreamError.input("cids: \(cid.prefix(80)) is not a cid (type:id)") }
            if !addresses.contains(address) { addresses.append(address) }
        }
        let hard = try body.bool("hard_delete") ?? false
        let user = context.isServer ? nil : try context.requireStreamUser(named: try body.actingUser(), what: "delete channels")
        let task = try node.startDeletingChannels(addresses, hard: hard, as: user)
        return try StreamJSON.response(["task_id": .string(task.id)], status: .created, context: context)
    }

    /// What every task's status shows: `task_id`, `status`, `created_at`, `updated_at`.
    static func statusObject(_ task: ChatTask) -> [String: JSONValue] {
        [
            "task_id": .string(task.id), "status": .string(task.status.rawValue), "created_at": StreamJSON.time(task.createdAt),
            "updated_at": StreamJSON.time(task.updatedAt),
        ]
    }

    /// `{"task_id", "status", "created_at", "updated_at", "result"?}`; `result` (each channel's
    /// `{"status": "ok"}` or `{"status": "error", "error"}`) once the task has ended.
    func task(_ context: ChorusRequestContext) async throws -> Response {
        let id = context.parameters.get("taskID") ?? ""
        guard id.count <= 200, let task = try await node.task(id) else {
            throw StreamError(.doesNotExist, .notFound, "Can't find task with id \(id.prefix(200))")
        }
        let reader = context.isServer ? nil : try context.streamUser(named: nil)
        guard context.isServer || (reader != nil && task.actingUser == reader) else {
            throw StreamError.notAllowed("only a server or the user who started task \(id) may read it")
        }
        var object = Self.statusObject(task)
        if task.status == .completed || task.status == .failed {
            object["result"] = .object(task.results.mapValues { outcome in
                var value: [String: JSONValue] = ["status": .string(outcome.status)]
                if let error = outcome.error { value["error"] = .string(error) }
                return .object(value)
            })
        }
        return try StreamJSON.response(object, context: context)
    }
}
