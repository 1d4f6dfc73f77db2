import ChorusTestSupport
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Synchronization
import Testing

@testable import ChorusGateway

/// The socket's handlers on a testing channel: frames in, frames out, no network.
@Suite("A server WebSocket served by channel handlers")
struct ServerWebSocketTests {
    /// A socket on a testing channel, with what its consumer took and how its client side ended.
    final class Harness: Sendable {
        let channel = NIOAsyncTestingChannel()
        let socket: ServerWebSocket
        let taken = Mutex<[ServerWebSocket.Message]>([])
        let ends = Mutex<[ServerWebSocket.End]>([])

        init(maxMessageBytes: Int = 1024) async throws {
            socket = ServerWebSocket(channel: channel, configuration: .init(maxMessageBytes: maxMessageBytes, closeTimeout: .seconds(5)))
            try await channel.eventLoop.submit { [channel, socket] in try channel.pipeline.syncOperations.addHandler(socket.makeHandler()) }.get()
            try await channel.connect(to: .init(ipAddress: "127.0.0.1", port: 1))
            socket.whenEnded { [self] end in ends.withLock { $0.append(end) } }
        }

        func consume(gate: Gate? = nil) {
            socket.consume { [self] message in
                await gate?.wait()
                taken.withLock { $0.append(message) }
            }
        }

        /// Sends a client's frame (masked), as NIO's encoder writes it.
        func send(_ opcode: WebSocketOpcode, _ text: String = "", fin: Bool = true, rsv1: Bool = false) async throws {
            try await channel.writeInbound(NIOFrames.encode([NIOFrames.client(opcode, ByteBuffer(string: text), fin: fin, rsv1: rsv1)]))
        }

        func sendClose(_ code: WebSocketErrorCode) async throws {
            var data = ByteBuffer()
            data.write(webSocketErrorCode: code)
            try await channel.writeInbound(NIOFrames.encode([NIOFrames.client(.connectionClose, data)]))
        }

        /// The server's next frame, as NIO's decoder reads it.
        func nextWritten() async throws -> WebSocketFrame {
            let frames = try NIOFrames.decode(try await channel.waitForOutboundWrite(as: ByteBuffer.self))
            try #require(frames.count == 1)
            return frames[0]
        }

        var texts: [String] {
            taken.withLock { $0 }.map { message in
                switch message {
                case .text(let bytes): String(buffer: bytes)
                case .binary(let bytes): "binary:\(String(buffer: bytes))"
                }
            }
        }
    }

    /// Holds the consumer until opened.
    final class Gate: Sendable {
        private let open = Mutex<(isOpen: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

        func wait() async {
            await withCheckedContinuation { continuation in
                let go = open.withLock { state in
                    if !state.isOpen { state.waiters.append(continuation) }
                    return state.isOpen
                }
                if go { continuation.resume() }
            }
        }

        func release() {
            for waiter in open.withLock({ state in
                state.isOpen = true
                defer { state.waiters = [] }
                return state.waiters
            }) { waiter.resume() }
        }
    }

    @Test("messages reach the consumer whole and in order, those sent before it was set included; fragments are joined")
    func messagesInOrder() async throws {
        let harness = try await Harness()
        try await harness.send(.text, "one")
        try await harness.send(.text, "tw", fin: false)
        try await harness.send(.continuation, "o")
        harness.consume()
        try await harness.send(.binary, "three")
        try await harness.send(.text, "four")
        try await eventually("four messages are taken") { harness.texts.count == 4 }
        #expect(harness.texts == ["one", "two", "binary:three", "four"])
        #expect(harness.channel.isActive)
    }

    @Test("a ping is answered with a pong carrying its payload")
    func pingPong() async throws {
        let harness = try await Harness()
        try await harness.send(.ping, "are you there")
        let pong = try await harness.nextWritten()
        #expect(pong.opcode == .pong && pong.fin && String(buffer: pong.data) == "are you there")
    }

