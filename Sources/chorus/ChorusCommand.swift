import ArgumentParser
import Foundation

/// The `chorus` command line.
@main
struct ChorusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chorus",
        abstract: "Chorus: a distributed, actor-sharded chat message broker.",
        discussion: """
            Run a single node with `chorus serve`, a cluster with `chorus cluster up` (or one node of it \
            with `chorus node`), and mint client tokens with `chorus token`. Tokens are HS256 JWTs signed \
            with the secret in the CHORUS_JWT_SECRET environment variable.

            Exit status: 0 success, 1 failure, 64 bad arguments, 66 a named file or directory does not exist, \
            69 an address to listen on is taken, 73 the data directory is in use by another process, \
            78 a configuration error, 130 stopped by a second Ctrl-C.
            """,
        subcommands: [ServeCommand.self, NodeCommand.self, ClusterCommand.self, TokenCommand.self, WALCommand.self, BenchCommand.self, DrillCommand.self])

    /// Parses and runs the command; a known failure is one line on standard error and its own
    /// exit status (ArgumentParser would print the top-level usage under an error thrown by `run`).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            if let failure = CLIFailure(classifying: error) {
                FileHandle.standardError.write(Data("chorus: error: \(failure.message)\n".utf8))
                Foundation.exit(failure.status.rawValue)
            }
            exit(withError: error)
        }
    }
}
