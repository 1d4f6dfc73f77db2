import ChorusModel
import Logging
import ServiceLifecycle

/// Channel types' `message_retention`: old messages are removed on a schedule
/// (docs/stream-api.md, "Channel types").
extension ChatNode {
    /// Removes the messages that outlived their type's retention in every channel this node
    /// owns whose type has one; returns how many channels lost messages. Channels are found
    /// through the channel index, at most `limit` per pass.
    public func expireMessages(limit: Int = 10_000) async throws -> Int {
        let types = channelTypes.all().filter { $0.messageRetention != "infinite" }.map { JSONValue.string($0.name) }
        guard !types.isEmpty else { return 0 }
        // Oldest channels first, from where the last pass stopped (then from the start again), so
        // a pass capped at `limit` still reaches every channel in turn.
        var conditions: [String: JSONValue] = ["type": .object(["$in": .array(types)])]
        if let after = retentionCursor.withLock({ $0 }) { conditions["created_at"] = .object(["$gt": .string(after)]) }
        let sort = QuerySort(fields: [.init(name: "created_at", ascending: true)])
        let channels = try await localQueryChannels(try QueryFilter.parse(.object(conditions)), sort: sort, limit: limit)
        let last = channels.last.flatMap { channel -> String? in
            guard case .string(let text)? = channel.document["created_at"] else { return nil }
            return text
        }
        retentionCursor.withLock { $0 = channels.count < limit ? nil : last }
        var expired = 0
        for channel in channels {
            do {
                if try await withChannel(channel.id, { try await $0.expireMessages() }) { expired += 1 }
            } catch {
                // One channel (deleted meanwhile, moving) does not stop the pass; the next retries it.
                logger.debug("a channel's retention failed", metadata: ["channel": "\(channel.id)", "error": "\(error)"])
            }
        }
        return expired
    }
}

/// Runs ``ChatNode/expireMessages(limit:)`` every `interval` of the node's clock, and forgets the
/// tasks that ended more than `taskRetention` ago (``ChatNode/expireTasks(endedBefore:)``).
public struct RetentionService: Service {
    let node: ChatNode
    let interval: Duration
    let taskRetention: Duration
    let logger: Logger

    public init(node: ChatNode, interval: Duration, taskRetention: Duration, logger: Logger) {
        self.node = node
        self.interval = interval
        self.taskRetention = taskRetention
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await node.clock.sleep(for: interval) }
            guard !Task.isShuttingDownGracefully && !Task.isCancelled else { return }
            let forgotten = node.expireTasks(endedBefore: taskRetention)
            if forgotten > 0 { logger.info("forgot ended tasks", metadata: ["chat.tasks": "\(forgotten)"]) }
            do {
                let expired = try await node.expireMessages()
                if expired > 0 { logger.info("expired messages past their retention", metadata: ["chat.channels": "\(expired)"]) }
            } catch {
                logger.warning("a retention pass failed; the next one retries", metadata: ["error": "\(error)"])
            }
        }
    }
}
