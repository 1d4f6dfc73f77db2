import ArgumentParser
import ChorusActorSystem
import ChorusChat
import ChorusCluster
import ChorusGateway
import ChorusModel
import Crypto
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Starts one node (single, or a member of a cluster) and runs it until SIGTERM/SIGINT.
struct NodeRunner {
    /// Which node of `configuration.cluster` this is, and the cluster secret.
    struct Member {
        var name: String
        var index: Int
        var secret: [UInt8]
        /// Hand this node's keys to the others when it stops (a graceful leave).
        var leaveOnStop: Bool
    }

    var configuration: ChorusConfiguration
    var logging: LoggingOptions
    var member: Member?

    func run() async throws {
        // First of all: from here on a SIGINT or SIGTERM is never lost, even during recovery.
        let signals = StopSignals.install()
        logging.bootstrap()
        var logger = Logger(label: "chorus")
        logger[metadataKey: "node"] = "\(configuration.node.name)"
        // Acted on at once: before the services run, a stop skips what is left of start-up.
        let stop = StopRequest()
        let stopper = Task { [logger] in
            for await signal in signals {
                logger.notice("stopping", metadata: ["signal": "\(StopSignals.name(signal))"])
                if await stop.signalled(signal) == .exitNow {
                    // Ctrl-C twice: stop now. Nothing acknowledged is lost; recovery replays the WAL.
                    logger.warning("second SIGINT: exiting without a final checkpoint")
                    exit(130)
                }
            }
        }
        defer { stopper.cancel() }

        let jwtSecret = ServeCommand.jwtSecret()
        let cdnKey = ProcessInfo.processInfo.environment["CHORUS_CDN_SECRET"].map { Array($0.utf8) }
            ?? Array(HMAC<SHA256>.authenticationCode(for: Data("chorus-cdn-url-signing".utf8), using: SymmetricKey(data: jwtSecret)))

        var chatConfiguration = configuration.chatNodeConfiguration
        let (storage, recovery) = try NodeStorage.open(
            configuration.storageConfiguration, messageWindow: chatConfiguration.messageWindow, nodeName: configuration.node.name,
            logger: logger)
        let actorSystem = ClusterActorSystem(nodeName: configuration.node.name, logger: logger)
        var clusterMember: ClusterMember?
        if let member {
            let cluster = configuration.cluster
            let placement = ClusterPlacement(nodeName: member.name, ring: HashRing(nodes: cluster.nodes.map(\.name), virtualNodes: cluster.virtualNodes))
            clusterMember = ClusterMember(placement: placement, actorSystem: actorSystem, logger: logger)
            chatConfiguration.snowflakeNode = UInt64(member.index + 1)
        }
        let node = ChatNode(
            actorSystem: actorSystem, configuration: chatConfiguration, journal: storage.wal, store: storage.store,
            cluster: clusterMember?.placement, logger: logger)
        node.restore(recovery.state, maxStoredChannelID: recovery.maxStoredChannelID)

        var services: [any Service] = [CheckpointService(storage: storage, node: node, logger: logger)]
        if let member, let clusterMember {
            let cluster = configuration.cluster
            let placement = clusterMember.placement
            clusterMember.start()
            node.startClusterServices(member: clusterMember)
            let me = cluster.node(named: member.name)!
            let listen = ChorusConfiguration.Cluster.parseAddress(me.clusterAddress)!
            var peers: [String: PeerAddress] = [:]
            for peer in cluster.nodes where peer.name != member.name {
                peers[peer.name] = ChorusConfiguration.Cluster.parseAddress(peer.clusterAddress)
            }
            // The newest ring this node saw (it may have left, or others may have joined).
            if let saved = RingFile.load(from: configuration.node.dataDir) { placement.adopt(saved) }
            let dataDir = configuration.node.dataDir
            placement.onRingChange { RingFile.save($0, to: dataDir) }
            if stop.requested {
                storage.close()
                return
            }
            do {
                _ = try await actorSystem.startTransport(
                    ClusterTransportConfiguration(
                        cluster: cluster.name, secret: member.secret, host: listen.host, port: listen.port, peers: peers,
                        callTimeout: .milliseconds(cluster.callTimeoutMs)),
                    placement: placement)
            } catch {
                storage.close()
                throw CLIFailure.listening(on: me.clusterAddress, for: "peers (cluster_address)", error)
            }
            services.append(
                Membership(
                    member: clusterMember, clock: node.clock, interval: .milliseconds(cluster.heartbeatIntervalMs),
                    suspectAfter: .milliseconds(cluster.suspectAfterMs), downAfter: .milliseconds(cluster.downAfterMs), logger: logger))
            if member.leaveOnStop { services.append(LeaveOnStopService(member: clusterMember)) }
            // A node that left (or is new) takes its share over from the current owners.
            if !stop.requested {
                do {
                    try await clusterMember.joinIfNeeded()
                } catch {
                    logger.error("joining the cluster failed; serving with the current ring", metadata: ["error": "\(error)"])
                }
            }
        }
        let host = configuration.node.host
        let realtime = RealtimeHub(edgeName: configuration.node.name, node: node, configuration: configuration.realtime, logger: logger)
        let app = Gateway.application(
            configuration: configuration, dependencies: .init(node: node, jwtSecret: jwtSecret, cdnKey: cdnKey), realtime: realtime,
            logger: logger,
            onServerRunning: { port in
                // Written in one call, unbuffered: scripts and tests wait for this line.
                FileHandle.standardOutput.write(Data("chorus listening on http://\(host):\(port)\n".utf8))
            })
        // Stopped in reverse: WebSockets close with 1001, the gateway finishes its requests,
        // heartbeats stop, then the last checkpoint is written.
        services += [app, realtime]
        let group = ServiceGroup(configuration: .init(services: services, logger: logger))
        await stop.attach(group)
        do {
            try await group.run()
        } catch {
            await actorSystem.shutdownTransport()
            throw CLIFailure.listening(on: "\(host):\(configuration.node.port)", for: "clients", error)
        }
        await actorSystem.shutdownTransport()
    }
}

/// A stop asked for by a signal, whenever it came: before the node's services run (start-up
/// then skips what is left) or after (the service group shuts down gracefully).
final class StopRequest: Sendable {
    enum Outcome { case stopping, exitNow }

    private struct State {
        var requested = false
        var interrupts = 0
        var group: ServiceGroup?
    }
    private let state = Mutex(State())

    var requested: Bool { state.withLock { $0.requested } }

    /// A signal arrived; a second SIGINT means exit now.
    func signalled(_ signal: Int32) async -> Outcome {
        let (group, interrupts) = state.withLock { state in
            state.requested = true
            if signal == SIGINT { state.interrupts += 1 }
            return (state.group, state.interrupts)
        }
        if interrupts >= 2 { return .exitNow }
        await group?.triggerGracefulShutdown()
        return .stopping
    }

    /// The node's services are about to run: a stop already asked for stops them at once.
    func attach(_ group: ServiceGroup) async {
        let requested = state.withLock { state in
            state.group = group
            return state.requested
        }
        if requested { await group.triggerGracefulShutdown() }
    }
}
