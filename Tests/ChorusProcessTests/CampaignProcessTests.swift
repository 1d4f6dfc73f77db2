#if canImport(Glibc)
import Glibc
#endif
import ChorusBench
import ChorusCluster
import ChorusModel
import ChorusTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// A campaign on a cluster of real `chorus node` processes, across the death of the node running it.
@Suite("chorus binary: campaigns", .serialized)
struct CampaignProcessTests {
    static let jwtSecret = "campaign-process-jwt"
    let names = ["chorus-1", "chorus-2", "chorus-3"]
    let userCount = 60

    /// A Stream API call as Stream's clients make it (raw JWT, `stream-auth-type`, `api_key`), with a server token.
    func stream(_ port: Int, _ method: HTTPRequest.Method, _ path: String, json: String? = nil) async throws -> (HTTPResponse.Status, [String: Any]) {
        let token = signedToken(payload: #"{"iat":\#(Int(Date().timeIntervalSince1970))}"#, secret: Self.jwtSecret)
        return try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            var headers: HTTPFields = [.authorization: token, .contentType: "application/json"]
            headers[HTTPField.Name("stream-auth-type")!] = "jwt"
            let response = try await client.execute(
                .init(path + (path.contains("?") ? "&" : "?") + "api_key=chorus", method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }))
            let body = response.body.map { Data(String(buffer: $0).utf8) } ?? Data()
            return (response.status, (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:])
        }
    }

    @Test("the node running a campaign is killed halfway: another node carries on, and every user of the segment gets the message exactly once")
    func killTheRunner() async throws {
        let directory = NSTemporaryDirectory() + "chorus-campaign-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (config, clientPorts) = try writeClusterConfig(
            names: names, in: directory, clusterName: "campaign-test", clusterSettings: ClusterProcessTests.fastDetection,
            extra: "chat:\n  campaign_messages_per_second: 5\n")
        let nodes = try names.map { name in
            try ChorusProcess(
                ["node", "--config", config, "--name", name],
                environment: ["CHORUS_JWT_SECRET": Self.jwtSecret, "CHORUS_CLUSTER_SECRET": "campaign-cluster"])
        }
        var killed = false
        defer { if !killed { kill(nodes[1].processIdentifier, SIGKILL) } }
        for node in nodes { _ = try await node.listeningPort() }
        let entry = clientPorts[0]

        let users = (1...userCount).map { String(format: "u%03d", $0) }
        let userObjects = (["brand"] + users).map { #""\#($0)": {"id": "\#($0)", "name": "Name \#($0)"}"# }.joined(separator: ",")
        #expect(try await stream(entry, .post, "/users", json: #"{"users": {\#(userObjects)}}"#).0 == .created)
        let segment = try await stream(entry, .post, "/segments", json: #"{"segment": {"id": "all", "name": "All", "type": "user", "filter": {"id": {"$gt": "u"}}}}"#)
        #expect(segment.0 == .created && (segment.1["segment"] as? [String: Any])?["size"] as? Int == userCount, "\(segment)")
        // A campaign whose runner is chorus-2, the node this test kills.
        let ring = HashRing(nodes: names)
        let id = try #require((0..<1000).map { "launch-\($0)" }.first { ring.owner(of: "campaign/\($0)") == "chorus-2" })
        let created = try await stream(
            entry, .post, "/campaigns", json: #"{"campaign": {"id": "\#(id)", "name": "Launch", "text": "Hello {{ user.name }}", "segment_id": "all", "sender_id": "brand"}}"#)
        #expect(created.0 == .created, "\(created)")
        #expect(try await stream(entry, .patch, "/campaigns/\(id)/schedule", json: #"{"scheduled_for": 0}"#).0 == .ok)

        func campaign() async throws -> [String: Any] {
            try await stream(entry, .get, "/campaigns/\(id)").1["campaign"] as? [String: Any] ?? [:]
        }
        // 5 messages a second in batches of 10: the kill after the first batch leaves ten seconds
        // of campaign to carry on, however slowly this loaded machine polls.
        try await eventuallyAsync("the campaign has sent some messages") { (try await campaign()["messages_sent"] as? Int ?? 0) >= 10 }
        kill(nodes[1].processIdentifier, SIGKILL)
        killed = true
        let sentAtKill = try await campaign()["messages_sent"] as? Int ?? 0
        #expect(sentAtKill < userCount, "the kill came before the end")

        try await eventuallyAsync("the campaign completes on another node", timeout: .seconds(60)) { try await campaign()["status"] as? String == "completed" }
        let done = try await campaign()
        #expect(done["messages_sent"] as? Int == userCount && done["failed"] as? Int == 0 && done["users_targeted"] as? Int == userCount, "\(done)")
        for user in users {
            let channel = ChannelAddress.membersID([UserID("brand")!, UserID(user)!])
            let (status, state) = try await stream(entry, .post, "/channels/messaging/\(channel)/query", json: #"{"state": true}"#)
            let texts = (state["messages"] as? [[String: Any]])?.compactMap { $0["text"] as? String }
            #expect(status == .created && texts == ["Hello Name \(user)"], "\(user): \(texts ?? [])")
        }
        for node in [nodes[0], nodes[2]] { #expect(try await node.stop(signal: SIGTERM) == 0) }
    }
}
