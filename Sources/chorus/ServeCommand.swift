import ArgumentParser
import ChorusActorSystem
import ChorusChat
import ChorusGateway
import ChorusModel
import Crypto
import Foundation
import Logging
import ServiceLifecycle

/// `chorus serve`: one node on embedded defaults (or a YAML config), until SIGTERM/SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a single Chorus node.",
        discussion: """
            Serves the v1 client API over HTTP. GET /healthz answers 200 once the node is ready. \
            Client tokens are verified with CHORUS_JWT_SECRET; if it is unset, a random secret is generated \
            for this process and printed with instructions. Attachment URLs are signed with CHORUS_CDN_SECRET \
            (default: derived from the JWT secret).

            Flags override the config file; the config file overrides the defaults. One process at a time \
            may use a data directory: a second one stops at once, naming the first.
            """)

    @Option(help: "YAML configuration file (see cluster.example.yaml).")
    var config: String?

    @Option(help: "Address to listen on for clients. (default: 127.0.0.1)")
    var host: String?

    @Option(help: "Port to listen on for clients; 0 picks a free port. (default: 8080)")
    var port: Int?

    @Option(name: .customLong("data-dir"), help: "Directory for the node's write-ahead log and checkpoints. (default: ./chorus-data)")
    var dataDir: String?

    @Option(help: "When writes reach the disk: always, interval:<ms> or none. (default: always)")
    var fsync: String?

    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        var configuration = try config.map(ChorusConfiguration.load(path:)) ?? ChorusConfiguration()
        if let host { configuration.node.host = host }
        if let port { configuration.node.port = port }
        if let dataDir { configuration.node.dataDir = dataDir }
        if let fsync { configuration.storage.fsync = fsync }
        try configuration.validate(source: "command line")

        try await NodeRunner(configuration: configuration, logging: logging, member: nil).run()
    }

    /// `CHORUS_JWT_SECRET`, or a random secret for this process with a warning on how to mint tokens
    /// (the hint names this binary as it was started, so it can be pasted as it is).
    static func jwtSecret() -> [UInt8] {
        if let secret = ProcessInfo.processInfo.environment["CHORUS_JWT_SECRET"], !secret.isEmpty {
            return Array(secret.utf8)
        }
        let generated = randomHex(bytes: 32)
        let invocation = CommandLine.arguments.first ?? "chorus"
        let warning = """
            warning: CHORUS_JWT_SECRET is not set; this node uses a random secret until it stops.
              To mint tokens for it, run in another shell:
                export CHORUS_JWT_SECRET=\(generated)
                \(invocation) token --user alice
              Set CHORUS_JWT_SECRET before `\(invocation) serve` to keep tokens valid across restarts.

            """
        FileHandle.standardError.write(Data(warning.utf8))
        return Array(generated.utf8)
    }
}
