import ChorusActorSystem
import ChorusChat
import ChorusCluster
import ChorusModel
import ChorusStorage
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// One Chorus node, wired from its configuration: the one place that puts storage, the actor
/// system, the cluster membership, the chat node, the WebSocket edge and the gateway together.
/// `chorus serve`, `chorus node` and the tests build their nodes with it.
///
/// Building recovers the data directory (the only I/O) and starts no task. The node then runs as
/// the services of ``services(application:)`` in one `ServiceGroup`: storage (checkpoints; the
/// WAL is closed after the last one), the cluster (the transport, and joining the ring),
/// membership (heartbeats), the graceful leave, the gateway, and the WebSocket edge. A
/// `ServiceGroup` starts them all at once, so the ones that need the cluster (membership, the
/// leave, the gateway) wait until the node serves its keys; a stop before that skips them. The
/// group stops them one by one in reverse. One clock (`clock`) drives every timer of the node.
public final class ChorusNode: Sendable {
    /// This node's part in a cluster.
    public struct ClusterRole: Sendable {
        /// How the node reaches its peers.
        public enum Transport: Sendable {
            /// TCP at the configured `cluster_address`es, proving `secret` in the handshake.
            case tcp(secret: [UInt8])
            /// An in-process network (several nodes in one test process).
            case inProcess(InProcessNetwork)
        }

        /// The node's name in `cluster.nodes`.
        public var name: String
        /// Its index there (its snowflake node id is `index + 1`).
        public var index: Int
        public var transport: Transport
        /// Hand this node's keys to the others when it stops (a graceful leave).
        public var leaveOnStop: Bool

        public init(name: String, index: Int, transport: Transport, leaveOnStop: Bool = false) {
            self.name = name
            self.index = index
            self.transport = transport
            self.leaveOnStop = leaveOnStop
        }
    }

    /// Where the node keeps its state.
    public enum Storage: Sendable {
        /// The configuration's data directory: a WAL, checkpoints and the store.
        case dataDirectory
        /// Memory only: nothing survives the process (tests).
        case memory
    }

    /// Starting the cluster transport failed (for example, its address is in use).
    public struct ClusterStartError: Error, CustomStringConvertible {
        public var address: String
        public var underlying: any Error
        public var description: String { "cannot listen for peers on \(address): \(underlying)" }
    }

    public let configuration: ChorusConfiguration
    public let clock: any TimeSource
    public let actorSystem: ClusterActorSystem
    public let chat: ChatNode
    /// The node's storage; `nil` in memory.
    public let storage: NodeStorage?
    /// What recovery found; `nil` in memory.
    public let recovery: NodeStorage.Recovery?
    /// The node's cluster membership; `nil` for a single node.
    public let member: ClusterMember?
    /// The cluster's metadata log as this node takes part in it (clustered nodes only).
    public let metadataLog: MetadataLog?
    /// The node's WebSocket edge.
    public let realtime: RealtimeHub
    private let role: ClusterRole?
    private let transport: (any ClusterTransport)?
    /// The transport's fault switch, with `cluster.fault_injection` (drills' partitions).
    private let faults: FaultInjectingTransport?
    private let dependencies: Gateway.Dependencies
    private let logger: Logger
    /// Opened once the node serves its keys: the cluster transport is up and the node has joined
    /// (at once for a single node).
    private let clusterReady = Readiness()

