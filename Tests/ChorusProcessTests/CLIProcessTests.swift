import ChorusModel
import ChorusStorage
import ChorusTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// What a new user meets first: one process per data directory, clear one-line errors with
/// distinct exit statuses, signals that are never lost, and logs that scripts can read.
@Suite("chorus binary: first hour", .serialized)
struct CLIProcessTests {
    static let environment = ["CHORUS_JWT_SECRET": "process-test-secret"]

    func withDataDir(_ body: (String) async throws -> Void) async throws {
        let directory = NSTemporaryDirectory() + "chorus-cli-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await body(directory)
    }

    func serve(_ directory: String, _ extra: [String] = []) throws -> ChorusProcess {
        try ChorusProcess(["serve", "--port", "0", "--data-dir", directory] + extra, environment: Self.environment)
    }

    /// The non-empty lines of `text`.
    func lines(_ text: String) -> [Substring] { text.split(separator: "\n") }

    @Test("a second process on the same data directory stops at once, naming the first; the first serves on")
    func dataDirectoryLock() async throws {
        try await withDataDir { directory in
            let first = try serve(directory)
            let port = try await first.listeningPort()
            let (status, out, err) = try await ChorusProcess.run(
                ["serve", "--port", "0", "--data-dir", directory], environment: Self.environment)
            #expect(status == 73)
            #expect(!out.contains("chorus listening"))
            let refusal = try #require(lines(err).last)
            let expected = "chorus: error: the data directory \(directory) is in use by chorus node chorus-1 (pid \(first.processIdentifier),"
            #expect(refusal.hasPrefix(expected), "\(refusal)")
            try await TestClient.withClient(host: "127.0.0.1", port: port) { (client: TestClient) async throws in
                #expect(try await client.get("/healthz").status == .ok)
            }
            #expect(try await first.stop() == 0)
            // The lock dies with its process: the directory is free again.
            let again = try serve(directory)
            _ = try await again.listeningPort()
            #expect(try await again.stop(signal: SIGINT) == 0)
        }
    }

    @Test("a cluster config whose nodes share a data directory is refused at load")
    func sharedDataDirectory() async throws {
        try await withDataDir { directory in
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let config = directory + "/cluster.yaml"
            try """
                cluster:
                  nodes:
                    - {name: a, cluster_address: "127.0.0.1:1", client_address: "127.0.0.1:2", data_dir: \(directory)/data}
                    - {name: b, cluster_address: "127.0.0.1:3", client_address: "127.0.0.1:4", data_dir: \(directory)/data/}
                """.write(toFile: config, atomically: true, encoding: .utf8)
            let (status, _, err) = try await ChorusProcess.run(
                ["node", "--config", config, "--name", "b"], environment: Self.environment.merging(["CHORUS_CLUSTER_SECRET": "c"]) { $1 })
            #expect(status == 78)
            #expect(err.contains("\(config):4: cluster.nodes[1].data_dir repeats the data_dir of cluster.nodes[0].data_dir"), "\(err)")
            #expect(!FileManager.default.fileExists(atPath: directory + "/data"))
        }
    }

    @Test("a port in use is one line naming the address, and nothing else goes wrong")
    func portInUse() async throws {
        try await withDataDir { directory in
            let first = try serve(directory + "/a")
            let port = try await first.listeningPort()
            let (status, _, err) = try await ChorusProcess.run(
                ["serve", "--port", "\(port)", "--data-dir", directory + "/b"], environment: Self.environment)
            #expect(status == 69)
            #expect(lines(err).last == "chorus: error: cannot listen on 127.0.0.1:\(port) for clients: address already in use; another process (perhaps another chorus) uses it: stop it or choose another port")
            #expect(!err.contains("checkpoint failed"))
            #expect(lines(err).filter { $0.contains("error") }.count == 1, "\(err)")
            #expect(try await first.stop() == 0)
        }
    }

    @Test("configuration errors: a typo names file, line and key with a suggestion; a missing file is 66")
    func configurationErrors() async throws {
        try await withDataDir { directory in
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let config = directory + "/chorus.yaml"
            try "node:\n  prot: 8085\n".write(toFile: config, atomically: true, encoding: .utf8)
            let (status, out, err) = try await ChorusProcess.run(["serve", "--config", config], environment: Self.environment)
            #expect(status == 78)
            #expect(!out.contains("listening"))
            #expect(lines(err) == ["chorus: error: \(config):2: node.prot: unknown key; did you mean port? (known: name, host, port, data_dir)"])
            let (missing, _, missingErr) = try await ChorusProcess.run(["serve", "--config", directory + "/nope.yaml"], environment: Self.environment)
            #expect(missing == 66)
            #expect(missingErr.contains("nope.yaml: no such configuration file"))
        }
    }

