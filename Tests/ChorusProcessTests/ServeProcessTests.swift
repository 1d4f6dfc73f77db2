import ChorusTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// These tests run the real `chorus` binary as a child process on 127.0.0.1 with port 0.
@Suite("chorus binary", .serialized)
struct ServeProcessTests {
    static let secret = "process-test-secret"

    func dataDir() -> String {
        NSTemporaryDirectory() + "chorus-test-\(UUID().uuidString)"
    }

    func token(_ arguments: [String], secret: String = secret) async throws -> String {
        let (status, out, err) = try await ChorusProcess.run(["token"] + arguments, environment: ["CHORUS_JWT_SECRET": secret])
        guard status == 0 else { throw ProcessFailure(description: "chorus token failed: \(err)") }
        return out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("serve answers /healthz, serves tokens from `chorus token`, and exits 0 on SIGTERM")
    func serveAndStop() async throws {
        let directory = dataDir()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try ChorusProcess(
            ["serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", directory], environment: ["CHORUS_JWT_SECRET": Self.secret])
        let port = try await server.listeningPort()
        #expect(FileManager.default.fileExists(atPath: directory))
        let alice = try await token(["--user", "alice", "--name", "Alice", "--ttl", "1h"])
        let serverToken = try await token(["--server"])
        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            #expect(try await client.get("/healthz").status == .ok)
            let created = try await client.post(
                "/v1/channels", headers: [.authorization: "Bearer \(alice)"], body: ByteBuffer(string: #"{"type":"room","name":"Lobby"}"#))
            #expect(created.status == .created)
            let profile = try await client.get("/v1/users/alice", headers: [.authorization: "Bearer \(serverToken)"])
            #expect(profile.body.map { String(buffer: $0) }?.contains(#""display_name":"Alice""#) == true)
            let forged = try await client.get("/v1/channels", headers: [.authorization: "Bearer \(try await token(["--user", "alice"], secret: "other"))"])
            #expect(forged.status == .unauthorized)
        }
        // A probe's connection, kept alive, that has carried only health checks (answered in
        // front of the HTTP decoder): the graceful stop closes it and does not wait for it.
        let probe = try RawHTTPConnection(port: port)
        try probe.write("GET /healthz HTTP/1.1\r\nHost: chorus\r\n\r\n")
        #expect(try await probe.response().status == 200)
        #expect(try await server.stop(signal: SIGTERM, timeout: .seconds(10)) == 0)
        #expect(try await probe.closedByServer())
    }

    @Test("without CHORUS_JWT_SECRET, serve warns and prints a working secret")
    func generatedSecret() async throws {
        let directory = dataDir()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let server = try ChorusProcess(["serve", "--port", "0", "--data-dir", directory])
        let port = try await server.listeningPort()
        let warning = server.stderr
        #expect(warning.contains("warning: CHORUS_JWT_SECRET is not set"))
        let secret = try #require(
            warning.split(separator: "\n").first { $0.contains("export CHORUS_JWT_SECRET=") }?
                .split(separator: "=").last.map(String.init))
        let alice = try await token(["--user", "alice"], secret: secret)
        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            let reply = try await client.get("/v1/channels", headers: [.authorization: "Bearer \(alice)"])
            #expect(reply.status == .ok)
        }
        #expect(try await server.stop(signal: SIGINT) == 0)
    }

    @Test("--help explains every command")
    func help() async throws {
        let (status, out, _) = try await ChorusProcess.run(["--help"])
        #expect(status == 0)
        for command in ["serve", "token"] { #expect(out.contains(command)) }
        let (serveStatus, serveHelp, _) = try await ChorusProcess.run(["serve", "--help"])
        #expect(serveStatus == 0)
        for option in ["--host", "--port", "--data-dir", "--config"] { #expect(serveHelp.contains(option)) }
        let (_, tokenHelp, _) = try await ChorusProcess.run(["token", "--help"])
        for option in ["--user", "--name", "--server", "--ttl"] { #expect(tokenHelp.contains(option)) }
    }

    @Test("token refuses bad arguments and a missing secret with a clear message")
    func tokenErrors() async throws {
        let (noSecret, _, noSecretErr) = try await ChorusProcess.run(["token", "--user", "alice"])
        #expect(noSecret != 0)
        #expect(noSecretErr.contains("CHORUS_JWT_SECRET"))
        for arguments in [["token"], ["token", "--user", "a b"], ["token", "--user", "a", "--server"], ["token", "--user", "a", "--ttl", "soon"]] {
            let (status, _, err) = try await ChorusProcess.run(arguments, environment: ["CHORUS_JWT_SECRET": Self.secret])
            #expect(status != 0, "\(arguments)")
            #expect(err.contains("Error"), "\(arguments)")
        }
    }

    @Test("a bad config file stops serve with an error naming the file and key")
    func badConfig() async throws {
        let path = NSTemporaryDirectory() + "chorus-bad-\(UUID().uuidString).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "node:\n  port: \"eighty\"\n".write(toFile: path, atomically: true, encoding: .utf8)
        let (status, _, err) = try await ChorusProcess.run(["serve", "--config", path], environment: ["CHORUS_JWT_SECRET": Self.secret])
        #expect(status != 0)
        #expect(err.contains(path))
        #expect(err.contains("node.port"))
    }
}
