@testable import ChorusGateway
@testable import ChorusModel
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
            _ = try ChorusConfiguration.decode(yaml: yaml.replacingOccurrences(of: "soon", with: "50"), source: "c.yaml")
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
        #expect(configuration.realtime.writeIntervalMilliseconds == 5)
        #expect(try ChorusConfiguration.decode(yaml: "realtime:\n  write_interval_ms: 0\n", source: "t.yaml").realtime.writeIntervalMilliseconds == 0)
        #expect(configuration.limits == ChorusConfiguration.Limits())
        #expect(try ChorusConfiguration.decode(yaml: "", source: "empty.yaml") == ChorusConfiguration())
    }

    @Test("errors name the file and the key", arguments: [
        ("node:\n  port: eighty\n", "node.port"),
        ("node:\n  port: 70000\n", "node.port"),
        ("limits:\n  max_body_bytes: 10\n", "limits.max_body_bytes"),
        ("limits:\n  http_idle_timeout_seconds: 0\n", "limits.http_idle_timeout_seconds"),
        ("chat:\n  typing_ttl_seconds: 0\n", "chat.typing_ttl_seconds"),
        ("cdn:\n  base_url: not a url\n", "cdn.base_url"),
        ("node: [1, 2]\n", "node"),
        ("realtime:\n  heartbeat_interval_seconds: 45\n", "realtime.heartbeat_interval_seconds"),
        ("realtime:\n  outbound_buffer_bytes: 10\n", "realtime.outbound_buffer_bytes"),
        ("realtime:\n  max_sockets_per_user: many\n", "realtime.max_sockets_per_user"),
        ("realtime:\n  write_interval_ms: -1\n", "realtime.write_interval_ms"),
        ("realtime:\n  write_interval_ms: 1001\n", "realtime.write_interval_ms"),
        ("cluster:\n  nodes:\n    - name: a\n      cluster_address: x:1\n      client_address: x:2\n", "cluster.nodes[0].data_dir"),
        ("cluster:\n  suspect_after_ms: 40\n", "cluster.suspect_after_ms"),
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

@Suite("Configuration keys")
struct ConfigurationKeyTests {
    func error(_ yaml: String) -> String? {
        do {
            _ = try ChorusConfiguration.decode(yaml: yaml, source: "c.yaml")
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("an unknown key is an error naming the file, line and key, with the closest known key")
    func unknownKey() {
        let message = error("node:\n  name: a\n  prot: 8085\n")
        #expect(message?.hasPrefix("c.yaml:3: node.prot: unknown key; did you mean port?") == true, "\(message ?? "decoded")")
        #expect(error("storag:\n  fsync: always\n")?.hasPrefix("c.yaml:1: storag: unknown key; did you mean storage?") == true)
        #expect(error("limits:\n  max_body_bytes: 2048\n  wibble: 1\n")?.contains("limits.wibble: unknown key (known: ") == true)
        let nested = error(
            "cluster:\n  nodes:\n    - name: a\n      cluster_address: x:1\n      client_address: x:2\n      data_dir: d\n      datadir: e\n")
        #expect(nested?.hasPrefix("c.yaml:7: cluster.nodes[0].datadir: unknown key; did you mean data_dir?") == true, "\(nested ?? "decoded")")
        #expect(error("realtime:\n  resume_window_milliseconds: 5\n")?.contains("realtime.resume_window_milliseconds: unknown key") == true)
    }

    @Test("nodes may not share a data directory, a name or an address")
    func sharedResources() {
        func cluster(_ second: String) -> String {
            "cluster:\n  nodes:\n    - name: a\n      cluster_address: h:1\n      client_address: h:2\n      data_dir: ./data/a\n" + second
        }
        let sharedDirectory = error(cluster("    - name: b\n      cluster_address: h:3\n      client_address: h:4\n      data_dir: data/a/\n"))
        #expect(sharedDirectory?.hasPrefix("c.yaml:10: cluster.nodes[1].data_dir repeats the data_dir of cluster.nodes[0].data_dir") == true,
            "\(sharedDirectory ?? "decoded")")
        #expect(error(cluster("    - name: b\n      cluster_address: h:2\n      client_address: h:4\n      data_dir: b\n"))?
            .contains("cluster.nodes[1].cluster_address repeats the address of cluster.nodes[0].client_address") == true)
        #expect(error(cluster("    - name: a\n      cluster_address: h:3\n      client_address: h:4\n      data_dir: b\n"))?
            .contains("cluster.nodes[1].name repeats") == true)
        #expect(error(cluster("    - name: b\n      cluster_address: h:3\n      client_address: h:4\n      data_dir: b\n")) == nil)
    }

    @Test("suggestions only for keys close enough to be typos")
    func suggestions() {
        #expect(closestKey(to: "prot", among: ["name", "host", "port"]) == "port")
        #expect(closestKey(to: "fsnyc", among: ["fsync", "segment_bytes"]) == "fsync")
        #expect(closestKey(to: "heartbeat_interval", among: ["heartbeat_interval_ms", "virtual_nodes"]) == "heartbeat_interval_ms")
        #expect(closestKey(to: "colour", among: ["name", "host", "port"]) == nil)
        #expect(editDistance("", "abc") == 3)
        #expect(editDistance("kitten", "sitting") == 3)
    }
}
