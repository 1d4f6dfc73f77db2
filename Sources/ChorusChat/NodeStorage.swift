import ChorusModel
import ChorusStorage
import Foundation
import Logging
import ServiceLifecycle

/// A node's durable storage: the write-ahead log and the materialized store, under one data directory.
///
/// Layout: `<data-dir>/wal/wal-<first LSN>.log` and `<data-dir>/store.sqlite` (messages and actor
/// snapshots as of the last checkpoint, with the checkpoint's covered LSN). Recovery loads the
/// store and replays the WAL from the covered LSN; a checkpoint writes every change since the
/// last one to the store and deletes the WAL segments it covers, which keeps replay short.
public final class NodeStorage: Sendable {
    /// Storage settings.
    public struct Configuration: Sendable {
        public var dataDirectory: String
        public var fsync: FsyncPolicy
        public var segmentBytes: Int
        /// How often to write a checkpoint when records were logged since the last one.
        public var checkpointInterval: Duration
        /// Channel actors idle this long (and fully stored) are evicted after a checkpoint.
        public var passivateAfter: Duration

        public init(
            dataDirectory: String, fsync: FsyncPolicy = .always, segmentBytes: Int = 64 << 20, checkpointInterval: Duration = .seconds(60),
            passivateAfter: Duration = .seconds(300)
        ) {
            self.dataDirectory = dataDirectory
            self.fsync = fsync
            self.segmentBytes = segmentBytes
            self.checkpointInterval = checkpointInterval
            self.passivateAfter = passivateAfter
        }

        var walDirectory: String { dataDirectory + "/wal" }
        var storePath: String { dataDirectory + "/store.sqlite" }
    }

    /// What recovery found.
    public struct Recovery: Sendable {
        public var state: NodeState
        /// The covered LSN of the last checkpoint in the store (0: none).
        public var checkpointLSN: UInt64
        /// WAL records replayed on top of it.
        public var replayedRecords: Int
        public var elapsed: Duration
        /// The largest channel id in the store (new ids stay above it).
        public var maxStoredChannelID: ChannelID?
    }

    public let configuration: Configuration
    /// The node's write-ahead log; give it to the ``ChatNode`` as its journal.
    public let wal: WriteAheadLog
    /// The node's materialized store; give it to the ``ChatNode``.
    public let store: HistoryStore
    /// This process's hold on the data directory, released by ``close()``.
    private let lock: DataDirectoryLock
    private let logger: Logger

    private init(configuration: Configuration, lock: DataDirectoryLock, wal: WriteAheadLog, store: HistoryStore, logger: Logger) {
        self.configuration = configuration
        self.lock = lock
        self.wal = wal
        self.store = store
        self.logger = logger
    }

    /// Locks the data directory (a second process on it fails at once with a
    /// ``DataDirectoryLock/Failure`` naming the holder), then recovers: every user, and every
    /// channel the WAL tail changes (store snapshot plus WAL), with its newest `messageWindow`
    /// messages in memory. Other channels stay in the store until first use.
    public static func open(
        _ configuration: Configuration, messageWindow: Int = 200, nodeName: String = "chorus-1",
        logger: Logger = Logger(label: "chorus.storage")
    ) throws -> (NodeStorage, Recovery) {
        let started = ContinuousClock.now
        let lock = try DataDirectoryLock.acquire(directory: configuration.dataDirectory, nodeName: nodeName)
        let store = try HistoryStore(path: configuration.storePath, durable: configuration.fsync != .none)
        let covered = try store.coveredLSN()
        try indexUnindexedChannels(in: store, logger: logger)
        // Users stay in memory; channels are loaded from the store only when the WAL tail touches
        // them (the rest are activated on first use).
        var state = NodeState()
        let decoder = JSONDecoder()
        for (id, data, lsn) in try store.userSnapshots() {
            state.users[id] = NodeState.Snapshot(state: try decoder.decode(UserState.self, from: data), appliedLSN: lsn, storedLSN: lsn)
        }
        var replayed = 0
        let wal = try WriteAheadLog.open(
            .init(directory: configuration.walDirectory, segmentBytes: configuration.segmentBytes, fsync: configuration.fsync),
            from: covered, minimumNextLSN: max(covered, state.maxAppliedLSN + 1), logger: logger
        ) { lsn, frame in
            try state.replay(lsn: lsn, entry: try JournalEntry(frame: frame), store: store, window: messageWindow)
            replayed += 1
        }
        let recovery = Recovery(
            state: state, checkpointLSN: covered > 1 ? covered : 0, replayedRecords: replayed, elapsed: ContinuousClock.now - started,
            maxStoredChannelID: try store.maxChannelID())
        logger.info(
            "recovered",
            metadata: [
                "storage.channels": "\(state.channels.count)", "storage.users": "\(state.users.count)",
                "storage.checkpoint_lsn": "\(recovery.checkpointLSN)", "storage.replayed": "\(replayed)",
                "storage.elapsed": "\(recovery.elapsed)", "storage.fsync": "\(configuration.fsync.description)",
            ])
        return (NodeStorage(configuration: configuration, lock: lock, wal: wal, store: store, logger: logger), recovery)
    }