    @Test("the client's close is echoed with its code, the connection closes and the socket's end is .closed")
    func clientClose() async throws {
        let harness = try await Harness()
        try await harness.sendClose(.goingAway)
        let echo = try await harness.nextWritten()
        var data = echo.data
        #expect(echo.opcode == .connectionClose && data.readWebSocketErrorCode() == .goingAway)
        try await eventually("the connection closes") { !harness.channel.isActive }
        #expect(harness.ends.withLock { $0 } == [.closed])
    }

    @Test("the server's close writes the frames left, then the close; the client's answer closes the connection")
    func serverCloseAnswered() async throws {
        let harness = try await Harness()
        let written = harness.socket.close(.policyViolation, reason: "slow", after: [ByteBuffer(string: "last")])
        let last = try await harness.nextWritten()
        #expect(last.opcode == .text && String(buffer: last.data) == "last")
        let close = try await harness.nextWritten()
        var data = close.data
        #expect(close.opcode == .connectionClose && data.readWebSocketErrorCode() == .policyViolation && String(buffer: data) == "slow")
        try await written.get()
        // A second close says nothing more.
        try await harness.socket.close(.normalClosure).get()
        #expect(try await harness.channel.readOutbound(as: ByteBuffer.self) == nil)
        #expect(harness.channel.isActive)
        try await harness.sendClose(.policyViolation)
        try await eventually("the connection closes") { !harness.channel.isActive }
        #expect(harness.ends.withLock { $0 } == [.closed])
    }

    @Test("a server's close the client never answers closes the connection after the close timeout")
    func serverCloseTimesOut() async throws {
        let harness = try await Harness()
        harness.socket.close(.goingAway, reason: "node is stopping")
        #expect(try await harness.nextWritten().opcode == .connectionClose)
        await harness.channel.testingEventLoop.advanceTime(by: .seconds(4))
        #expect(harness.channel.isActive)
        await harness.channel.testingEventLoop.advanceTime(by: .seconds(1))
        try await eventually("the connection closes") { !harness.channel.isActive }
    }

    @Test("reserved bits and reserved opcodes close with 1002; a message over the limit with 1009", arguments: [1, 2, 3])
    func violations(_ violation: Int) async throws {
        let harness = try await Harness(maxMessageBytes: 8)
        harness.consume()
        switch violation {
        case 1: try await harness.send(.text, "hi", rsv1: true)
        case 2: try await harness.send(WebSocketOpcode(encodedWebSocketOpcode: 0x3)!, "hi")
        default:
            try await harness.send(.text, "12345", fin: false)
            try await harness.send(.continuation, "6789")
        }
        let close = try await harness.nextWritten()
        var data = close.data
        let expected: WebSocketErrorCode = violation == 3 ? .messageTooLarge : .protocolError
        #expect(close.opcode == .connectionClose && data.readWebSocketErrorCode() == expected)
        #expect(harness.ends.withLock { $0 } == [violation == 3 ? .tooLarge : .protocolError])
        #expect(harness.texts.isEmpty)
    }

    @Test("while messages wait for a slow consumer the socket stops reading, and reads again once they are taken")
    func backpressure() async throws {
        let harness = try await Harness()
        let gate = Gate()
        harness.consume(gate: gate)
        for index in 0...ServerWebSocket.inboxLimit {  // the first is taken at once and waits at the gate
            try await harness.send(.text, "\(index)")
        }
        #expect(harness.socket.isReadingPaused)
        gate.release()
        try await eventually("every message is taken") { harness.texts.count == ServerWebSocket.inboxLimit + 1 }
        #expect(harness.texts == (0...ServerWebSocket.inboxLimit).map { "\($0)" })
        #expect(!harness.socket.isReadingPaused)
    }

    @Test("a client that half-closes its side is gone: the connection closes")
    func halfClose() async throws {
        let harness = try await Harness()
        harness.channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        try await eventually("the connection closes") { !harness.channel.isActive }
        #expect(harness.ends.withLock { $0 } == [.closed])
    }
}
