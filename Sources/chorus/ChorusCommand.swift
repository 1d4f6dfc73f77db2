import ArgumentParser

/// The `chorus` command line.
@main
struct ChorusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chorus",
        abstract: "Chorus: a distributed, actor-sharded chat message broker.",
        discussion: """
            Run a single node with `chorus serve`, a cluster with `chorus cluster up` (or one node of it
            with `chorus node`), and mint client tokens with `chorus token`.
            Tokens are HS256 JWTs signed with the secret in the CHORUS_JWT_SECRET environment variable.
            """,
        subcommands: [ServeCommand.self, NodeCommand.self, ClusterCommand.self, TokenCommand.self, WALCommand.self, BenchCommand.self])
}