    /// Writes the channel index's rows of stored channels that have none (a store written before
    /// the index existed): once, at the first start after the upgrade.
    static func indexUnindexedChannels(in store: HistoryStore, logger: Logger) throws {
        let missing = try store.unindexedChannels()
        guard !missing.isEmpty else { return }
        let decoder = JSONDecoder()
        let entries = try missing.map { id, snapshot in (id, try decoder.decode(ChannelState.self, from: snapshot).indexEntry()) }
        try store.index(entries)
        logger.info("indexed stored channels", metadata: ["storage.channels": "\(entries.count)"])
    }

    /// Writes a checkpoint of `node` to the store and deletes the WAL segments it covers.
    public func checkpoint(_ node: ChatNode) async throws {
        let covered = try await node.checkpoint(into: store)
        let removed = wal.removeSegments(coveredBelow: covered)
        logger.info("checkpoint written", metadata: ["storage.covered_lsn": "\(covered)", "storage.segments_removed": "\(removed.count)"])
    }

    /// Flushes and closes the WAL, then lets go of the data directory.
    public func close() {
        wal.close()
        lock.release()
    }
}

/// Writes a checkpoint every interval while records are being logged, then passivates idle
/// channels; writes a last checkpoint at shutdown (after the gateway has stopped) and closes the WAL.
public struct CheckpointService: Service {
    let storage: NodeStorage
    let node: ChatNode
    let logger: Logger
    /// Told how long each checkpoint took, and how many channels each pass passivated (metrics).
    let observer: Observer

    public struct Observer: Sendable {
        public var checkpointed: @Sendable (Duration) -> Void
        public var passivated: @Sendable (Int) -> Void

        public init(checkpointed: @escaping @Sendable (Duration) -> Void = { _ in }, passivated: @escaping @Sendable (Int) -> Void = { _ in }) {
            self.checkpointed = checkpointed
            self.passivated = passivated
        }
    }

    public init(storage: NodeStorage, node: ChatNode, logger: Logger, observer: Observer = Observer()) {
        self.storage = storage
        self.node = node
        self.logger = logger
        self.observer = observer
    }

    public func run() async throws {
        var lastCheckpointLSN = storage.wal.nextLSN
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let interval = storage.configuration.checkpointInterval
            try? await cancelWhenGracefulShutdown { try await node.clock.sleep(for: interval) }
            if storage.wal.nextLSN != lastCheckpointLSN && !Task.isShuttingDownGracefully {
                await checkpoint()
                lastCheckpointLSN = storage.wal.nextLSN
            }
            let evicted = node.passivateIdleChannels(idleFor: storage.configuration.passivateAfter)
            observer.passivated(evicted)
            if evicted > 0 {
                logger.debug("passivated idle channels", metadata: ["storage.passivated": "\(evicted)"])
            }
        }
        if Task.isCancelled {
            // The node failed to start or stop in order (another service threw): the WAL keeps
            // every record, and the next start replays it.
            logger.notice("stopping without a final checkpoint; the next start replays the WAL")
        } else {
            await checkpoint()
        }
        storage.close()
    }

    private func checkpoint() async {
        do {
            let started = ContinuousClock.now
            try await storage.checkpoint(node)
            observer.checkpointed(.now - started)
        } catch {
            logger.error("checkpoint failed; the WAL keeps every record", metadata: ["error": "\(error)"])
        }
    }
}
