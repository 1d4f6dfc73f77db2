import ChorusBench
import Foundation
import Testing

/// `chorus bench fanout` end to end: it starts its own servers, drives real WebSocket subscribers and
/// reports what the delivery check found. Short runs only; the real numbers live in docs/benchmarks.md.
@Suite(.serialized) struct BenchProcessTests {
    func scratch() throws -> String {
        let path = NSTemporaryDirectory() + "chorus-bench-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs `chorus bench fanout …` to completion (bounded) and returns (status, stdout, stderr).
    func bench(_ arguments: [String], environment: [String: String] = [:]) async throws -> (Int32, String, String) {
        let child = try ChorusProcess(["bench", "fanout"] + arguments, environment: environment)
        let status = try await child.waitForExit(timeout: .seconds(120))
        try await Task.sleep(for: .milliseconds(100))  // let the pipes drain
        return (status, child.stdout, child.stderr)
    }

    func report(_ path: String) throws -> BenchReport {
        try JSONDecoder().decode(BenchReport.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Every message sent in the window reaches every subscriber of its channel exactly once: the latency
    /// samples are exactly the acknowledged messages of the window times the subscribers per channel.
    func expectCompleteDelivery(_ run: FanoutResult, subscribers: Int) {
        #expect(run.delivery == DeliveryCheck(subscribers: subscribers))
        let subscribersPerChannel = UInt64(run.workload.subscribersPerChannel)
        #expect(run.sendErrors.isEmpty)
        #expect(run.sent == run.acknowledged)
        #expect(run.sendAck.count > 0)
        #expect(run.endToEnd.count == run.sendAck.count * subscribersPerChannel)
        #expect(run.disconnects == 0)
        #expect(run.endToEnd.p50 > 0 && run.endToEnd.p50 <= run.endToEnd.p99 && run.endToEnd.p99 <= run.endToEnd.max)
    }

    @Test func spawnedSingleNode() async throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (status, out, err) = try await bench([
            "--spawn", "--subscribers", "40", "--rate", "40", "--duration", "2", "--warmup", "0.5",
            "--json", directory + "/run.json", "--plot", directory + "/run.png",
        ])
        #expect(status == 0, "stdout: \(out)\nstderr: \(err)")
        #expect(out.contains("exactly once, in order (40 subscribers)"))
        #expect(err.contains("measuring"), "a progress line")
        let report = try report(directory + "/run.json")
        let run = try #require(report.runs.first)
        expectCompleteDelivery(run, subscribers: 40)
        #expect((run.serverCPUSeconds ?? 0) > 0, "the spawned node's CPU time is read from /proc")
        let idle = try #require(run.serverIdle, "the node's idle cost is measured before the warm-up")
        #expect(idle.contextSwitchesPerSecond > 0)
        #expect(out.contains("server idle"))
        let threads = try #require(run.serverThreads, "the node's threads are read from /proc")
        #expect(threads.eventLoopSeconds != nil, "NIO's event loops are found by name")
        #expect(threads.walWriterSeconds != nil, "the WAL writer is found by name (chorus-wal)")
        #expect(out.contains("server threads"))
        #expect(run.loadGeneratorCPUSeconds > 0)
        let png = try Data(contentsOf: URL(fileURLWithPath: directory + "/run.png"))
        #expect(Array(png.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
    }

    @Test func spawnedClusterSpreadsClientsOverEveryNode() async throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ports = try LocalPorts.free(6)
        // Failure detection slow enough that a node starved by the rest of the suite is not taken
        // off the ring mid-run (at 500 ms it was, once: a 503 while the rings differed).
        var yaml = "cluster:\n  name: bench-test\n  heartbeat_interval_ms: 200\n  suspect_after_ms: 1000\n  down_after_ms: 2000\n  nodes:\n"
        for index in 0..<3 {
            yaml += "    - name: n\(index)\n      cluster_address: 127.0.0.1:\(ports[index])\n      client_address: 127.0.0.1:\(ports[3 + index])\n      data_dir: \(directory)/unused-\(index)\n"
        }
        try yaml.write(toFile: directory + "/cluster.yaml", atomically: true, encoding: .utf8)
        let (status, out, err) = try await bench([
            "--cluster", directory + "/cluster.yaml", "--channels", "3", "--subscribers", "12", "--rate", "30",
            "--duration", "2", "--warmup", "0.5", "--json", directory + "/run.json",
        ])
        #expect(status == 0, "stdout: \(out)\nstderr: \(err)")
        let run = try #require(try report(directory + "/run.json").runs.first)
        #expect(Set(run.endpoints) == Set(ports[3...].map { "127.0.0.1:\($0)" }))
        expectCompleteDelivery(run, subscribers: 36)
        #expect((run.serverCPUSeconds ?? 0) > 0)
        // The benchmark's data directories are scratch ones, removed afterwards; the file's are never touched.
        #expect(!FileManager.default.fileExists(atPath: directory + "/unused-0"))
    }

    @Test func sweepStopsAtTheKnee() async throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A p99 limit no real run can meet: the first rate is already past the knee.
        let (status, out, err) = try await bench([
            "--spawn", "--subscribers", "5", "--rates", "20,40", "--duration", "1", "--warmup", "0",
            "--p99-limit", "0.001", "--json", directory + "/sweep.json",
        ])
        #expect(status == 0, "stdout: \(out)\nstderr: \(err)")
        let report = try report(directory + "/sweep.json")
        #expect(report.runs.count == 1)
        #expect(report.kneeRate == nil)
        #expect(report.kneeReason?.contains("p99") == true)
        #expect(out.contains("knee: below the first rate"))
    }

