import ArgumentParser

/// The `chorus` command line.
@main
struct ChorusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chorus",
        abstract: "Chorus: a distributed, actor-sharded chat message broker.",
        discussion: """
            Run a node with `chorus serve`, mint client tokens with `chorus token`.
            Tokens are HS256 JWTs signed with the secret in the CHORUS_JWT_SECRET environment variable.
            """,
        subcommands: [ServeCommand.self, TokenCommand.self, WALCommand.self])
}
