import ChorusModel
import ChorusStorage
import Foundation
import Logging
import ServiceLifecycle

/// A node's durable storage: the write-ahead log and the checkpoints, under one data directory.
///
/// Layout: `<data-dir>/wal/wal-<first LSN>.log` and `<data-dir>/checkpoints/checkpoint-<covered LSN>.json`.
/// Recovery loads the newest checkpoint and replays the WAL from its covered LSN; a checkpoint lets
/// the segments it covers be deleted, which keeps replay short.
public final class NodeStorage: Sendable {
    /// Storage settings.
    public struct Configuration: Sendable {
        public var dataDirectory: String
        public var fsync: FsyncPolicy
        public var segmentBytes: Int
        /// How often to write a checkpoint when records were logged since the last one.
        public var checkpointInterval: Duration

        public init(dataDirectory: String, fsync: FsyncPolicy = .always, segmentBytes: Int = 64 << 20, checkpointInterval: Duration = .seconds(60)) {
            self.dataDirectory = dataDirectory
            self.fsync = fsync
            self.segmentBytes = segmentBytes
            self.checkpointInterval = checkpointInterval
        }

        var walDirectory: String { dataDirectory + "/wal" }
        var checkpointDirectory: String { dataDirectory + "/checkpoints" }
    }

    /// What recovery found.
    public struct Recovery: Sendable {
        public var state: NodeState
        /// The covered LSN of the checkpoint loaded (0: none).
        public var checkpointLSN: UInt64
        /// WAL records replayed on top of it.
        public var replayedRecords: Int
        public var elapsed: Duration
    }

    public let configuration: Configuration
    /// The node's write-ahead log; give it to the ``ChatNode`` as its journal.
    public let wal: WriteAheadLog
    private let checkpoints: CheckpointStore
    private let logger: Logger

    private init(configuration: Configuration, wal: WriteAheadLog, checkpoints: CheckpointStore, logger: Logger) {
        self.configuration = configuration
        self.wal = wal
        self.checkpoints = checkpoints
        self.logger = logger
    }

    /// Opens the data directory and recovers every actor's state from the newest checkpoint plus the WAL.
    public static func open(_ configuration: Configuration, logger: Logger = Logger(label: "chorus.storage")) throws -> (NodeStorage, Recovery) {
        let started = ContinuousClock.now
        let checkpoints = CheckpointStore(directory: configuration.checkpointDirectory)
        var state = NodeState()
        var covered: UInt64 = 1
        if let latest = try checkpoints.latest() {
            do {
                state = try JSONDecoder().decode(NodeState.self, from: latest.bytes)
            } catch {
                throw WALError(.corrupt, "checkpoint does not decode: \(error)", file: checkpoints.directory)
            }
            covered = latest.covered
        }
        var replayed = 0
        let wal = try WriteAheadLog.open(
            .init(directory: configuration.walDirectory, segmentBytes: configuration.segmentBytes, fsync: configuration.fsync),
            from: covered, minimumNextLSN: max(covered, state.maxAppliedLSN + 1), logger: logger
        ) { lsn, frame in
            try state.replay(lsn: lsn, entry: try JournalEntry(frame: frame))
            replayed += 1
        }
        let recovery = Recovery(
            state: state, checkpointLSN: covered > 1 ? covered : 0, replayedRecords: replayed, elapsed: ContinuousClock.now - started)
        logger.info(
            "recovered",
            metadata: [
                "storage.channels": "\(state.channels.count)", "storage.users": "\(state.users.count)",
                "storage.checkpoint_lsn": "\(recovery.checkpointLSN)", "storage.replayed": "\(replayed)",
                "storage.elapsed": "\(recovery.elapsed)", "storage.fsync": "\(configuration.fsync.description)",
            ])
        return (NodeStorage(configuration: configuration, wal: wal, checkpoints: checkpoints, logger: logger), recovery)
    }

    /// Writes a checkpoint of `node` and deletes the WAL segments it covers.
    public func checkpoint(_ node: ChatNode) async throws {
        let (covered, state) = try await node.checkpoint()
        let encoder = JSONEncoder()
        try checkpoints.write(try encoder.encode(state), covered: covered)
        let removed = wal.removeSegments(coveredBelow: covered)
        logger.info("checkpoint written", metadata: ["storage.covered_lsn": "\(covered)", "storage.segments_removed": "\(removed.count)"])
    }

    /// Flushes and closes the WAL.
    public func close() {
        wal.close()
    }
}

/// Writes a checkpoint every interval while records are being logged, and a last one at shutdown
/// (after the gateway has stopped), then closes the WAL.
public struct CheckpointService: Service {
    let storage: NodeStorage
    let node: ChatNode
    let logger: Logger

    public init(storage: NodeStorage, node: ChatNode, logger: Logger) {
        self.storage = storage
        self.node = node
        self.logger = logger
    }

    public func run() async throws {
        var lastCheckpointLSN = storage.wal.nextLSN
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let interval = storage.configuration.checkpointInterval
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            if storage.wal.nextLSN != lastCheckpointLSN && !Task.isShuttingDownGracefully {
                await checkpoint()
                lastCheckpointLSN = storage.wal.nextLSN
            }
        }
        await checkpoint()
        storage.close()
    }

    private func checkpoint() async {
        do {
            try await storage.checkpoint(node)
        } catch {
            logger.error("checkpoint failed; the WAL keeps every record", metadata: ["error": "\(error)"])
        }
    }
}
