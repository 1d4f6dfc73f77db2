import ChorusCluster
import ChorusModel
import Foundation
import ServiceLifecycle
import Synchronization

/// A background task (Stream's `GET /tasks/{id}`): what it does, how far it got, and its result.
/// Tasks run on the node that accepted them; each change is kept (``ChatTaskStore``) before the
/// next step, so a restarted node carries on where it stopped (docs/stream-api.md, "Tasks").
public struct ChatTask: Sendable, Codable, Equatable {
    public enum Status: String, Sendable, Codable {
        case pending, running, completed, failed
    }

    /// One channel's outcome.
    public struct Outcome: Sendable, Codable, Equatable {
        /// `ok` or `error`.
        public var status: String
        public var error: String?
    }

    /// `<node>-<uuid>`: the node that runs it, so any node can find it.
    public var id: String
    /// `delete_channels`.
    public var kind: String
    public var status: Status
    public var createdAt: Timestamp
    public var updatedAt: Timestamp
    /// The channels, in order, and whether to delete their messages too.
    public var cids: [String]
    public var hard: Bool
    /// The user it acts for; nil: a server.
    public var actingUser: UserID?
    /// What happened to each channel done so far.
    public var results: [String: Outcome] = [:]
    /// The channel being deleted when this state was kept (on a restart, its deletion may have
    /// happened already).
    public var inFlight: String?
    /// What an export task exports, and the file it wrote once done.
    public var export: ExportOptions?
    public var file: String?

    /// An export's options (Stream's `POST /export_channels`).
    public struct ExportOptions: Sendable, Codable, Equatable {
        public struct Channel: Sendable, Codable, Equatable {
            public var cid: String
            public var since: Timestamp?
            public var until: Timestamp?

            public init(cid: String, since: Timestamp?, until: Timestamp?) {
                self.cid = cid
                self.since = since
                self.until = until
            }
        }

        public var channels: [Channel]
        public var clearDeletedMessageText: Bool
        public var includeTruncatedMessages: Bool
        public var exportUsers: Bool

        public init(channels: [Channel], clearDeletedMessageText: Bool, includeTruncatedMessages: Bool, exportUsers: Bool) {
            self.channels = channels
            self.clearDeletedMessageText = clearDeletedMessageText
            self.includeTruncatedMessages = includeTruncatedMessages
            self.exportUsers = exportUsers
        }
    }

    public init(
        id: String, kind: String, status: Status, createdAt: Timestamp, updatedAt: Timestamp, cids: [String] = [], hard: Bool = false,
        actingUser: UserID? = nil, inFlight: String? = nil, export: ExportOptions? = nil
    ) {
        self.id = id
        self.kind = kind
        self.status = status
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.cids = cids
        self.hard = hard
        self.actingUser = actingUser
        self.inFlight = inFlight
        self.export = export
    }

    /// The node that runs task `id`.
    public static func node(of id: String) -> String? {
        guard id.count > 37 else { return nil }
        let uuidStart = id.index(id.endIndex, offsetBy: -36)
        let dash = id.index(before: uuidStart)
        guard id[dash] == "-", UUID(uuidString: String(id[uuidStart...])) != nil else { return nil }
        return String(id[..<dash])
    }
}

/// The tasks of this node, in memory and (with a data directory) one JSON file each in
/// `<data_dir>/tasks/`, written and synced (``DurableFile``) on every change.
public final class ChatTaskStore: Sendable {
    private let tasks = Mutex<[String: ChatTask]>([:])
    private let directory: String?

    /// Tasks in memory only.
    public init() {
        directory = nil
    }

