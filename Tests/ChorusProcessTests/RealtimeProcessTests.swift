import ChorusTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// WebSockets against the real `chorus` binary: shutdown close codes and memory under 1,000
/// clients that never read.
@Suite("chorus binary: WebSockets", .serialized)
struct RealtimeProcessTests {
    static let secret = "realtime-process-secret"

    func token(_ user: String) -> String {
        signedToken(payload: #"{"user_id":"\#(user)","exp":\#(Int(Date().timeIntervalSince1970) + 3600)}"#, secret: Self.secret)
    }

    /// Starts `chorus serve` with `yaml` as its config file; returns the process, its port and its data directory.
    func serve(yaml: String = "") async throws -> (ChorusProcess, Int, String) {
        let directory = NSTemporaryDirectory() + "chorus-rt-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = directory + "/chorus.yaml"
        try yaml.write(toFile: config, atomically: true, encoding: .utf8)
        let server = try ChorusProcess(
            ["serve", "--config", config, "--host", "127.0.0.1", "--port", "0", "--data-dir", directory + "/data", "--fsync", "none"],
            environment: ["CHORUS_JWT_SECRET": Self.secret])
        return (server, try await server.listeningPort(), directory)
    }

    func post(_ client: TestClient, _ path: String, as user: String, json: String) async throws -> String {
        let reply = try await client.post(path, headers: [.authorization: "Bearer \(token(user))"], body: ByteBuffer(string: json))
        let body = reply.body.map { String(buffer: $0) } ?? ""
        guard reply.status == .created || reply.status == .ok else { throw ProcessFailure(description: "\(path): \(reply.status) \(body)") }
        return body
    }

    func createRoom(_ client: TestClient, owner: String) async throws -> String {
        let body = try await post(client, "/v1/channels", as: owner, json: #"{"type":"room","name":"Lobby"}"#)
        let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return try #require(object?["id"] as? String)
    }

    @Test("SIGTERM closes every socket with 1001 after sending what was queued, then exits 0")
    func shutdownCloses() async throws {
        let (server, port, directory) = try await serve()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            let room = try await createRoom(client, owner: "alice")
            let socket = try RawWebSocket(port: port, path: "/v1/ws?token=\(token("alice"))")
            // Everything after hello reaches the client; a SIGTERM before it may close the socket first.
            #expect(try await socket.nextText()?.contains(#""type":"hello""#) == true)
            try socket.sendText(#"{"type":"resume","channels":{}}"#)
            _ = try await post(client, "/v1/channels/\(room)/messages", as: "alice", json: #"{"body":"bye"}"#)
            #expect(try await server.stop(signal: SIGTERM) == 0)
            var texts: [String] = []
            let code = try await socket.readUntilClose(texts: &texts)
            #expect(code == 1001)
            #expect(texts.contains { $0.contains(#""body":"bye""#) })
        }
    }

    /// `VmHWM` (peak RSS) and `VmRSS` of `pid`, in MiB.
    func memory(of pid: Int32) -> (peak: Double, now: Double) {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        func value(_ key: String) -> Double {
            let line = status.split(separator: "\n").first { $0.hasPrefix(key + ":") } ?? ""
            return (Double(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) / 1024
        }
        return (value("VmHWM"), value("VmRSS"))
    }

    func openSockets(of pid: Int32) -> Int {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        return entries.count { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)"))?.hasPrefix("socket:") == true }
    }

    @Test("1,000 connected clients that never read: all are closed as slow consumers and memory stays bounded (CHORUS_SLOW_CLIENTS=10000 for the long run)")
    func neverReadingClients() async throws {
        let clients = Int(ProcessInfo.processInfo.environment["CHORUS_SLOW_CLIENTS"] ?? "") ?? 1000
        let (server, port, directory) = try await serve(
            yaml: """
                limits:
                  user_requests_per_second: 1000000
                  user_request_burst: 1000000
                  max_members_per_channel: 100000
                realtime:
                  outbound_buffer_bytes: 65536
                  slow_consumer_grace_seconds: 1
                  close_timeout_seconds: 1
                  idle_timeout_seconds: 3600
                """)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pid = server.processIdentifier
        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            let room = try await createRoom(client, owner: "alice")
            var sockets: [RawWebSocket] = []
            // Everyone joins first: a join while the others are connected would send each of them
            // a member_add, and these clients never read (at 10,000 that closes them before the test).
            for i in 0..<clients {
                _ = try await post(client, "/v1/channels/\(room)/members", as: "u\(i)", json: #"{"user_id":"u\#(i)"}"#)
            }
            for i in 0..<clients {
                let socket = try RawWebSocket(port: port, path: "/v1/ws?token=\(token("u\(i)"))", receiveBuffer: 4096)
                try socket.sendText(#"{"type":"resume","channels":{}}"#)
                sockets.append(socket)
            }
            // The kernel completes connections before the server accepts them: wait for every one.
            // (These clients answer no pings: the idle timeout is an hour, so none is closed as idle
            // while a loaded machine takes a minute to connect them all.)
            try await eventually("the server holds every client's socket", timeout: .seconds(max(30, clients / 50))) { openSockets(of: pid) >= clients }
            let connected = openSockets(of: pid)
            let baseline = memory(of: pid)
            // 4 KB messages to the room until the server has closed (nearly) every socket as slow.
            let body = String(repeating: "x", count: 4000)
            var sent = 0
            while openSockets(of: pid) > connected - clients + 10 && sent < 2000 {
                _ = try await post(client, "/v1/channels/\(room)/messages", as: "alice", json: #"{"body":"\#(body)"}"#)
                sent += 1
                if sent % 50 == 0 { try await Task.sleep(for: .milliseconds(200)) }  // let grace periods run out
            }
            let after = memory(of: pid)
            let offered = Double(sent * clients * 4100) / 1_048_576
            // Each was closed as a slow consumer (1008, docs/realtime.md), not for another reason.
            let metrics = String(buffer: try await client.get("/metrics").body ?? ByteBuffer())
            let slowCloses = metrics.split(separator: "\n").first { $0.hasPrefix("chorus_websocket_slow_consumer_closes_total ") }
                .flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
            print(
                "slow clients: \(clients), messages sent: \(sent) (\(Int(offered)) MiB offered to sockets), "
                    + "RSS before: \(Int(baseline.now)) MiB, peak: \(Int(after.peak)) MiB, after: \(Int(after.now)) MiB, "
                    + "closed as slow consumers: \(Int(slowCloses)), sockets still open: \(openSockets(of: pid) - (connected - clients))")
            #expect(openSockets(of: pid) <= connected - clients + 10, "slow sockets were not closed")
            #expect(Int(slowCloses) >= clients - 10, "closed as slow consumers: \(slowCloses) of \(clients)")
            // Bounded: far below what was offered; each socket's queue is capped at 2 × 64 KiB.
            #expect(after.peak < baseline.now + 256 + Double(clients) * 2 * 64 / 1024)
            // The node still serves.
            let health = try await client.get("/healthz")
            #expect(health.status == .ok)
            withExtendedLifetime(sockets) {}
        }
        #expect(try await server.stop(signal: SIGTERM) == 0)
    }

    @Test("two users in two terminals: scripts/chorus-chat.py shows each other's messages, edits, reactions and typing")
    func chatScript() async throws {
        let (server, port, directory) = try await serve()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let url = "http://127.0.0.1:\(port)"
        let alice = try ScriptProcess(["--url", url, "--user", "alice", "--create-room", "Lobby"], secret: Self.secret)
        try await alice.waitFor("* connected as alice")
        let room = try #require(alice.output.split(separator: " ").last { $0.allSatisfy(\.isNumber) && $0.count > 10 }.map(String.init))
        let bob = try ScriptProcess(["--url", url, "--user", "bob", "--join", room], secret: Self.secret)
        try await bob.waitFor("* connected as bob")
        try await alice.waitFor("bob joined as member")

        alice.type("hi bob")
        try await bob.waitFor("alice: hi bob")
        let id = try #require(bob.output.split(separator: "\n").first { $0.contains("alice: hi bob") }?
            .split(separator: " ").last?.trimmingCharacters(in: CharacterSet(charactersIn: ")")))
        bob.type("/react \(id) wave")
        try await alice.waitFor("bob reacted :wave: on \(id)")
        bob.type("/typing")
        try await alice.waitFor("bob is typing...")
        bob.type("hello alice")
        try await alice.waitFor("bob stopped typing")
        try await alice.waitFor("bob: hello alice")
        alice.type("/edit \(id) hi bob!")
        try await bob.waitFor("alice edited \(id): hi bob!")
        alice.type("/quit")
        bob.type("/quit")
        #expect(try await alice.exitStatus() == 0)
        #expect(try await bob.exitStatus() == 0)
        #expect(try await server.stop(signal: SIGTERM) == 0)
    }
}

extension RealtimeProcessTests {
    @Test("chorus-chat.py: clear errors and exit statuses, typing sent while the user types (scripts/tests/check-chorus-chat.py)")
    func chatScriptChecks() async throws {
        let (server, port, directory) = try await serve()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let check = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/tests/check-chorus-chat.py")
        let (status, text) = try await runTool(
            ["python3", "-u", check.path, "--url", "http://127.0.0.1:\(port)", "--secret", Self.secret], timeout: .seconds(120))
        #expect(status == 0, "\(text)")
        #expect(text.contains("checks passed"), "\(text)")
        #expect(try await server.stop(signal: SIGTERM) == 0)
    }
}

/// `python3 scripts/chorus-chat.py …` with its stdin as a keyboard and its stdout collected.
final class ScriptProcess: Sendable {
    private let process: Process
    private let input: FileHandle
    private let collected: CapturedOutput

    init(_ arguments: [String], secret: String) throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/chorus-chat.py")
        let process = Process()
        collected = try CapturedOutput()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-u", script.path] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["CHORUS_JWT_SECRET"] = secret
        process.environment = environment
        let stdin = Pipe()
        process.standardInput = stdin
        process.standardOutput = collected.handle
        process.standardError = collected.handle
        try process.run()
        self.process = process
        self.input = stdin.fileHandleForWriting
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    var output: String { collected.text }

    /// Types a line, as at a keyboard.
    func type(_ line: String) {
        input.write(Data((line + "\n").utf8))
    }

    /// Waits until the output contains `text`.
    func waitFor(_ text: String, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !output.contains(text) {
            guard process.isRunning || output.contains(text) else { throw ProcessFailure(description: "script exited before printing \(text):\n\(output)") }
            guard ContinuousClock.now < deadline else { throw ProcessFailure(description: "no \"\(text)\" within \(timeout):\n\(output)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func exitStatus(timeout: Duration = .seconds(10)) async throws -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                process.terminate()
                throw ProcessFailure(description: "the script did not exit:\n\(output)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }
}