    public init(
        configuration: ChorusConfiguration, cluster role: ClusterRole? = nil, storage: Storage = .dataDirectory,
        clock: any TimeSource = SystemTimeSource(), jwtSecret: [UInt8], cdnKey: [UInt8], logger: Logger
    ) throws {
        self.configuration = configuration
        self.clock = clock
        self.role = role
        self.logger = logger
        var chatConfiguration = configuration.chatNodeConfiguration
        // Every channel type: kept in the data directory, and in a cluster decided by the metadata log.
        let dataDir: String? = if case .dataDirectory = storage { configuration.node.dataDir } else { nil }
        let (maxLength, blocklists) = (chatConfiguration.limits.maxMessageLength, chatConfiguration.blocklists)
        let channelTypes =
            try dataDir.map { try ChannelTypeRegistry(defaultMaxMessageLength: maxLength, directory: $0, blocklists: blocklists) }
            ?? ChannelTypeRegistry(defaultMaxMessageLength: maxLength, blocklists: blocklists)
        let documents = try dataDir.map { try AppDocuments(directory: $0) } ?? AppDocuments()
        switch storage {
        case .dataDirectory:
            let (opened, recovery) = try NodeStorage.open(
                configuration.storageConfiguration, messageWindow: chatConfiguration.messageWindow, nodeName: configuration.node.name, logger: logger)
            (self.storage, self.recovery) = (opened, recovery)
        case .memory:
            (self.storage, self.recovery) = (nil, nil)
        }
        let name = role?.name ?? configuration.node.name
        actorSystem = ClusterActorSystem(nodeName: name, logger: logger)
        var placementOnRing: ClusterPlacement?
        if let role {
            let cluster = configuration.cluster
            let placement = ClusterPlacement(
                nodeName: role.name, ring: HashRing(nodes: cluster.nodes.map(\.name), virtualNodes: cluster.virtualNodes), clock: clock)
            let member = ClusterMember(placement: placement, actorSystem: actorSystem, logger: logger)
            self.member = member
            placementOnRing = placement
            let directory: String? = if case .dataDirectory = storage { configuration.node.dataDir } else { nil }
            // The leader's own heartbeats go every half election timeout: followers hear it far more
            // often through the leader claims in membership heartbeats (docs/replication.md), so
            // these carry the commit index, repair logs, keep quiet a follower that hears no
            // claims, and get the answers that let the leader go on claiming.
            metadataLog = try MetadataLog(
                member: member, members: cluster.nodes.map(\.name), virtualNodes: cluster.virtualNodes, directory: directory, clock: clock,
                electionTimeout: .milliseconds(cluster.electionTimeoutMs), heartbeatInterval: .milliseconds(max(10, cluster.electionTimeoutMs / 2)),
                replicationFactor: cluster.effectiveReplicationFactor, logger: logger
            ) { [logger, channelTypes, documents] metadata in
                if placement.adopt(metadata.ring) { logger.info("ring adopted from the metadata log", metadata: ["cluster.epoch": "\(metadata.epoch)"]) }
                do {
                    try channelTypes.adopt(settings: metadata.settings, version: metadata.version)
                    try documents.adopt(settings: metadata.settings, version: metadata.version)
                } catch {
                    logger.error("cannot apply the metadata log's channel types and documents", metadata: ["error": "\(error)"])
                }
            }
            chatConfiguration.snowflakeNode = UInt64(role.index + 1)
            let made = Self.makeTransport(role, cluster: cluster, clock: clock, logger: logger)
            faults = cluster.faultInjection ? FaultInjectingTransport(wrapping: made) : nil
            transport = faults ?? made
        } else {
            (member, metadataLog, transport, faults) = (nil, nil, nil, nil)
            clusterReady.open()
        }
        chat = ChatNode(
            actorSystem: actorSystem, configuration: chatConfiguration, journal: self.storage?.wal ?? MemoryJournal(), store: self.storage?.store,
            clock: clock, cluster: member?.placement, channelTypes: channelTypes, documents: documents,
            tasks: try dataDir.map { try ChatTaskStore(directory: $0 + "/tasks") } ?? ChatTaskStore(), logger: logger)
        if let recovery { chat.restore(recovery.state, maxStoredChannelID: recovery.maxStoredChannelID) }
        realtime = RealtimeHub(edgeName: name, node: chat, configuration: configuration.realtime, logger: logger)
        let health = NodeHealth { [placementOnRing] in placementOnRing.map { $0.ring.nodes.contains(name) } ?? true }
        dependencies = Gateway.Dependencies(
            node: chat, jwtSecret: jwtSecret, cdnKey: cdnKey, faults: faults, exportDirectory: dataDir.map { $0 + "/exports" }, health: health)
        if let member {
            member.start()
            chat.startClusterServices(member: member)
            if case .dataDirectory = storage {
                // The newest ring this node saw (it may have left, or others may have joined).
                let directory = configuration.node.dataDir
                if let saved = RingFile.load(from: directory) { member.placement.adopt(saved) }
                member.placement.onRingChange { [logger] ring in
                    do {
                        try RingFile.save(ring, to: directory)
                    } catch {
                        logger.error("cannot save the ring", metadata: ["cluster.epoch": "\(ring.epoch)", "error": "\(error)"])
                    }
                }
                // A hand-off this node had begun before it stopped: keep its keys refused.
                if let target = HandoffFile.load(from: directory) {
                    if target.epoch > member.placement.epoch {
                        member.placement.gate.restore(target: target)
                        logger.notice("a hand-off was under way at the last stop: its keys stay refused until it completes", metadata: ["cluster.epoch": "\(target.epoch)"])
                    } else {
                        try HandoffFile.save(nil, to: directory)
                    }
                }
                member.placement.gate.persistTarget { [logger] target in
                    do {
                        try HandoffFile.save(target, to: directory)
                    } catch {
                        logger.error("cannot save the hand-off target", metadata: ["error": "\(error)", "cluster.dir": "\(directory)"])
                        throw error
                    }
                }
            }
        }
    }