    /// Tasks kept in `directory` (loaded from it).
    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var loaded: [String: ChatTask] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasSuffix(".json") {
            guard let data = FileManager.default.contents(atPath: directory + "/" + name),
                let task = try? JSONDecoder().decode(ChatTask.self, from: data)
            else { continue }
            loaded[task.id] = task
        }
        tasks.withLock { $0 = loaded }
    }

    public func task(_ id: String) -> ChatTask? { tasks.withLock { $0[id] } }

    /// Tasks that have not finished (to resume after a restart).
    var unfinished: [ChatTask] {
        tasks.withLock { $0.values.filter { $0.status == .pending || $0.status == .running } }.sorted { $0.createdAt < $1.createdAt }
    }

    /// Keeps `task` (durably first, with a data directory).
    func save(_ task: ChatTask) throws {
        if let directory {
            try DurableFile.write(JSONEncoder().encode(task), to: directory + "/" + task.id + ".json", in: directory)
        }
        tasks.withLock { $0[task.id] = task }
    }

    /// Forgets the tasks that ended (completed or failed) before `time`, and returns them.
    func removeEnded(before time: Timestamp) -> [ChatTask] {
        let ended = tasks.withLock { tasks in
            let ended = tasks.values.filter { ($0.status == .completed || $0.status == .failed) && $0.updatedAt < time }
            for task in ended { tasks[task.id] = nil }
            return ended
        }
        if let directory {
            for task in ended { try? FileManager.default.removeItem(atPath: directory + "/" + task.id + ".json") }
        }
        return ended
    }
}

/// What runs tasks of a kind the chat layer does not know (an export, whose format is the
/// API's): it gets the task as kept and returns it ended (``ChatTask/status`` `completed`).
public typealias ChatTaskRunner = @Sendable (ChatTask) async throws -> ChatTask

extension ChatNode {
    /// Runs tasks of `kind` with `runner` (registered before ``resumeTasks()``).
    public func registerTaskRunner(kind: String, _ runner: @escaping ChatTaskRunner, cleanup: (@Sendable (ChatTask) -> Void)? = nil) {
        taskRunners.withLock { $0[kind] = runner }
        if let cleanup { taskCleanups.withLock { $0[kind] = cleanup } }
    }

    /// Forgets the tasks that ended more than `age` ago (their kind's cleanup removes what they
    /// left behind, such as an export's file); returns how many.
    @discardableResult
    public func expireTasks(endedBefore age: Duration) -> Int {
        let ended = tasks.removeEnded(before: clock.now().advanced(by: .zero - age))
        let cleanups = taskCleanups.withLock { $0 }
        for task in ended { cleanups[task.kind]?(task) }
        return ended.count
    }

    /// Keeps `task` and runs it in the background with its kind's runner.
    public func startTask(_ task: ChatTask) throws {
        try tasks.save(task)
        Task { await self.run(task) }
    }

    /// Starts deleting `cids` (1-100) in the background, as `user` (nil: a server); returns the
    /// task at once. Each channel is deleted as ``ChannelActor/deleteChannel(hard:by:asServer:)``
    /// does, so its members and watchers hear `channel.deleted`.
    public func startDeletingChannels(_ cids: [ChannelAddress], hard: Bool, as user: UserID?) throws -> ChatTask {
        let now = clock.now()
        let task = ChatTask(
            id: newTaskID(), kind: "delete_channels", status: .pending, createdAt: now, updatedAt: now, cids: cids.map(\.cid), hard: hard,
            actingUser: user)
        try startTask(task)
        return task
    }

    /// A new task id: this node's name and a UUID.
    public func newTaskID() -> String {
        actorSystem.nodeName + "-" + UUID().uuidString.lowercased()
    }

    /// Task `id`, from the node that runs it; nil when there is no such task.
    public func task(_ id: String) async throws -> ChatTask? {
        if let local = tasks.task(id) { return local }
        let known = clusterMember?.metadataLog?.members ?? cluster?.ring.nodes ?? []
        guard let owner = ChatTask.node(of: id), owner != actorSystem.nodeName, known.contains(owner) else { return nil }
        return try await chatNodeActor(on: owner).task(id)
    }

    /// Carries on with the tasks a restart interrupted (each as last kept; one that is running
    /// already is not started twice).
    public func resumeTasks() {
        for task in tasks.unfinished { Task { await self.run(task) } }
    }

