import ArgumentParser
import ChorusGateway
import Foundation

/// `chorus node`: one node of the cluster a config file describes.
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Run one node of a Chorus cluster.",
        discussion: """
            Runs the node NAME of the `cluster:` section of the config file: it listens for peers on its \
            cluster_address and for clients on its client_address, keeps its data in its data_dir, and \
            serves every client (commands for channels and users other nodes own are forwarded to them).

            The cluster handshake secret comes from CHORUS_CLUSTER_SECRET; client tokens are verified with \
            CHORUS_JWT_SECRET (every node needs the same secrets).
            """)

    @Option(help: "YAML configuration file with a cluster: section (see cluster.example.yaml).")
    var config: String

    @Option(help: "Which node of the file to run.")
    var name: String

    @OptionGroup var logging: LoggingOptions

    enum OnStop: String, ExpressibleByArgument, CaseIterable {
        case leave, stay
    }

    @Option(
        name: .customLong("on-stop"),
        help: "On SIGTERM/SIGINT: leave (hand this node's channels and users to the others first) or stay (keep them here until it is back).")
    var onStop: OnStop = .leave

    func run() async throws {
        var configuration = try ChorusConfiguration.load(path: config)
        let cluster = configuration.cluster
        guard let index = cluster.nodes.firstIndex(where: { $0.name == name }) else {
            let names = cluster.nodes.map(\.name).joined(separator: ", ")
            throw CLIFailure(.config, "\(config): no node named \(name) in cluster.nodes (\(names.isEmpty ? "none" : names))")
        }
        guard let secret = ProcessInfo.processInfo.environment["CHORUS_CLUSTER_SECRET"], !secret.isEmpty else {
            throw CLIFailure(.usage, "set CHORUS_CLUSTER_SECRET (the same on every node) to run a cluster node")
        }
        let me = cluster.nodes[index]
        let client = ChorusConfiguration.Cluster.parseAddress(me.clientAddress)!
        configuration.node.name = me.name
        configuration.node.host = client.host
        configuration.node.port = client.port
        configuration.node.dataDir = me.dataDir
        try await NodeRunner(
            configuration: configuration, logging: logging,
            member: .init(name: me.name, index: index, secret: Array(secret.utf8), leaveOnStop: onStop == .leave)
        ).run()
    }
}