    private static func makeTransport(
        _ role: ClusterRole, cluster: ClusterConfiguration, clock: any TimeSource, logger: Logger
    ) -> any ClusterTransport {
        let callTimeout = Duration.milliseconds(cluster.callTimeoutMs)
        switch role.transport {
        case .inProcess(let network):
            return network.transport(for: role.name, callTimeout: callTimeout, clock: TransportClock(clock))
        case .tcp(let secret):
            let listen = cluster.node(named: role.name).flatMap { ClusterConfiguration.parseAddress($0.clusterAddress) }
            var peers: [String: PeerAddress] = [:]
            for peer in cluster.nodes where peer.name != role.name {
                peers[peer.name] = ClusterConfiguration.parseAddress(peer.clusterAddress)
            }
            return TCPTransport(
                node: role.name,
                configuration: ClusterTransportConfiguration(
                    cluster: cluster.name, secret: secret, host: listen?.host ?? "127.0.0.1", port: listen?.port ?? 0, peers: peers,
                    callTimeout: callTimeout, keepaliveInterval: .milliseconds(cluster.heartbeatIntervalMs), clock: TransportClock(clock)),
                logger: logger)
        }
    }

    /// The node's HTTP and WebSocket application; `onServerRunning` gets the bound port.
    public func application(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Gateway.application(
            configuration: configuration, dependencies: dependencies, realtime: realtime, logger: logger, onServerRunning: onServerRunning)
    }

    /// Whether the node should get traffic (`GET /readyz`).
    public var health: NodeHealth { dependencies.health }

    /// The node's metrics (`GET /metrics`).
    public var metrics: NodeMetrics { dependencies.metrics }

    // MARK: The cluster

    /// Starts serving peers: the transport listens (TCP) or joins its network (in-process).
    public func startCluster() async throws {
        guard let member, let transport else { return }
        do {
            try await actorSystem.startTransport(transport, placement: member.placement)
        } catch {
            let address = role.flatMap { configuration.cluster.node(named: $0.name)?.clusterAddress } ?? "?"
            throw ClusterStartError(address: address, underlying: error)
        }
    }

    /// Closes every cluster connection.
    public func stopCluster() async {
        await actorSystem.shutdownTransport()
    }

    // MARK: Services

