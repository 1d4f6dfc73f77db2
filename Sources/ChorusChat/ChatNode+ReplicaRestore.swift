import ChorusCluster
import ChorusModel
import Logging
import ServiceLifecycle

/// What one restore pass did (``ChatNode/restoreReplicas(keysPerSecond:isStale:)``).
public struct ReplicaRestoreReport: Sendable, Equatable {
    /// Keys this node owns under the ring of the pass, and of those, the ones that now serve.
    public var owned = 0
    public var serving = 0
    /// Keys that could not reach a majority of their replicas (they recover on their next call).
    public var failed = 0
    /// Whether a newer ring cut the pass short.
    public var interrupted = false
}

extension ChatNode {
    /// Makes every replicated channel and user this node holds and now owns serve, one key at a
    /// time and at most `keysPerSecond` keys a second, without waiting for a client to ask:
    ///
    /// - a key this node took over in a failover recovers from a majority of its replicas now,
    ///   not on its first call;
    /// - a key whose replica set gained a node (a node left the ring, and the next node on the
    ///   ring became a replica) starts a new term, in which its primary brings the new replica
    ///   up to date (the whole log when it holds nothing): the key has R copies again.
    ///
    /// Keys that already serve with the ring's replicas cost a lookup. Stops early when `isStale`
    /// says a newer ring arrived (the next pass covers it). Keys only in this node's store, not
    /// active (replicated keys are not passivated, but a restarted node activates only what its
    /// WAL replays), are restored on their first call. docs/replication.md, "Restoring copies".
    public func restoreReplicas(keysPerSecond: Int, isStale: @Sendable () -> Bool = { false }) async -> ReplicaRestoreReport {
        var report = ReplicaRestoreReport()
        guard let replication else { return report }
        let placement = replication.placement
        let (channels, users) = directory.withEntries { (Array($0.channels.keys), Array($0.users.keys)) }
        let owned =
            channels.filter { placement.owner(of: ChannelActor.identity(of: $0)) == replication.me }.map(ReplicatedKey.channel)
            + users.filter { placement.owner(of: UserActor.identity(of: $0)) == replication.me }.map(ReplicatedKey.user)
        report.owned = owned.count
        let spacing = Duration.seconds(1) / max(1, keysPerSecond)
        for key in owned {
            if isStale() || Task.isCancelled {
                report.interrupted = true
                break
            }
            let started = ContinuousClock.now
            do {
                switch key {
                case .channel(let id): try await withLocalChannel(id) { _ in }
                case .user(let id): try await withLocalUser(id) { _ in }
                }
                report.serving += 1
            } catch let error as ChatError where error.code == .channelNotFound || error.code == .userNotFound {
                // A placeholder whose key never existed (a create that failed): nothing to restore.
            } catch {
                report.failed += 1
                logger.debug("restoring a key's replicas failed; its next call retries", metadata: ["key": "\(key)", "error": "\(error)"])
            }
            let rest = spacing - (ContinuousClock.now - started)
            if rest > .zero { try? await Task.sleep(for: rest) }
        }
        return report
    }

    private enum ReplicatedKey: CustomStringConvertible {
        case channel(ChannelID)
        case user(UserID)

        var description: String {
            switch self {
            case .channel(let id): "channel \(id)"
            case .user(let id): "user \(id)"
            }
        }
    }
}

/// Runs a ``ChatNode/restoreReplicas(keysPerSecond:isStale:)`` pass after every ring change (a
/// newer ring during a pass starts the next one), so that failed-over keys serve and lost copies
/// are restored in the background, throttled to `keysPerSecond` (`cluster.restore_keys_per_second`).
public struct ReplicaRestoreService: Service {
    let node: ChatNode
    let placement: ClusterPlacement
    let keysPerSecond: Int
    let logger: Logger

    public init(node: ChatNode, placement: ClusterPlacement, keysPerSecond: Int, logger: Logger) {
        self.node = node
        self.placement = placement
        self.keysPerSecond = keysPerSecond
        self.logger = logger
    }

    public func run() async throws {
        let (changes, continuation) = AsyncStream<UInt64>.makeStream(bufferingPolicy: .bufferingNewest(1))
        placement.onRingChange { continuation.yield($0.epoch) }
        let placement = self.placement
        await cancelWhenGracefulShutdown {
            for await epoch in changes {
                let started = ContinuousClock.now
                let report = await node.restoreReplicas(keysPerSecond: keysPerSecond) { placement.epoch != epoch }
                guard report.owned > 0 else { continue }
                logger.info(
                    "replicas restored after a ring change",
                    metadata: [
                        "cluster.epoch": "\(epoch)", "replication.owned": "\(report.owned)", "replication.serving": "\(report.serving)",
                        "replication.failed": "\(report.failed)", "replication.interrupted": "\(report.interrupted)",
                        "replication.elapsed": "\(ContinuousClock.now - started)",
                    ])
            }
        }
    }
}