    @Test("wal verify: a missing directory is 66 and never 'clean'; a data directory in use names its holder")
    func walVerify() async throws {
        try await withDataDir { directory in
            let (status, out, err) = try await ChorusProcess.run(["wal", "verify", "--data-dir", directory])
            #expect(status == 66)
            #expect(!out.contains("clean"))
            #expect(lines(err) == ["chorus: error: no data directory at \(directory); pass the node's --data-dir"])
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let (empty, _, emptyErr) = try await ChorusProcess.run(["wal", "verify", "--data-dir", directory])
            #expect(empty == 66)
            #expect(emptyErr.contains("holds no Chorus data"))

            // A record with a good checksum that this build cannot read: corrupt, with where it is.
            let future = directory + "/future"
            let log = try WriteAheadLog.open(.init(directory: future + "/wal", fsync: .none))
            _ = try log.append(WALFrame(kind: .channel, payload: [2, 1, 2, 3]))
            log.close()
            let (refused, refusedOut, _) = try await ChorusProcess.run(["wal", "verify", "--data-dir", future])
            #expect(refused == 1)
            #expect(refusedOut.contains("status: CORRUPT: WAL corrupt: record format version 2 is unknown"), "\(refusedOut)")
            #expect(refusedOut.contains("(record LSN 1) (file \(future)/wal/wal-00000000000000000001.log, offset 0)"), "\(refusedOut)")

            let node = try serve(directory)
            _ = try await node.listeningPort()
            let (live, liveOut, _) = try await ChorusProcess.run(["wal", "verify", "--data-dir", directory])
            #expect(live == 0)
            #expect(liveOut.contains("in use by: chorus node chorus-1 (pid \(node.processIdentifier)"))
            #expect(liveOut.contains("status: clean"))
            #expect(try await node.stop() == 0)
        }
    }

    @Test("a SIGINT at any moment of start-up stops the node", arguments: [0, 5, 15, 30, 60, 120])
    func earlySignal(delayMs: Int) async throws {
        try await withDataDir { directory in
            let node = try serve(directory)
            try await Task.sleep(for: .milliseconds(delayMs))
            kill(node.processIdentifier, SIGINT)
            // Either the default action ended it before the handler was installed, or it stopped
            // gracefully; never does it run on.
            _ = try await node.waitForExit(timeout: .seconds(15))
        }
    }

    /// Waits until process `pid` has its SIGINT handler (`SigCgt` in `/proc/PID/status`): a signal
    /// sent before would end it with the default action, however long the test waited (a loaded
    /// machine can take a while to start a debug binary).
    static func waitUntilCatchingSIGINT(_ pid: Int32) async throws {
        try await eventually("process \(pid) catches SIGINT", timeout: .seconds(30)) {
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigCgt:") }),
                let mask = UInt64(line.dropFirst("SigCgt:".count).trimmingCharacters(in: .whitespaces), radix: 16)
            else { return false }
            return mask & (1 << (UInt64(SIGINT) - 1)) != 0
        }
    }