    /// Runs `task` to its end, keeping every step; a task already running here is left to that run.
    func run(_ task: ChatTask) async {
        guard runningTasks.withLock({ $0.insert(task.id).inserted }) else { return }
        defer { runningTasks.withLock { _ = $0.remove(task.id) } }
        // As last kept: a run that ended meanwhile is not done again from an older copy.
        var task = tasks.task(task.id) ?? task
        guard task.status == .pending || task.status == .running else { return }
        guard task.kind == "delete_channels" else { return await runRegistered(task) }
        let resumedInFlight = task.inFlight
        do {
            for cid in task.cids where task.results[cid] == nil {
                task.status = .running
                task.inFlight = cid
                task.updatedAt = clock.now()
                try tasks.save(task)
                task.results[cid] = try await deleteForTask(cid, hard: task.hard, as: task.actingUser, resumed: cid == resumedInFlight)
            }
            task.status = .completed
        } catch let interrupted as TaskInterrupted {
            logger.warning("a task was interrupted; it resumes on the next start", metadata: ["task": "\(task.id)", "error": "\(interrupted.cause)"])
            task.updatedAt = clock.now()
            try? tasks.save(task)
            return
        } catch {
            task.status = .failed
            logger.error("a task failed", metadata: ["task": "\(task.id)", "error": "\(error)"])
        }
        task.inFlight = nil
        task.updatedAt = clock.now()
        try? tasks.save(task)
    }

    /// Runs a task of a registered kind; one without a runner fails.
    private func runRegistered(_ task: ChatTask) async {
        var task = task
        do {
            guard let runner = taskRunners.withLock({ $0[task.kind] }) else { throw ChatError(.invalidRequest, "no runner for tasks of kind \(task.kind)") }
            task.status = .running
            task.updatedAt = clock.now()
            try tasks.save(task)
            task = try await runner(task)
        } catch {
            task.status = .failed
            logger.error("a task failed", metadata: ["task": "\(task.id)", "error": "\(error)"])
        }
        task.updatedAt = clock.now()
        try? tasks.save(task)
    }

    /// Deletes one channel of a task; a channel already gone counts as deleted when the task was
    /// deleting it as its node stopped. A refusal (no such channel, not allowed) is the channel's
    /// outcome; a failure of the cluster or the node (unreachable, stopping) is retried a few
    /// times and then interrupts the task, which resumes on the node's next start.
    private func deleteForTask(_ cid: String, hard: Bool, as user: UserID?, resumed: Bool) async throws -> ChatTask.Outcome {
        guard let address = ChannelAddress(cid: cid), let id = address.channelID else {
            return ChatTask.Outcome(status: "error", error: "\(cid) is not a cid of a Stream channel")
        }
        var attempt = 0
        while true {
            do {
                try await withChannel(id) { channel in
                    var actor = user
                    if actor == nil { actor = try await channel.owner() }
                    _ = try await channel.deleteChannel(hard: hard, by: actor ?? UserID("server")!, asServer: user == nil)
                }
                return ChatTask.Outcome(status: "ok")
            } catch let error as ChatError where error.code == .channelNotFound {
                return resumed ? ChatTask.Outcome(status: "ok") : ChatTask.Outcome(status: "error", error: "Can't find channel with id \(cid)")
            } catch let error as ChatError where error.code != .clusterUnavailable {
                return ChatTask.Outcome(status: "error", error: error.message)
            } catch {
                attempt += 1
                guard attempt < 5, !Task.isCancelled else { throw TaskInterrupted(cause: "\(error)") }
                try await clock.sleep(for: .milliseconds(100 << attempt))
            }
        }
    }
}

/// A task stopped by a failure that is not its channels' (the cluster, the node stopping): it
/// stays unfinished, and resumes on the node's next start.
struct TaskInterrupted: Error {
    var cause: String
}

/// Resumes the tasks a restart interrupted once the node serves, then waits for shutdown.
public struct TaskResumeService: Service {
    let node: ChatNode

    public init(node: ChatNode) {
        self.node = node
    }

    public func run() async throws {
        node.resumeTasks()
        try? await gracefulShutdown()
    }
}