    @Test func badInputGetsAClearErrorAndNoHang() async throws {
        let cases: [([String], String)] = [
            ([], "exactly one of --spawn, --cluster FILE or --url"),
            (["--spawn", "--url", "http://127.0.0.1:1"], "exactly one of"),
            (["--spawn", "--rates", "200,100"], "--rates must increase"),
            (["--spawn", "--payload", "8"], "--payload must be from"),
            (["--spawn", "--protocol", "amqp"], "--protocol must be chorus or mqtt"),
            (["--url", "https://x:1"], "TLS is not supported"),
        ]
        for (arguments, message) in cases {
            let (status, _, err) = try await bench(arguments, environment: ["CHORUS_JWT_SECRET": "s"])
            #expect(status == 64, "\(arguments)")
            #expect(err.contains(message), "\(arguments): \(err)")
        }
        // Nothing listens on the port: a connection error, not a hang or a crash (HTTP and WebSocket).
        let port = try LocalPorts.free(1)[0]
        for arguments in [["--url", "http://127.0.0.1:\(port)"], ["--protocol", "mqtt", "--url", "ws://127.0.0.1:\(port)/"]] {
            let (status, _, err) = try await bench(arguments, environment: ["CHORUS_JWT_SECRET": "s"])
            #expect(status == 1, "\(arguments): \(err)")
            #expect(err.contains("Error:"), "\(arguments): \(err)")
        }
    }

    @Test func ctrlCStopsTheSpawnedNode() async throws {
        let bench = try ChorusProcess(["bench", "fanout", "--spawn", "--subscribers", "5", "--rate", "10", "--duration", "60"])
        try await bench.waitFor("the run to start") { _, err in err.contains("measuring") || err.contains("warm-up") }
        // Children are listed per thread (the one that started them).
        let tasks = "/proc/\(bench.processIdentifier)/task"
        let children = try FileManager.default.contentsOfDirectory(atPath: tasks).flatMap { thread in
            ((try? String(contentsOfFile: "\(tasks)/\(thread)/children", encoding: .utf8)) ?? "").split(separator: " ").compactMap { Int32($0) }
        }
        #expect(children.count == 1, "the spawned node")
        #expect(try await bench.stop(signal: SIGINT) == 130)
        for child in children {
            #expect(kill(child, 0) != 0, "the spawned node \(child) still runs")
        }
    }

    @Test func aServerThatRefusesTheUpgradeIsAnErrorNotAHang() async throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A Chorus node upgrades only /v1/ws: as an "MQTT broker" at / it refuses every socket.
        let server = try ChorusProcess(["serve", "--port", "0", "--data-dir", directory], environment: ["CHORUS_JWT_SECRET": "s"])
        let port = try await server.listeningPort()
        let (status, _, err) = try await bench(["--protocol", "mqtt", "--url", "ws://127.0.0.1:\(port)/", "--subscribers", "3"])
        #expect(status == 1, "\(err)")
        #expect(err.contains("WebSocket upgrade of / refused"), "\(err)")
        #expect(try await server.stop() == 0)
    }
}
