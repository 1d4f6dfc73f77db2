import ChorusGateway
import Foundation
import Testing

/// The deployment files in `deploy/` name things that exist: a configuration Chorus accepts,
/// flags the binary has, and the health routes.
@Suite("Deployment files")
struct DeploymentFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func read(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// The block scalar under `key: |` in `text`, unindented.
    static func block(_ key: String, in text: String) -> String? {
        let lines = text.components(separatedBy: "\n")
        guard let start = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "\(key): |" }) else { return nil }
        let body = lines[(start + 1)...].prefix { $0.isEmpty || $0.hasPrefix("    ") }
        return body.map { $0.count >= 4 ? String($0.dropFirst(4)) : "" }.joined(separator: "\n")
    }

    @Test("the Kubernetes example's cluster.yaml is a valid configuration with one node per StatefulSet replica")
    func kubernetesConfiguration() throws {
        let manifest = try Self.read("deploy/kubernetes/chorus.yaml")
        let clusterYAML = try #require(Self.block("cluster.yaml", in: manifest))
        let path = NSTemporaryDirectory() + "chorus-k8s-\(UUID().uuidString).yaml"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try clusterYAML.write(toFile: path, atomically: true, encoding: .utf8)
        let configuration = try ChorusConfiguration.load(path: path)
        #expect(configuration.cluster.nodes.map(\.name) == ["chorus-0", "chorus-1", "chorus-2"])
        #expect(configuration.cluster.replicationFactor == 3)
        #expect(manifest.contains("replicas: 3") && manifest.contains("path: /readyz") && manifest.contains("path: /healthz"))
    }

    @Test("the flags the container file, the systemd unit and the StatefulSet pass exist")
    func flags() async throws {
        let serve = try await ChorusProcess.run(["serve", "--help"]).1
        let node = try await ChorusProcess.run(["node", "--help"]).1
        for flag in ["--host", "--port", "--data-dir", "--log-format"] { #expect(serve.contains(flag), "serve \(flag)") }
        for flag in ["--config", "--name", "--on-stop", "--log-format"] { #expect(node.contains(flag), "node \(flag)") }
        let files = try ["deploy/Containerfile", "deploy/chorus.service", "deploy/kubernetes/chorus.yaml"].map(Self.read)
        #expect(files[0].contains(#"CMD ["serve", "--host", "0.0.0.0""#))
        #expect(files[1].contains("ExecStart=/usr/local/bin/chorus node --config /etc/chorus/cluster.yaml"))
        #expect(files[2].contains(#"args: ["node", "--config", "/etc/chorus/cluster.yaml", "--name", "$(POD_NAME)""#))
    }
}
