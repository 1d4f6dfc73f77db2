import ArgumentParser
import ChorusAuth
import ChorusGateway
import ChorusModel
import Foundation

/// `chorus token`: prints a client token signed with `CHORUS_JWT_SECRET`.
struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Print an HS256 token signed with CHORUS_JWT_SECRET.",
        discussion: """
            A user token carries the user_id claim (and name, if given); a server token has no user_id \
            and may call the admin endpoints. Tokens expire after --ttl (0 for never).

            Examples:
              chorus token --user alice --name Alice --ttl 1h
              chorus token --server
            """)

    @Option(help: "The user id (1-64 characters from [A-Za-z0-9_.@-]).")
    var user: String?

    @Option(help: "Display name used when the user is created on first use.")
    var name: String?

    @Flag(help: "Mint a server token (admin endpoints) instead of a user token.")
    var server = false

    // Unconditional, so `--ttl -5s` reaches validate() (which explains the rule) instead of
    // being taken for an unknown flag.
    @Option(parsing: .unconditional, help: "Lifetime: a number with s, m, h or d (e.g. 90s, 30m, 1h, 7d); 0 for no expiry.")
    var ttl: String = "24h"

    func validate() throws {
        if server == (user != nil) { throw ValidationError("give exactly one of --user ID or --server") }
        if let user, UserID(user) == nil { throw ValidationError("--user must be 1-64 characters from [A-Za-z0-9_.@-]") }
        if server && name != nil { throw ValidationError("--name only applies to user tokens") }
        if Self.seconds(ttl) == nil { throw ValidationError("--ttl must be a number of seconds, or a number with s, m, h or d (90s, 30m, 1h, 7d), not negative; 0 for no expiry (got \(ttl))") }
    }

    func run() throws {
        guard let secret = ProcessInfo.processInfo.environment["CHORUS_JWT_SECRET"], !secret.isEmpty else {
            throw CLIFailure(.usage, "CHORUS_JWT_SECRET is not set; export the secret the node uses")
        }
        let now = Date().timeIntervalSince1970.rounded(.down)
        let lifetime = Self.seconds(ttl)!
        let claims = JWT.Claims(userID: user, name: name, exp: lifetime > 0 ? now + Double(lifetime) : nil, iat: now)
        print(JWT.sign(claims, secret: Array(secret.utf8)))
    }

    /// Parses `90s`, `30m`, `1h`, `7d` or a plain number of seconds.
    static func seconds(_ text: String) -> Int? {
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        if let value = Int(text), value >= 0 { return value }
        guard let unit = text.last.flatMap({ units[$0] }), let value = Int(text.dropLast()), value >= 0 else { return nil }
        return value * unit
    }
}
