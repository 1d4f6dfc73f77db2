import ChorusGateway
import Foundation
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    /// The repository's `cluster.example.yaml`.
    static let exampleURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("cluster.example.yaml")

    @Test("cluster.example.yaml is a 3-node cluster and documents exactly the defaults of every other key")
    func example() throws {
        let example = try ChorusConfiguration.load(path: Self.exampleURL.path)
        #expect(example.cluster.nodes.map(\.name) == ["chorus-1", "chorus-2", "chorus-3"])
        var defaults = ChorusConfiguration()
        defaults.cluster.nodes = example.cluster.nodes
        #expect(example == defaults)
    }

    @Test("errors name the line of the key in the file")
    func lines() {
        let yaml = """
            node:
              name: a
            cluster:
              nodes:
                - name: one
                  cluster_address: 127.0.0.1:7401
                  client_address: 127.0.0.1:8081
                  data_dir: d1
                - name: two
                  cluster_address: nowhere
                  client_address: 127.0.0.1:8082
                  data_dir: d2
              heartbeat_interval_ms: soon
            """
        #expect(throws: ChorusConfiguration.Error.self) { try ChorusConfiguration.decode(yaml: yaml, source: "c.yaml") }
        do {
            _ = try ChorusConfiguration.decode(yaml: yaml, source: "c.yaml")
        } catch {
            #expect("\(error)".hasPrefix("c.yaml:13: cluster.heartbeat_interval_ms"), "\(error)")
        }
        do {
            _ = try ChorusConfiguration.decode(yaml: yaml.replacingOccurrences(of: "soon", with: "500"), source: "c.yaml")
        } catch {
            #expect("\(error)" == "c.yaml:10: cluster.nodes[1].cluster_address must be host:port", "\(error)")
        }
    }

    @Test("missing keys take defaults; present keys override")
    func partial() throws {
        let configuration = try ChorusConfiguration.decode(yaml: "node:\n  port: 9000\nchat:\n  typing_ttl_seconds: 2.5\n", source: "t.yaml")
        #expect(configuration.node.port == 9000)
        #expect(configuration.node.host == "127.0.0.1")
        #expect(configuration.chat.typingTTLSeconds == 2.5)
        #expect(configuration.limits == ChorusConfiguration.Limits())
        #expect(try ChorusConfiguration.decode(yaml: "", source: "empty.yaml") == ChorusConfiguration())
    }

    @Test("errors name the file and the key", arguments: [
        ("node:\n  port: eighty\n", "node.port"),
        ("node:\n  port: 70000\n", "node.port"),
        ("limits:\n  max_body_bytes: 10\n", "limits.max_body_bytes"),
        ("chat:\n  typing_ttl_seconds: 0\n", "chat.typing_ttl_seconds"),
        ("cdn:\n  base_url: not a url\n", "cdn.base_url"),
        ("node: [1, 2]\n", "node"),
        ("realtime:\n  heartbeat_interval_seconds: 45\n", "realtime.heartbeat_interval_seconds"),
        ("realtime:\n  outbound_buffer_bytes: 10\n", "realtime.outbound_buffer_bytes"),
        ("realtime:\n  max_sockets_per_user: many\n", "realtime.max_sockets_per_user"),
        ("cluster:\n  nodes:\n    - name: a\n      cluster_address: x:1\n      client_address: x:2\n", "cluster.nodes[0].data_dir"),
        ("cluster:\n  suspect_after_ms: 100\n", "cluster.suspect_after_ms"),
    ])
    func errors(yaml: String, key: String) {
        do {
            _ = try ChorusConfiguration.decode(yaml: yaml, source: "bad.yaml")
            Issue.record("\(yaml) should not decode")
        } catch {
            let message = "\(error)"
            // "bad.yaml:<line>: <key> …": the file, the line of the key, the key.
            #expect(message.range(of: #"^bad\.yaml:\d+: "#, options: .regularExpression) != nil, "\(message)")
            #expect(message.contains(key), "\(message)")
        }
    }

    @Test("a missing file is reported with its path")
    func missingFile() {
        #expect(throws: ChorusConfiguration.Error.self) { try ChorusConfiguration.load(path: "/nonexistent/chorus.yaml") }
    }
}
