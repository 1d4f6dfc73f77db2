#if canImport(Glibc)
import Glibc
#endif
import ChorusBench
import ChorusTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// The operator-facing surfaces against real processes: the OpenAPI documents (valid, and true
/// under schemathesis), the dashboard in headless Chromium, and a short run of every fuzz target.
/// Their tools are installed by scripts/install-test-tools.sh (idempotent).
@Suite("chorus binary: OpenAPI, dashboard, fuzzing", .serialized)
struct OperationsProcessTests {
    static let secret = "operations-process-secret"
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs scripts/install-test-tools.sh `tool`; returns the path it prints.
    func install(_ tool: String) async throws -> String {
        let (status, output) = try await runTool(["bash", Self.root.path + "/scripts/install-test-tools.sh", tool], timeout: .seconds(600))
        try #require(status == 0, "installing \(tool) failed:\n\(output)")
        return try #require(output.split(separator: "\n").last.map(String.init))
    }

    func token(user: String?) -> String {
        let now = Int(Date().timeIntervalSince1970)
        let claims = user.map { #"{"user_id":"\#($0)","iat":\#(now),"exp":\#(now + 3600)}"# } ?? #"{"iat":\#(now),"exp":\#(now + 3600)}"#
        return signedToken(payload: claims, secret: Self.secret)
    }

    @Test("OpenAPI: both documents are valid 3.1, served by the node, and schemathesis finds no 5xx and no response outside them")
    func openAPI() async throws {
        let bin = try await install("python")
        let (valid, validation) = try await runTool([bin + "/python", Self.root.path + "/scripts/check-openapi.py"], timeout: .seconds(120))
        #expect(valid == 0 && validation.contains("OpenAPIV1.swift: valid") && validation.contains("OpenAPIStream.swift: valid"), "\(validation)")

        let directory = NSTemporaryDirectory() + "chorus-openapi-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // Schemathesis sends hundreds of requests a second as one user: lift the rate limit.
        try "limits:\n  user_requests_per_second: 100000\n  user_request_burst: 100000\n".write(
            toFile: directory + "/chorus.yaml", atomically: true, encoding: .utf8)
        // Its parameters that a generator cannot guess: the node's api_key and Stream's auth type.
        try "[parameters]\n\"query.api_key\" = \"chorus\"\n\"header.stream-auth-type\" = \"jwt\"\n".write(
            toFile: directory + "/schemathesis.toml", atomically: true, encoding: .utf8)
        let server = try ChorusProcess(
            ["serve", "--config", directory + "/chorus.yaml", "--host", "127.0.0.1", "--port", "0", "--data-dir", directory + "/data", "--fsync", "none"],
            environment: ["CHORUS_JWT_SECRET": Self.secret])
        let port = try await server.listeningPort()
        let checks = "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance"
        // Each document as a user and as the server (admin routes, and Stream's server-side calls).
        for (document, prefix) in [("v1", "Bearer "), ("stream", "")] {
            for user in ["alice", nil] {
                let (status, output) = try await runTool(
                    [
                        bin + "/schemathesis", "run", "http://127.0.0.1:\(port)/openapi/\(document).yaml", "--checks", checks,
                        "--header", "Authorization: \(prefix)\(token(user: user))", "--max-examples", "15", "--request-timeout", "10",
                        "--generation-deterministic", "--exclude-operation-id", "streamClusterStatus", "--no-color",
                    ], environment: ["PATH": "/usr/bin:/bin", "HOME": directory], directory: URL(fileURLWithPath: directory), timeout: .seconds(600))
                let summary = output.split(separator: "\n").filter { $0.contains("generated") || $0.contains("passed") }.joined(separator: "; ")
                #expect(status == 0, "\(document) as \(user ?? "server"): \(output.suffix(6000))")
                #expect(output.contains("Test cases:"), "\(document) as \(user ?? "server"): \(summary)")
            }
        }
        #expect(try await server.stop(signal: SIGTERM) == 0)
    }

    /// `method path` on the node at `port` with `token` (v1: Bearer); the status and the body.
    func call(_ port: Int, _ method: HTTPRequest.Method, _ path: String, token: String, json: String? = nil) async throws -> (HTTPResponse.Status, String) {
        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            let response = try await client.execute(
                .init(path, method: method, headers: [.authorization: "Bearer \(token)", .contentType: "application/json"], body: json.map { ByteBuffer(string: $0) }))
            return (response.status, response.body.map { String(buffer: $0) } ?? "")
        }
    }

    @Test("dashboard: headless Chromium shows a 3-node cluster live, with the admin API's statuses, ring epoch and shares; screenshot saved")
    func dashboard() async throws {
        let chromium = try await install("chromium")
        let names = ["chorus-1", "chorus-2", "chorus-3"]
        let directory = NSTemporaryDirectory() + "chorus-dashboard-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (config, clientPorts) = try writeClusterConfig(
            names: names, in: directory, clusterName: "dashboard-test", clusterSettings: ["replication_factor: 2"])
        let nodes = try names.map { name in
            try ChorusProcess(
                ["node", "--config", config, "--name", name],
                environment: ["CHORUS_JWT_SECRET": Self.secret, "CHORUS_CLUSTER_SECRET": "dashboard-cluster"])
        }
        for node in nodes { _ = try await node.listeningPort() }
        let entry = clientPorts[0]

        // Some traffic: rooms on every node, with messages.
        for index in 0..<6 {
            let (status, body) = try await call(entry, .post, "/v1/channels", token: token(user: "alice"), json: #"{"type": "room", "name": "Room \#(index)"}"#)
            try #require(status == .created, "\(body)")
            let id = try #require((try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])?["id"] as? String)
            for text in ["one", "two"] {
                #expect(try await call(entry, .post, "/v1/channels/\(id)/messages", token: token(user: "alice"), json: #"{"body": "\#(text)"}"#).0 == .created)
            }
        }
        let (status, view) = try await call(entry, .get, "/v1/admin/cluster", token: token(user: nil))
        try #require(status == .ok, "\(view)")
        try view.write(toFile: directory + "/expected.json", atomically: true, encoding: .utf8)
        let screenshot = ProcessInfo.processInfo.environment["CHORUS_DASHBOARD_SCREENSHOT"] ?? directory + "/dashboard.png"
        let (checked, output) = try await runTool(
            [
                "python3", "-u", Self.root.path + "/scripts/tests/check-dashboard.py", "--url", "http://127.0.0.1:\(entry)", "--token", token(user: nil),
                "--expect-json", directory + "/expected.json", "--screenshot", screenshot, "--loose-actors",
            ], environment: ["PATH": "/usr/bin:/bin", "HOME": directory, "CHROMIUM": chromium], timeout: .seconds(120))
        #expect(checked == 0 && output.contains("check-dashboard: ok"), "\(output)")
        #expect(FileManager.default.fileExists(atPath: screenshot))
        for node in nodes { #expect(try await node.stop(signal: SIGTERM) == 0) }
    }

    @Test("fuzzing: every libFuzzer target runs from its kept corpus with no crash, leak, 5xx or hang (scripts/fuzz.sh, a short run)")
    func fuzzShortRun() async throws {
        let (status, output) = try await runTool(
            ["bash", Self.root.path + "/scripts/fuzz.sh", "all", "3000"], timeout: .seconds(1500))
        #expect(status == 0, "\(output.suffix(8000))")
        for target in ["wal", "wire", "binary", "ws", "http"] {
            #expect(output.contains("== \(target): exit 0"), "\(target): \(output.suffix(4000))")
        }
    }
}
