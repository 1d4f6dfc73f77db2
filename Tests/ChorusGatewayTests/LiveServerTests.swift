import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("Live HTTP server")
struct LiveServerTests {
    @Test("the README session works over a real socket on 127.0.0.1")
    func readmeSession() async throws {
        try await TestAPI.run(.live) { api in
            #expect(api.client.port != nil)
            #expect(try await api.call(.get, "/healthz").status == .ok)
            _ = try await api.call(.get, "/v1/channels", as: "bob")
            let id = try await api.createChannel(name: "Project Team", owner: "alice")
            try await api.addMember("bob", to: id, by: "alice")
            let message = try await api.send("Hello everyone!", to: id, as: "alice")
            let reaction = try await api.call(
                .post, "/v1/channels/\(id)/messages/\(message["id"] as! String)/reactions", as: "bob", json: ["emote_asset_id": "999888777"])
            #expect(reaction.status == .created)
            let page = try await api.call(.get, "/v1/channels/\(id)/messages?limit=50", as: "bob")
            let messages = page.object["messages"] as? [[String: Any]]
            #expect(messages?.count == 1)
            #expect((messages?.first?["reactions"] as? [[String: Any]])?.first?["count"] as? Int == 1)
            // A malformed request over a real socket still gets a JSON error, and the connection serves on.
            #expect(try await api.call(.post, "/v1/channels", as: "alice", rawBody: "{nope").errorCode == "INVALID_REQUEST")
            #expect(try await api.call(.get, "/healthz").status == .ok)
        }
    }
}
