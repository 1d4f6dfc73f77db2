import ChorusTestSupport
import Foundation
import Testing

@testable import ChorusGateway

/// HTTP/1.1 on a real connection, byte for byte: what `RouterRequestHandler` and the handlers
/// before it do with pipelining, bodies over the limit, `Expect`, `Connection: close`, bytes
/// that do not parse, and responses long or never-ending.
@Suite("HTTP/1.1 connections to the router")
struct RouterRequestHandlerTests {
    static let limited = ChorusConfiguration.testing { $0.limits.maxBodyBytes = 2048 }

    static func post(_ path: String, token: String, body: String, extra: String = "") -> String {
        "POST \(path) HTTP/1.1\r\nHost: chorus\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\(extra)\r\n\(body)"
    }

    @Test("pipelined requests are answered in their order, a health check and a 404 among them, with Date and Server")
    func pipelined() async throws {
        try await TestAPI.run(.live) { api in
            let connection = try RawHTTPConnection(port: api.client.port!)
            let token = api.token("alice")
            try connection.write(
                "GET /v1/channels HTTP/1.1\r\nHost: chorus\r\nAuthorization: Bearer \(token)\r\nX-Request-Id: one\r\n\r\n"
                    + "GET /healthz HTTP/1.1\r\nHost: chorus\r\nX-Request-Id: two\r\n\r\n"
                    + Self.post("/v1/channels", token: token, body: #"{"type":"group","name":"Team"}"#, extra: "X-Request-Id: three\r\n")
                    + "GET /nowhere HTTP/1.1\r\nHost: chorus\r\nX-Request-Id: four\r\n\r\n")
            var replies: [RawHTTPResponse] = []
            for _ in 0..<4 { replies.append(try await connection.response()) }
            #expect(replies.map { $0.headers["x-request-id"] } == ["one", "two", "three", "four"])
            #expect(replies.map(\.status) == [200, 200, 201, 404])
            #expect(replies[0].text == "[]")
            #expect(replies[2].text.contains(#""name":"Team""#))
            for reply in replies {
                #expect(reply.headers["server"] == Gateway.serverName)
                #expect(reply.headers["date"]?.hasSuffix(" GMT") == true)
            }
            // Still open for the next request.
            try connection.write("GET /healthz HTTP/1.1\r\nHost: chorus\r\n\r\n")
            #expect(try await connection.response().status == 200)
        }
    }

    @Test("a Content-Length over the limit gets its route's 413 (v1 and Stream formats) before the body is sent; then the connection closes")
    func overLimitByLength() async throws {
        try await TestAPI.run(.live, configuration: Self.limited) { api in
            let channel = try await api.createChannel(owner: "alice")
            let v1 = try RawHTTPConnection(port: api.client.port!)
            try v1.write(
                "POST /v1/channels/\(channel)/messages HTTP/1.1\r\nHost: chorus\r\nAuthorization: Bearer \(api.token("alice"))\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n")
            let refused = try await v1.response()
            #expect(refused.status == 413 && refused.headers["connection"] == "close")
            #expect(refused.text.contains(#""code":"PAYLOAD_TOO_LARGE""#))
            #expect(try await v1.closedByServer())

            let stream = try RawHTTPConnection(port: api.client.port!)
            try stream.write(
                "POST /channels?api_key=\(TestAPI.streamKey) HTTP/1.1\r\nHost: chorus\r\nAuthorization: \(api.token("alice"))\r\n"
                    + "Stream-Auth-Type: jwt\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n")
            let streamRefused = try await stream.response()
            #expect(streamRefused.status == 413)
            #expect(streamRefused.text.contains(#""code":22"#))
            #expect(try await stream.closedByServer())
        }
    }

    @Test("a chunked body is collected across chunks; one that grows over the limit gets 413 at once and the connection closes")
    func chunkedBodies() async throws {
        try await TestAPI.run(.live, configuration: Self.limited) { api in
            let channel = try await api.createChannel(owner: "alice")
            let head = "POST /v1/channels/\(channel)/messages HTTP/1.1\r\nHost: chorus\r\nAuthorization: Bearer \(api.token("alice"))\r\n"
                + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            let connection = try RawHTTPConnection(port: api.client.port!)
            try connection.write(head + "5\r\n{\"bod\r\n")
            try connection.write("8\r\ny\":\"hi\"}\r\n0\r\n\r\n")
            let sent = try await connection.response()
            #expect(sent.status == 201)
            #expect(sent.text.contains(#""body":"hi""#))

            // 2 × 1,500 bytes, and the body never ends.
            let piece = String(repeating: "x", count: 1500)
            try connection.write(head + "5dc\r\n\(piece)\r\n5dc\r\n\(piece)\r\n")
            let refused = try await connection.response()
            #expect(refused.status == 413)
            #expect(try await connection.closedByServer())
        }
    }

    @Test("Expect: 100-continue gets 100 Continue, then the answer once the body has come")
    func expectContinue() async throws {
        try await TestAPI.run(.live) { api in
            let channel = try await api.createChannel(owner: "alice")
            let body = #"{"body":"after the go-ahead"}"#
            let connection = try RawHTTPConnection(port: api.client.port!)
            try connection.write(
                "POST /v1/channels/\(channel)/messages HTTP/1.1\r\nHost: chorus\r\nAuthorization: Bearer \(api.token("alice"))\r\n"
                    + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nExpect: 100-continue\r\n\r\n")
            #expect(try await connection.response().status == 100)
            try connection.write(body)
            let sent = try await connection.response()
            #expect(sent.status == 201)
            #expect(sent.text.contains("after the go-ahead"))
        }
    }

    @Test("Connection: close ends the connection after its response (a health check's too); bytes that are not HTTP get 400 and a close")
    func closing() async throws {
        try await TestAPI.run(.live) { api in
            let polite = try RawHTTPConnection(port: api.client.port!)
            try polite.write("GET /v1/channels HTTP/1.1\r\nHost: chorus\r\nAuthorization: Bearer \(api.token("alice"))\r\nConnection: close\r\n\r\n")
            let answered = try await polite.response()
            #expect(answered.status == 200 && answered.headers["connection"] == "close", "the response says it closes")
            #expect(try await polite.closedByServer())
            let check = try RawHTTPConnection(port: api.client.port!)
            try check.write("GET /healthz HTTP/1.1\r\nHost: chorus\r\nConnection: close\r\n\r\n")
            #expect(try await check.response().status == 200)
            #expect(try await check.closedByServer())

            let garbled = try RawHTTPConnection(port: api.client.port!)
            try garbled.write("this is not HTTP\r\n\r\n")
            #expect(try await garbled.response().status == 400)
            #expect(try await garbled.closedByServer())

            // The same after a request: its answer first.
            let later = try RawHTTPConnection(port: api.client.port!)
            try later.write("GET /v1/channels HTTP/1.1\r\nHost: chorus\r\nAuthorization: Bearer \(api.token("alice"))\r\n\r\nnot HTTP either\r\n\r\n")
            #expect(try await later.response().status == 200)
            #expect(try await later.response().status == 400)
            #expect(try await later.closedByServer())
        }
    }

    @Test("a response over 64 KiB arrives whole; server-sent events go out as they are written, not when the body ends")
    func longAndEndlessBodies() async throws {
        try await TestAPI.run(.live) { api in
            let connection = try RawHTTPConnection(port: api.client.port!)
            try connection.write("GET /openapi/stream.yaml HTTP/1.1\r\nHost: chorus\r\n\r\n")
            let document = try await connection.response()
            #expect(document.status == 200)
            #expect(document.body.count > 64 * 1024)
            #expect(document.text == OpenAPIDocuments.stream)

            // Events a minute apart: the first must arrive now, long before the stream's end.
            let events = try RawHTTPConnection(port: api.client.port!)
            try events.write(
                "GET /v1/admin/cluster/stream?interval_ms=60000 HTTP/1.1\r\nHost: chorus\r\nAuthorization: Bearer \(api.serverToken)\r\n\r\n")
            let first = try await events.head(andFirst: 40)
            #expect(first.status == 200)
            #expect(first.headers["content-type"] == "text/event-stream")
            #expect(first.text.contains("event: cluster"))
        }
    }
}
