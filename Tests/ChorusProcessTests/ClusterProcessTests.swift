#if canImport(Glibc)
import Glibc
#endif
import ChorusBench
import ChorusCluster
import ChorusTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// A Chorus cluster of real `chorus node` processes on 127.0.0.1.
@Suite("chorus binary: cluster", .serialized)
struct ClusterProcessTests {
    static let jwtSecret = "cluster-process-jwt"
    static let clusterSecret = "cluster-process-secret"
    let names = ["chorus-1", "chorus-2", "chorus-3"]

    func token(_ payload: String) -> String { signedToken(payload: payload, secret: Self.jwtSecret) }
    func userToken(_ user: String) -> String { token(#"{"user_id":"\#(user)","exp":\#(Int(Date().timeIntervalSince1970) + 3600)}"#) }

    /// A config file for a 3-node cluster in `directory`; returns its path and the client ports.
    func writeConfig(in directory: String) throws -> (String, [Int]) {
        try writeClusterConfig(names: names, in: directory, clusterName: "process-test", clusterSettings: Self.fastDetection)
    }

    /// Heartbeats and timeouts short enough for a test to see a node go down in seconds.
    static let fastDetection = ["heartbeat_interval_ms: 200", "suspect_after_ms: 1000", "down_after_ms: 2000", "call_timeout_ms: 3000"]

    /// A fresh scratch directory (the caller removes it).
    func scratchDirectory() throws -> String {
        let directory = NSTemporaryDirectory() + "chorus-cluster-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Creates rooms through `port` until one lands on `owner` (under the configured ring); returns its id.
    func createRoom(ownedBy owner: String, through port: Int, token: String) async throws -> String {
        let ring = HashRing(nodes: names)
        while true {
            let (status, created) = try await request(port, .post, "/v1/channels", token: token, json: #"{"type":"room","name":"Lobby"}"#)
            #expect(status == .created, "\(created)")
            let room = try #require(created["id"] as? String, "\(created)")
            if ring.owner(of: "channel/\(room)") == owner { return room }
        }
    }

    func startNode(_ name: String, config: String, clusterSecret: String = clusterSecret) throws -> ChorusProcess {
        try ChorusProcess(
            ["node", "--config", config, "--name", name],
            environment: ["CHORUS_JWT_SECRET": Self.jwtSecret, "CHORUS_CLUSTER_SECRET": clusterSecret])
    }

    func request(_ port: Int, _ method: HTTPRequest.Method, _ path: String, token: String, json: String? = nil) async throws -> (HTTPResponse.Status, [String: Any]) {
        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            let headers: HTTPFields = [.authorization: "Bearer \(token)"]
            let response: TestClient.Response =
                switch method {
                case .post: try await client.post(path, headers: headers, body: ByteBuffer(string: json ?? "{}"))
                default: try await client.get(path, headers: headers)
                }
            let body = response.body.map { Data(String(buffer: $0).utf8) } ?? Data()
            return (response.status, (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:])
        }
    }

    @Test("3 processes: users on node 1 and node 3 chat in a channel owned by node 2 and see identical streams; a killed owner fails fast")
    func chatAcrossProcesses() async throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (config, ports) = try writeConfig(in: directory)
        let nodes = try names.map { try startNode($0, config: config) }
        for node in nodes { _ = try await node.listeningPort() }

        // A room that lands on node 2, created through node 1.
        let room = try await createRoom(ownedBy: "chorus-2", through: ports[0], token: userToken("alice"))
        let (joined, _) = try await request(ports[2], .post, "/v1/channels/\(room)/members", token: userToken("bob"), json: #"{"user_id":"bob"}"#)
        #expect(joined == .created)

        let alice = try RawWebSocket(port: ports[0], path: "/v1/ws?token=\(userToken("alice"))")
        let bob = try RawWebSocket(port: ports[2], path: "/v1/ws?token=\(userToken("bob"))")
        for socket in [alice, bob] {
            #expect(try await socket.nextText()?.contains(#""type":"hello""#) == true)
            try socket.sendText(#"{"type":"resume","channels":{}}"#)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { for i in 0..<15 { _ = try await request(ports[0], .post, "/v1/channels/\(room)/messages", token: userToken("alice"), json: #"{"body":"a\#(i)"}"#) } }
            group.addTask { for i in 0..<15 { _ = try await request(ports[2], .post, "/v1/channels/\(room)/messages", token: userToken("bob"), json: #"{"body":"b\#(i)"}"#) } }
            try await group.waitForAll()
        }
        func messages(_ socket: RawWebSocket) async throws -> [String] {
            var seen: [String] = []
            while seen.count < 30, let text = try await socket.nextText() {
                guard let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], object["type"] as? String == "message" else { continue }
                seen.append("\(object["seq"]!) \((object["data"] as? [String: Any])?["body"] ?? "")")
            }
            return seen
        }
        let aliceSaw = try await messages(alice)
        let bobSaw = try await messages(bob)
        #expect(aliceSaw.count == 30 && aliceSaw == bobSaw)

        // The admin view sees three nodes up, with the room's actor on node 2.
        let (status, view) = try await request(ports[2], .get, "/v1/admin/cluster", token: token(#"{"iat":\#(Int(Date().timeIntervalSince1970))}"#))
        #expect(status == .ok)
        let listed = view["nodes"] as? [[String: Any]] ?? []
        #expect(listed.map { $0["name"] as? String } == names && listed.allSatisfy { $0["status"] as? String == "up" })
        #expect((listed[1]["channel_actors"] as? Int ?? 0) >= 1)

        // Kill the owner: calls for its room fail fast with 503 instead of hanging.
        kill(nodes[1].processIdentifier, SIGKILL)
        _ = try? await nodes[1].waitForExit()
        let started = ContinuousClock.now
        let (failed, body) = try await request(ports[0], .post, "/v1/channels/\(room)/messages", token: userToken("alice"), json: #"{"body":"anyone?"}"#)
        #expect(failed == .serviceUnavailable && (body["error"] as? [String: Any])?["code"] as? String == "CLUSTER_UNAVAILABLE")
        #expect(ContinuousClock.now - started < .seconds(3))
        for node in [nodes[0], nodes[2]] { #expect(try await node.stop(signal: SIGTERM) == 0) }
    }

    @Test("a paused owner acknowledges nothing once the others took its channel over; resumed, it rejoins and every acknowledged message is there once, in order")
    func pausedOwner() async throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (config, ports) = try writeConfig(in: directory)
        let nodes = try names.map { try startNode($0, config: config) }
        for node in nodes { _ = try await node.listeningPort() }
        let alice = userToken("alice")
        let server = token(#"{"iat":\#(Int(Date().timeIntervalSince1970))}"#)

        let room = try await createRoom(ownedBy: "chorus-2", through: ports[0], token: alice)
        func send(_ body: String, through port: Int) async throws -> HTTPResponse.Status {
            try await request(port, .post, "/v1/channels/\(room)/messages", token: alice, json: #"{"body":"\#(body)","client_message_id":"\#(body)"}"#).0
        }
        for i in 0..<5 { #expect(try await send("before\(i)", through: ports[0]) == .created) }

        let paused = nodes[1].processIdentifier
        kill(paused, SIGSTOP)
        var resumed = false
        defer { if !resumed { kill(paused, SIGCONT) } }
        // A send that reaches the paused owner waits in its socket until it runs again.
        let (channelPath, pausedPort) = ("/v1/channels/\(room)/messages", ports[1])
        let stale = Task {
            try await request(pausedPort, .post, channelPath, token: alice, json: #"{"body":"stale","client_message_id":"stale"}"#).0
        }
        func onRing(_ name: String, seenBy port: Int) async throws -> Bool? {
            let (_, view) = try await request(port, .get, "/v1/admin/cluster", token: server)
            return (view["nodes"] as? [[String: Any]])?.first { $0["name"] as? String == name }?["on_ring"] as? Bool
        }
        // The others declare it down and take it off the ring: its channel is served by its next replica.
        try await eventuallyAsync("chorus-2 is off the ring") { try await onRing("chorus-2", seenBy: ports[0]) == false }
        for i in 0..<5 { #expect(try await send("during\(i)", through: ports[0]) == .created) }

        kill(paused, SIGCONT)
        resumed = true
        // The stale send is served by the new owner (201) or refused (503): never acknowledged by the
        // deposed owner alone, which the history below would show as a message nobody else has.
        let staleStatus = try await stale.value
        #expect(staleStatus == .created || staleStatus == .serviceUnavailable, "\(staleStatus)")
        let expected = (0..<5).map { "before\($0)" } + (0..<5).map { "during\($0)" } + (staleStatus == .created ? ["stale"] : [])
        func bodies(through port: Int) async throws -> [String] {
            let (_, page) = try await request(port, .get, "/v1/channels/\(room)/messages?limit=100", token: alice)
            return (page["messages"] as? [[String: Any]])?.compactMap { $0["body"] as? String } ?? []
        }
        #expect(try await bodies(through: ports[0]) == expected)
        // Resumed, it finds itself off the ring and joins again; it then serves the same history.
        try await eventuallyAsync("chorus-2 is back on the ring") { try await onRing("chorus-2", seenBy: ports[0]) == true }
        try await eventuallyAsync("chorus-2 serves the whole history") { try await bodies(through: ports[1]) == expected }
        for node in nodes { #expect(try await node.stop(signal: SIGTERM) == 0) }
    }

    @Test("a node with the wrong cluster secret is refused and logged")
    func wrongSecret() async throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (config, ports) = try writeConfig(in: directory)
        let honest = try startNode("chorus-1", config: config)
        let intruder = try startNode("chorus-2", config: config, clusterSecret: "a-guess")
        _ = try await honest.listeningPort()
        _ = try await intruder.listeningPort()
        try await honest.waitFor("the refusal", timeout: .seconds(20)) { _, err in err.contains("cluster handshake refused") }
        #expect(honest.stderr.contains("wrong cluster secret from chorus-2") || intruder.stderr.contains("wrong cluster secret from chorus-1"))
        // Users the intruder would own are unavailable, never served by it.
        let ring = HashRing(nodes: names)
        let user = (0..<1000).map { "user\($0)" }.first { ring.owner(of: "user/\($0)") == "chorus-2" }!
        let (status, _) = try await request(ports[0], .get, "/v1/channels", token: userToken(user))
        #expect(status == .serviceUnavailable)
        for node in [honest, intruder] { #expect(try await node.stop(signal: SIGTERM) == 0) }
    }

    @Test("3 processes: node 2 leaves on SIGTERM (the metadata log takes it off the ring); started again, it joins and takes its rooms back; nothing is lost")
    func leaveAndJoin() async throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (config, ports) = try writeConfig(in: directory)
        var nodes = try names.map { try startNode($0, config: config) }
        for node in nodes { _ = try await node.listeningPort() }
        let ring = HashRing(nodes: names)
        // Rooms until three land on node 2, each with a few messages.
        var rooms: [String: [String]] = [:]
        var attempts = 0
        while rooms.keys.filter({ ring.owner(of: "channel/\($0)") == "chorus-2" }).count < 3 && attempts < 100 {
            attempts += 1
            let (status, room) = try await request(ports[0], .post, "/v1/channels", token: userToken("alice"), json: #"{"type":"room","name":"r"}"#)
            #expect(status == .created)
            let id = room["id"] as? String ?? ""
            for m in 0..<3 {
                // On a busy machine a node can suspect a peer for a moment and answer 503 (with
                // Retry-After): the send is retried as a client would, its client message id
                // making sure it posts once.
                try await eventuallyAsync("message \(id)-\(m) is sent") {
                    let (sent, _) = try await request(
                        ports[0], .post, "/v1/channels/\(id)/messages", token: userToken("alice"),
                        json: #"{"body":"\#(id)-\#(m)","client_message_id":"\#(id)-\#(m)"}"#)
                    #expect(sent == .created || sent == .serviceUnavailable)
                    return sent == .created
                }
            }
            rooms[id] = (0..<3).map { "\(id)-\($0)" }
        }
        func check(_ port: Int) async throws {
            for (room, bodies) in rooms {
                let (status, page) = try await request(port, .get, "/v1/channels/\(room)/messages?limit=100", token: userToken("alice"))
                let got = (page["messages"] as? [[String: Any]] ?? []).compactMap { $0["body"] as? String }
                #expect(status == .ok && got == bodies, "room \(room) via port \(port): \(status) \(page)")
            }
        }
        // Node 2 leaves: its rooms now live on nodes 1 and 3, with every message.
        #expect(try await nodes[1].stop(signal: SIGTERM, timeout: .seconds(30)) == 0)
        #expect(nodes[1].stderr.contains("left the cluster"))
        try await check(ports[0])
        try await check(ports[2])
        for room in rooms.keys {
            let (sent, _) = try await request(ports[2], .post, "/v1/channels/\(room)/messages", token: userToken("alice"), json: #"{"body":"while 2 was away"}"#)
            #expect(sent == .created)
            rooms[room]!.append("while 2 was away")
        }
        // Node 2 starts again on its data directory: it joins and takes its share back.
        nodes[1] = try startNode("chorus-2", config: config)
        _ = try await nodes[1].listeningPort()
        #expect(nodes[1].stderr.contains("joined the cluster"))
        try await check(ports[1])
        try await check(ports[0])
        let (status, view) = try await request(ports[1], .get, "/v1/admin/cluster", token: token(#"{"iat":\#(Int(Date().timeIntervalSince1970))}"#))
        // Leave and join are a ring epoch each (more if a busy machine made the failure detector
        // take the restarted node off again, and it joined once more).
        #expect(status == .ok && (view["ring_epoch"] as? Int ?? 0) >= 3, "\(view)")
        for node in nodes { _ = try await node.stop(signal: SIGTERM, timeout: .seconds(30)) }
    }

    @Test("cluster up starts every node, prints their URLs, and stops them all on SIGTERM")
    func clusterUp() async throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (config, ports) = try writeConfig(in: directory)
        let up = try ChorusProcess(["cluster", "up", "--config", config], environment: ["CHORUS_JWT_SECRET": Self.jwtSecret])
        try await up.waitFor("three ready lines", timeout: .seconds(60)) { out, _ in out.components(separatedBy: " ready: http://").count == 4 }
        for (name, port) in zip(names, ports) { #expect(up.stdout.contains("\(name) ready: http://127.0.0.1:\(port)")) }
        let (status, _) = try await request(ports[1], .get, "/v1/channels", token: userToken("carol"))
        #expect(status == .ok)
        #expect(try await up.stop(signal: SIGTERM, timeout: .seconds(40)) == 0)
        // Every node is gone: nothing answers on the client ports.
        for port in ports {
            await #expect(throws: (any Error).self) { _ = try await request(port, .get, "/healthz", token: "") }
        }
    }

    @Test("cluster up killed with SIGKILL: its nodes notice they lost their parent and stop by themselves")
    func clusterUpKilled() async throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (config, ports) = try writeConfig(in: directory)
        let up = try ChorusProcess(["cluster", "up", "--config", config], environment: ["CHORUS_JWT_SECRET": Self.jwtSecret])
        try await up.waitFor("three ready lines", timeout: .seconds(60)) { out, _ in out.components(separatedBy: " ready: http://").count == 4 }
        #expect(try await request(ports[0], .get, "/healthz", token: "").0 == .ok)
        #expect(try await up.stop(signal: SIGKILL) == SIGKILL)
        for port in ports {
            try await eventuallyAsync("the node on port \(port) stops", timeout: .seconds(60)) {
                (try? await request(port, .get, "/healthz", token: "")) == nil
            }
        }
    }
}
