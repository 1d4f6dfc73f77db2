import ChorusTestSupport
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import ChorusGateway

/// `HealthCheckRequest` reads requests by hand, in front of NIO's decoder, so NIO's decoder is its
/// reference: whatever it takes for a check, the decoder must read as that same check.
@Suite("Health checks read by hand")
struct HealthCheckRequestTests {
    /// What NIO's HTTP/1 decoder makes of `bytes`: the parts of the requests it read, or `nil`
    /// if it refused them.
    static func decode(_ bytes: [UInt8]) -> [HTTPServerRequestPart]? {
        final class Parts: ChannelInboundHandler {
            typealias InboundIn = HTTPServerRequestPart
            var parts: [HTTPServerRequestPart] = []
            func channelRead(context: ChannelHandlerContext, data: NIOAny) { parts.append(unwrapInboundIn(data)) }
        }
        let parts = Parts()
        let channel = EmbeddedChannel(handlers: [ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)), parts])
        defer { _ = try? channel.finish() }
        do {
            try channel.writeInbound(ByteBuffer(bytes: bytes))
        } catch {
            return nil
        }
        return parts.parts
    }

    static func parse(_ bytes: [UInt8]) -> HealthCheckRequest? {
        bytes.withUnsafeBytes { HealthCheckRequest.parse($0) }
    }

    /// Checks `bytes` against NIO's decoder; returns whether the hand reader took a check.
    @discardableResult
    static func agree(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        guard let request = parse(bytes) else { return false }
        let description = String(decoding: bytes, as: UTF8.self).debugDescription
        guard let parts = decode(Array(bytes[..<request.length])) else {
            Issue.record("taken as a check, refused by NIO: \(description)", sourceLocation: sourceLocation)
            return true
        }
        guard parts.count == 2, case .head(let head) = parts[0], case .end = parts[1] else {
            Issue.record("taken as a check, read by NIO as \(parts): \(description)", sourceLocation: sourceLocation)
            return true
        }
        #expect(head.method == .GET && head.version == .http1_1, "\(description)", sourceLocation: sourceLocation)
        #expect(HealthCheckRequest.check(target: head.uri) == request.check, "\(description)", sourceLocation: sourceLocation)
        #expect(head.isKeepAlive == !request.close, "\(description)", sourceLocation: sourceLocation)
        let given = head.headers["X-Request-Id"].first.map { $0.trimmingSpaces }
        #expect(given == request.requestID, "\(description)", sourceLocation: sourceLocation)
        for name in ["Content-Length", "Transfer-Encoding", "Upgrade", "Expect"] {
            #expect(!head.headers.contains(name: name), "\(description)", sourceLocation: sourceLocation)
        }
        return true
    }

    static let templates = [
        "GET /healthz HTTP/1.1\r\nHost: node\r\n\r\n",
        "GET /readyz/?probe=lb HTTP/1.1\r\nHost: node\r\nX-Request-Id: lb-1\r\nConnection: keep-alive\r\n\r\n",
        "GET /healthz/ HTTP/1.1\r\nUser-Agent: kube-probe/1.31\r\nAccept: */*\r\nConnection: close\r\n\r\n",
        "GET /healthz?x=1 HTTP/1.1\r\nx-request-id:\tabc \r\nConnection: Keep-Alive, close\r\n\r\n",
    ]

    @Test("each template is a check, read the same by NIO")
    func templatesAgree() {
        for template in Self.templates {
            #expect(Self.agree(Array(template.utf8)), "\(template.debugDescription)")
        }
    }

    @Test("20,000 mutated checks: whatever the hand reader takes, NIO's decoder reads as the same check")
    func mutations() {
        var random = SeededRandom(seed: 2026_12_04)
        // Bytes that matter to HTTP/1's grammar, and some that do not.
        let alphabet = Array(" \t\r\n:,/?;=\"\\()@[]{}\u{7F}".utf8) + [0, 1, 0x0B, 0x80, 0xC3, 0xA9, 0xFF] + Array("aZ09-_.~!#$%&'*+^`|".utf8)
        var taken = 0
        for _ in 0..<20_000 {
            var bytes = Array(Self.templates[Int(random.next() % UInt64(Self.templates.count))].utf8)
            for _ in 0..<(1 + Int(random.next() % 3)) {
                let at = Int(random.next() % UInt64(bytes.count + 1))
                let byte = alphabet[Int(random.next() % UInt64(alphabet.count))]
                switch random.next() % 3 {
                case 0: bytes.insert(byte, at: at)
                case 1: if at < bytes.count { bytes.remove(at: at) }
                default: if at < bytes.count { bytes[at] = byte }
                }
            }
            if Self.agree(bytes) { taken += 1 }
        }
        // The mutations must leave some checks standing, or this would test nothing.
        #expect(taken > 2_000, "\(taken) of 20,000 were still checks")
    }

    @Test("a check is read only whole: every proper prefix is not one", arguments: templates)
    func prefixes(_ template: String) {
        let bytes = Array(template.utf8)
        for end in 0..<bytes.count {
            #expect(Self.parse(Array(bytes[..<end])) == nil, "\(String(decoding: bytes[..<end], as: UTF8.self).debugDescription)")
        }
        #expect(Self.parse(bytes)?.length == bytes.count)
        #expect(Self.parse(bytes + Array("GET /".utf8))?.length == bytes.count, "what follows is the next request's")
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(self.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

extension HealthCheckRequest {
    /// The check `target` names, as the hand reader sees it.
    static func check(target: String) -> HealthCheckHandler.Check? {
        Array(target.utf8).withUnsafeBytes { check(target: $0[...]) }
    }
}