    /// Every service of the node, in dependency order, with `application` (from
    /// ``application(onServerRunning:)``) as the gateway.
    public func services(application: some Service) -> [any Service] {
        var services: [any Service] = []
        if let storage {
            storage.wal.observeSyncs { [metrics] duration, records in metrics.recordSync(duration, records: records) }
            services.append(CheckpointService(storage: storage, node: chat, logger: logger, observer: metrics.checkpointObserver))
        }
        services.append(
            RetentionService(
                node: chat, interval: configuration.chat.retentionSweepSeconds.secondsDuration,
                taskRetention: .seconds(Int64(configuration.chat.taskRetentionDays) * 86_400), logger: logger))
        services.append(StartWhenReady(clusterReady, TaskResumeService(node: chat)))
        services.append(StartWhenReady(clusterReady, CampaignService(node: chat)))
        if let member, let role {
            let cluster = configuration.cluster
            services.append(ClusterService(node: self))
            let membership = Membership(
                member: member, clock: clock, interval: .milliseconds(cluster.heartbeatIntervalMs),
                suspectAfter: .milliseconds(cluster.suspectAfterMs), downAfter: .milliseconds(cluster.downAfterMs), logger: logger)
            // A restarted peer's channels lost this edge's subscriptions: subscribe again.
            membership.onPeerRestart { [realtime] peer in realtime.resubscribe(ownedBy: peer) }
            services.append(StartWhenReady(clusterReady, membership))
            if let metadataLog { services.append(StartWhenReady(clusterReady, metadataLog)) }
            if role.leaveOnStop { services.append(StartWhenReady(clusterReady, LeaveOnStopService(member: member))) }
            if cluster.effectiveReplicationFactor > 1 {
                services.append(
                    StartWhenReady(
                        clusterReady,
                        ReplicaRestoreService(node: chat, placement: member.placement, keysPerSecond: cluster.restoreKeysPerSecond, logger: logger)))
            }
        }
        services.append(StartWhenReady(clusterReady, application))
        services.append(realtime)
        // Last, so the graceful shutdown reaches it first: readiness goes off before anything stops.
        services.append(DrainService(health: dependencies.health))
        return services
    }

    /// The cluster as a service: starts the transport, joins the ring if this node is new to it
    /// (or left), and closes the transport when the node stops.
    private struct ClusterService: Service {
        let node: ChorusNode

        func run() async throws {
            try await node.startCluster()
            if let member = node.member, !Task.isShuttingDownGracefully {
                do {
                    // A stop during the join cancels it (the peers asked are told to abort).
                    _ = try await cancelWhenGracefulShutdown { try await member.joinIfNeeded() }
                } catch {
                    node.logger.error("joining the cluster failed; serving with the current ring", metadata: ["error": "\(error)"])
                }
            }
            // Clients are served from here on: the node has its share of the keys.
            node.clusterReady.open()
            if let member = node.member {
                await cancelWhenGracefulShutdown { await Self.rejoinWhenRemoved(member, logger: node.logger) }
            }
            try? await gracefulShutdown()
            await node.stopCluster()
        }

        /// Joins again whenever the ring goes on without this node while it runs: the metadata
        /// leader took it off as down (it was paused, or cut off, for longer than `down_after_ms`),
        /// and nobody else puts it back. Returns when cancelled.
        static func rejoinWhenRemoved(_ member: ClusterMember, logger: Logger) async {
            let me = member.placement.nodeName
            let (removals, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
            member.placement.onRingChange { ring in
                if !ring.nodes.contains(me) { continuation.yield() }
            }
            // A node that leaves on stop takes itself off the ring, before this loop is cancelled.
            for await _ in removals where !member.placement.ring.nodes.contains(me) && !member.isLeaving {
                do {
                    if try await member.joinIfNeeded() {
                        logger.notice("this node was taken off the ring while running; it joined again")
                    }
                } catch {
                    logger.error("joining the cluster again failed; trying again in a second", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(1))
                    continuation.yield()
                }
            }
        }
    }
}

/// A one-shot latch: services that depend on another wait for it to open.
final class Readiness: Sendable {
    private struct State {
        var open = false
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, any Error>] = [:]
    }
    private let state = Mutex(State())

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once open; throws `CancellationError` if the task is cancelled first.
    func wait() async throws {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let now: Result<Void, any Error>? = state.withLock { state in
                    if state.open { return .success(()) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let now { continuation.resume(with: now) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
    }
}

/// Runs `service` once `readiness` opens (the gateway waits for the cluster); if the node stops
/// first, it never starts.
struct StartWhenReady<Wrapped: Service>: Service {
    let readiness: Readiness
    let service: Wrapped

    init(_ readiness: Readiness, _ service: Wrapped) {
        self.readiness = readiness
        self.service = service
    }

    func run() async throws {
        try? await cancelWhenGracefulShutdown { try await self.readiness.wait() }
        guard !Task.isShuttingDownGracefully, !Task.isCancelled else { return }
        try await service.run()
    }
}
