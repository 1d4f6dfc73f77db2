import ChorusTestSupport
import HTTPTypes
import Testing

@testable import ChorusGateway

@Suite("Upgrade requests no WebSocket takes")
struct HTTPServerChannelTests {
    @Test("an upgrade of a path without a WebSocket gets 400; an upgrade header on a request that cannot upgrade is redirected to the same URI")
    func refusedUpgrades() async throws {
        try await TestAPI.run(.live) { api in
            #expect(try await api.call(.get, "/healthz").status == .ok)
            #expect {
                try RawWebSocket(port: api.client.port!, path: "/v1/channels")
            } throws: { error in
                "\(error)".contains("HTTP/1.1 400")
            }
            // Without `Connection: Upgrade` NIO does not upgrade, so the request reaches HTTP: the
            // client is sent to try again, on a fresh connection.
            let redirected = try await api.call(.get, "/v1/ws?token=x", headers: [.upgrade: "websocket"])
            #expect(redirected.status == .temporaryRedirect)
            #expect(redirected.headers[.location] == "/v1/ws?token=x")
        }
    }
}