    @Test("a SIGINT during a long recovery stops the node once recovered (exit 0); a second one exits at once (130)")
    func signalDuringRecovery() async throws {
        try await withDataDir { directory in
            // Enough WAL that recovery takes a while in a debug build.
            let log = try WriteAheadLog.open(.init(directory: directory + "/wal", fsync: .none))
            let owner = UserID("owner")!
            let info = ChannelInfo(id: ChannelID(rawValue: 1), kind: .room, name: "big", ownerID: owner, createdAt: .seconds(1_800_000_000))
            var last = try log.append(JournalEntry.channel(info.id, .created(info: info, members: [Member(userID: owner, role: .owner, joinedAt: info.createdAt)])))
            for i in 0..<150_000 {
                let message = NewMessage(
                    id: MessageID(rawValue: UInt64(i) + 10), senderID: owner, senderName: "Owner", draft: MessageDraft(body: "message \(i)"),
                    at: info.createdAt)
                last = try log.append(JournalEntry.channel(info.id, .messageSent(message)))
            }
            try await log.waitDurable(last)
            log.close()

            // First the impatient one: it writes no checkpoint, so the next start recovers as long.
            let impatient = try serve(directory, ["--log-level", "notice"])
            try await Self.waitUntilCatchingSIGINT(impatient.processIdentifier)
            // (On a machine fast enough to have recovered already, the signals still come at start-up.)
            let recovering = !impatient.stdout.contains("listening")
            kill(impatient.processIdentifier, SIGINT)
            try await Task.sleep(for: .milliseconds(100))
            kill(impatient.processIdentifier, SIGINT)
            #expect(try await impatient.waitForExit(timeout: .seconds(10)) == 130)
            if recovering { #expect(!impatient.stdout.contains("listening"), "it served after two SIGINTs") }

            let graceful = try serve(directory, ["--log-level", "notice"])
            try await Self.waitUntilCatchingSIGINT(graceful.processIdentifier)
            kill(graceful.processIdentifier, SIGINT)
            // Stopping checkpoints all 150,000 messages (with their search index) in a debug
            // build, alongside the rest of the suite on two cores: the bound is about stopping at
            // all, with room for a loaded machine.
            let stopping = ContinuousClock.now
            #expect(try await graceful.waitForExit(timeout: .seconds(180)) == 0)
            print("graceful stop after recovery took \(ContinuousClock.now - stopping)")
            #expect(graceful.stderr.contains("stopping"))
        }
    }

    @Test("errors of a subcommand show that subcommand's usage; a negative --ttl is explained")
    func subcommandUsage() async throws {
        let (status, _, err) = try await ChorusProcess.run(["token", "--user", "alice", "--ttl", "-5s"], environment: Self.environment)
        #expect(status == 64)
        #expect(err.contains("--ttl must be a number of seconds"), "\(err)")
        #expect(err.contains("Usage: chorus token"))
        let (missing, _, missingErr) = try await ChorusProcess.run(["node", "--config", "x.yaml", "--name", "a"])
        #expect(missing == 66)
        #expect(!missingErr.contains("Usage: chorus <subcommand>"))
        try await withDataDir { directory in
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let config = directory + "/cluster.yaml"
            try "cluster:\n  nodes:\n    - {name: a, cluster_address: \"127.0.0.1:1\", client_address: \"127.0.0.1:2\", data_dir: \(directory)/a}\n"
                .write(toFile: config, atomically: true, encoding: .utf8)
            let (noSecret, _, noSecretErr) = try await ChorusProcess.run(["node", "--config", config, "--name", "a"])
            #expect(noSecret == 64)
            #expect(noSecretErr.contains("CHORUS_CLUSTER_SECRET"))
            #expect(!noSecretErr.contains("Usage: chorus <subcommand>"))
        }
        let (help, helpOut, _) = try await ChorusProcess.run(["serve", "--help"])
        #expect(help == 0)
        #expect(!helpOut.contains("[default:"))
        #expect(helpOut.contains("--log-format <log-format>"))
        // Help paragraphs are wrapped once, by the parser: no hard breaks or stray backslashes.
        for command in [[], ["serve"], ["node"], ["token"], ["cluster", "up"], ["wal", "verify"], ["bench", "fanout"]] {
            let (_, text, _) = try await ChorusProcess.run(command + ["--help"])
            #expect(!text.contains("\\\n"), "chorus \(command) --help")
        }
    }

    @Test("--log-format json: every line on standard error is a JSON object; requests are logged at debug")
    func jsonLogs() async throws {
        try await withDataDir { directory in
            let node = try serve(directory, ["--log-format", "json", "--log-level", "debug"])
            let port = try await node.listeningPort()
            try await TestClient.withClient(host: "127.0.0.1", port: port) { (client: TestClient) async throws in
                #expect(try await client.get("/healthz", headers: [HTTPField.Name("X-Request-Id")!: "req-42"]).status == .ok)
            }
            #expect(try await node.stop() == 0)
            let objects = try lines(node.stderr).map { line in
                try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String], "\(line)")
            }
            #expect(objects.contains { $0["message"] == "recovered" })
            let request = try #require(objects.first { $0["http.path"] == "/healthz" })
            #expect(request["http.status"] == "200")
            #expect(request["request.id"] == "req-42")
            #expect(request["level"] == "debug")
        }
    }
}
