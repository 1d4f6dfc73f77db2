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
            // An upgrade after other requests on the connection (NIO's upgrade handler is gone):
            // the client is sent to try again, on a fresh connection.
            let late = try RawHTTPConnection(port: api.client.port!)
            try late.write(
                "GET /v1/channels HTTP/1.1\r\nHost: chorus\r\nAuthorization: Bearer \(api.token("alice"))\r\n\r\n"
                    + "GET /v1/ws?token=x HTTP/1.1\r\nHost: chorus\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
            #expect(try await late.response().status == 200)
            let redirected = try await late.response()
            #expect(redirected.status == 307)
            #expect(redirected.headers["location"] == "/v1/ws?token=x")
            #expect(try await late.closedByServer())
        }
    }

    @Test("a first request whose WebSocket handshake NIO refuses (no key, a bad version) gets 400 and a close, not silence", arguments: [
        "Upgrade: websocket\r\n", "Upgrade: websocket\r\nConnection: Upgrade\r\n",
        "Upgrade: WebSocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 12\r\n",
    ])
    func refusedHandshakes(_ headers: String) async throws {
        try await TestAPI.run(.live) { api in
            let connection = try RawHTTPConnection(port: api.client.port!)
            try connection.write("GET /v1/ws?token=\(api.token("alice")) HTTP/1.1\r\nHost: chorus\r\n\(headers)\r\n")
            let refused = try await connection.response()
            #expect(refused.status == 400)
            #expect(refused.headers["connection"] == "close")
            #expect(try await connection.closedByServer())
        }
    }

    @Test("a first request that asks for another protocol (h2c) is served as plain HTTP/1.1, then the connection closes")
    func otherProtocols() async throws {
        try await TestAPI.run(.live) { api in
            for connectionHeader in ["Upgrade, HTTP2-Settings", "keep-alive"] {
                let connection = try RawHTTPConnection(port: api.client.port!)
                try connection.write(
                    "GET /v1/channels HTTP/1.1\r\nHost: chorus\r\nAuthorization: Bearer \(api.token("alice"))\r\n"
                        + "Upgrade: h2c\r\nConnection: \(connectionHeader)\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n")
                let served = try await connection.response()
                #expect(served.status == 200)
                #expect(served.text == "[]")
                #expect(served.headers["connection"] == "close")
                #expect(try await connection.closedByServer())
            }
        }
    }
}
