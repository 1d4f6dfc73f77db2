import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import Testing

@testable import ChorusGateway

@Suite("HTTP server codec")
struct HTTPServerCodecTests {
    static let targets = [
        "/", "/healthz", "/v1/channels?limit=5&q=%20y", "//double/slash", "/with space", "/%zz", "/a?b#fragment", "/?",
        "http://example.com:8080/v1/channels?limit=5", "http://example.com", "https://example.com/?q", "*", "example.com:443", "",
    ]

    @Test("every request head converts as swift-nio-extras converts it; origin-form targets stay as they are")
    func sameRequests() throws {
        let methods: [HTTPMethod] = [.GET, .POST, .OPTIONS, .CONNECT, .RAW(value: "PURGE")]
        for target in Self.targets {
            for method in methods {
                var headers: HTTPHeaders = ["Host": "chorus.example", "Cookie": "a=1; b=2", "X-Request-Id": "r1"]
                headers.add(name: "Accept", value: "text/plain")
                headers.add(name: "accept", value: "application/json")
                let head = HTTPRequestHead(version: .http1_1, method: method, uri: target, headers: headers)
                let expected = try HTTPRequest(head, secure: false, splitCookie: false)
                let converted = try HTTPServerCodec.request(head)
                #expect(converted == expected, "\(method) \(target)")
                if target.hasPrefix("/") { #expect(converted.path == target) }
            }
        }
        // A method HTTP cannot carry is refused alike.
        let bad = HTTPRequestHead(version: .http1_1, method: .RAW(value: "NOT A METHOD"), uri: "/", headers: [:])
        #expect(throws: (any Error).self) { try HTTPRequest(bad, secure: false, splitCookie: false) }
        #expect(throws: (any Error).self) { try HTTPServerCodec.request(bad) }
    }

    @Test("a request's parts go up and a response's parts go down converted, trailers included")
    func pipeline() throws {
        let channel = EmbeddedChannel(handler: HTTPServerCodec())
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/v1/channels/7/messages", headers: ["Host": "h", "Content-Length": "2"])
        try channel.writeInbound(HTTPServerRequestPart.head(head))
        try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(string: "{}")))
        try channel.writeInbound(HTTPServerRequestPart.end(["Trailer-One": "1"]))
        guard case .head(let request) = try channel.readInbound(as: HTTPRequestPart.self) else {
            Issue.record("no head")
            return
        }
        #expect(request.method == .post && request.path == "/v1/channels/7/messages" && request.authority == "h")
        #expect(request.headerFields[.contentLength] == "2")
        guard case .body(let body) = try channel.readInbound(as: HTTPRequestPart.self) else {
            Issue.record("no body")
            return
        }
        #expect(String(buffer: body) == "{}")
        guard case .end(let trailers) = try channel.readInbound(as: HTTPRequestPart.self) else {
            Issue.record("no end")
            return
        }
        #expect(trailers?[HTTPField.Name("Trailer-One")!] == "1")

        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .created, headerFields: [.contentType: "application/json"])))
        try channel.writeOutbound(HTTPResponsePart.body(ByteBuffer(string: "{\"ok\":true}")))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        guard case .head(let response) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            Issue.record("no response head")
            return
        }
        #expect(response.status == .created && response.headers["Content-Type"] == ["application/json"])
        guard case .body(.byteBuffer(let out)) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            Issue.record("no response body")
            return
        }
        #expect(String(buffer: out) == "{\"ok\":true}")
        guard case .end(nil) = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            Issue.record("no response end")
            return
        }
        _ = try channel.finish()
    }
}
