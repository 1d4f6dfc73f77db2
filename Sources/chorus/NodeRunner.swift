import ArgumentParser
import ChorusActorSystem
import ChorusBench
import ChorusChat
import ChorusCluster
import ChorusGateway
import ChorusModel
import Crypto
import Foundation
import Logging
import Metrics
import Prometheus
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
        ParentWatch.start()
        logging.bootstrap()
        var logger = Logger(label: "chorus")
        logger[metadataKey: "node"] = "\(configuration.node.name)"
        // Acted on at once: a stop during recovery stops the services as soon as they start (the
        // gateway then never serves).
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

        let role = member.map {
            ChorusNode.ClusterRole(name: $0.name, index: $0.index, transport: .tcp(secret: $0.secret), leaveOnStop: $0.leaveOnStop)
        }
        let node = try ChorusNode(configuration: configuration, cluster: role, jwtSecret: jwtSecret, cdnKey: cdnKey, logger: logger)
        // One node per process here: metrics that libraries emit through swift-metrics land in the
        // node's registry too, and GET /metrics shows them.
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: node.metrics.registry))
        let host = configuration.node.host
        let app = node.application { port in
            // Written in one call, unbuffered: scripts and tests wait for this line.
            FileHandle.standardOutput.write(Data("chorus listening on http://\(host):\(port)\n".utf8))
        }
        // Stopped in reverse: WebSockets close with 1001, the gateway finishes its requests, the
        // node leaves the cluster (if asked to), heartbeats and the transport stop, then the last
        // checkpoint is written and the WAL closed.
        let group = ServiceGroup(configuration: .init(services: node.services(application: app), logger: logger))
        await stop.attach(group)
        do {
            try await group.run()
        } catch let error as ChorusNode.ClusterStartError {
            throw CLIFailure.listening(on: error.address, for: "peers (cluster_address)", error.underlying)
        } catch {
            throw CLIFailure.listening(on: "\(host):\(configuration.node.port)", for: "clients", error)
        }
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
