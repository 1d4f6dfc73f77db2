import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import ChorusGateway

@Suite("WebSocket text frames the socket writer frames itself")
struct WebSocketTextTests {
    @Test("one buffer of frames of every header size decodes, with NIO's decoder, to final unmasked text frames with their payloads")
    func headerSizes() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 20)))
        defer { _ = try? channel.finish() }
        let lengths = [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]
        var batch = ByteBuffer()
        for (index, length) in lengths.enumerated() {
            WebSocketText.append(ByteBuffer(repeating: UInt8(index), count: length), to: &batch)
        }
        try channel.writeInbound(batch)
        for (index, length) in lengths.enumerated() {
            let frame = try #require(try channel.readInbound(as: WebSocketFrame.self))
            #expect(frame.fin && frame.opcode == .text && frame.maskKey == nil, "frame of \(length) bytes")
            #expect(frame.data == ByteBuffer(repeating: UInt8(index), count: length), "frame of \(length) bytes")
        }
        #expect(try channel.readInbound(as: WebSocketFrame.self) == nil)
    }
}
