import ChorusTestSupport
import NIOCore
import NIOEmbedded
import NIOWebSocket
import Testing

@testable import ChorusGateway

/// Frames as NIO's own encoder and decoder see them: the reference the wire code is checked against.
enum NIOFrames {
    /// `frames` as NIO's encoder writes them (masked by it with their keys, if any).
    static func encode(_ frames: [WebSocketFrame]) throws -> ByteBuffer {
        let channel = EmbeddedChannel(handler: WebSocketFrameEncoder())
        defer { _ = try? channel.finish() }
        var bytes = ByteBuffer()
        for frame in frames {
            try channel.writeOutbound(frame)
            while var part = try channel.readOutbound(as: ByteBuffer.self) { bytes.writeBuffer(&part) }
        }
        return bytes
    }

    /// A client's frame: masked with a random key.
    static func client(_ opcode: WebSocketOpcode, _ payload: ByteBuffer, fin: Bool = true, rsv1: Bool = false) -> WebSocketFrame {
        WebSocketFrame(fin: fin, rsv1: rsv1, opcode: opcode, maskKey: .random(), data: payload)
    }

    /// The frames in `bytes`, as NIO's decoder reads them.
    static func decode(_ bytes: ByteBuffer) throws -> [WebSocketFrame] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 20)))
        defer { _ = try? channel.finish() }
        try channel.writeInbound(bytes)
        var frames: [WebSocketFrame] = []
        while let frame = try channel.readInbound(as: WebSocketFrame.self) { frames.append(frame) }
        return frames
    }
}

@Suite("WebSocket frames on the wire: the server's, and the client's read back")
struct WebSocketWireTests {
    @Test("one buffer of frames of every header size decodes, with NIO's decoder, to final unmasked frames with their payloads")
    func headerSizes() throws {
        let lengths = [0, 1, 125, 126, 127, 65_535, 65_536, 70_000]
        let opcodes: [WebSocketOpcode] = [.text, .binary, .ping, .pong, .connectionClose]
        var batch = ByteBuffer()
        for (index, length) in lengths.enumerated() {
            let opcode = opcodes[index % opcodes.count].isControlOpcode ? .text : opcodes[index % opcodes.count]
            WebSocketWire.append(ByteBuffer(repeating: UInt8(index), count: length), opcode: opcode, to: &batch)
        }
        for opcode in opcodes { WebSocketWire.append(ByteBuffer(string: "control"), opcode: opcode, to: &batch) }
        let frames = try NIOFrames.decode(batch)
        #expect(frames.count == lengths.count + opcodes.count)
        for (frame, (index, length)) in zip(frames, lengths.enumerated()) {
            #expect(frame.fin && frame.maskKey == nil && frame.rsv1 == false, "frame of \(length) bytes")
            #expect(frame.data == ByteBuffer(repeating: UInt8(index), count: length), "frame of \(length) bytes")
        }
        #expect(frames.suffix(opcodes.count).map(\.opcode) == opcodes)
        #expect(frames.suffix(opcodes.count).allSatisfy { String(buffer: $0.data) == "control" })
    }

    /// What a client sends in one trial: messages (some fragmented, with pings between their
    /// fragments) and the frames that carry them.
    struct Trial {
        var expected: [WebSocketWire.Frame] = []
        var frames: [WebSocketFrame] = []

        init(random: inout SeededRandom, messages: Int) {
            let lengths = [0, 1, 5, 125, 126, 200, 65_535, 65_536, 70_000]
            for index in 0..<messages {
                let length = random.chance(0.8) ? Int(random.next() % 300) : lengths[Int(random.next() % UInt64(lengths.count))]
                let payload = ByteBuffer(bytes: (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) })
                let opcode: WebSocketOpcode = random.chance(0.5) ? .text : .binary
                if random.chance(0.2) { control(.ping, "ping \(index)") }
                if length > 2, random.chance(0.3) {
                    // Fragments of at least one byte; control frames between them are read
                    // before the message they interrupt.
                    var cuts = Set((0...random.next() % 4).map { _ in Int(random.next() % UInt64(length - 1)) + 1 })
                    cuts.insert(length)
                    var start = 0
                    for (number, cut) in cuts.sorted().enumerated() {
                        let fragment = payload.getSlice(at: start, length: cut - start)!
                        frames.append(NIOFrames.client(number == 0 ? opcode : .continuation, fragment, fin: cut == length))
                        start = cut
                        if cut < length, random.chance(0.3) {
                            control(.pong, "")
                            control(.ping, "between")
                        }
                    }
                } else {
                    frames.append(NIOFrames.client(opcode, payload))
                }
                expected.append(.message(opcode == .text ? .text(payload) : .binary(payload)))
            }
        }

        private mutating func control(_ opcode: WebSocketOpcode, _ payload: String) {
            frames.append(NIOFrames.client(opcode, ByteBuffer(string: payload)))
            expected.append(opcode == .ping ? .ping(ByteBuffer(string: payload)) : .pong)
        }
    }

    @Test("messages of every size, some fragmented with control frames between, read back whole wherever the reads split the bytes", arguments: 1...20)
    func readsWhatNIOWrites(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        let trial = Trial(random: &random, messages: 40)
        var bytes = try NIOFrames.encode(trial.frames)
        var reader = WebSocketWire.Reader(maxMessageBytes: 1 << 20)
        var read: [WebSocketWire.Frame] = []
        while bytes.readableBytes > 0 {
            let size = random.chance(0.5) ? Int(random.next() % 16) + 1 : Int(random.next() % 4096) + 1
            reader.append(bytes.readSlice(length: min(size, bytes.readableBytes))!)
            while let frame = try reader.next() { read.append(frame) }
        }
        #expect(read.count == trial.expected.count)
        #expect(read == trial.expected)
    }

    /// Bytes a client must not send, and what they are.
    static let violations: [(String, [WebSocketFrame], WebSocketWire.Violation)] = [
        ("an unmasked frame", [WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: "hi"))], .protocolError),
        ("a reserved bit", [NIOFrames.client(.text, ByteBuffer(string: "hi"), rsv1: true)], .protocolError),
        ("reserved data opcode 0x3", [NIOFrames.client(WebSocketOpcode(encodedWebSocketOpcode: 0x3)!, ByteBuffer())], .protocolError),
        ("reserved control opcode 0xB", [NIOFrames.client(WebSocketOpcode(encodedWebSocketOpcode: 0xB)!, ByteBuffer())], .protocolError),
        ("a fragmented ping", [NIOFrames.client(.ping, ByteBuffer(string: "p"), fin: false)], .protocolError),
        ("a ping of 126 bytes", [NIOFrames.client(.ping, ByteBuffer(repeating: 1, count: 126))], .protocolError),
        ("a continuation with no message", [NIOFrames.client(.continuation, ByteBuffer(string: "x"))], .protocolError),
        (
            "a message inside a fragmented one",
            [NIOFrames.client(.text, ByteBuffer(string: "a"), fin: false), NIOFrames.client(.text, ByteBuffer(string: "b"))], .protocolError
        ),
        ("an empty fragment that is not the last", [NIOFrames.client(.text, ByteBuffer(), fin: false)], .protocolError),
        ("a frame over the limit", [NIOFrames.client(.binary, ByteBuffer(repeating: 1, count: 65))], .tooLarge),
        (
            "fragments over the limit together",
            [NIOFrames.client(.text, ByteBuffer(repeating: 65, count: 40), fin: false), NIOFrames.client(.continuation, ByteBuffer(repeating: 65, count: 25))],
            .tooLarge
        ),
        (
            "more fragments than allowed",
            [NIOFrames.client(.text, ByteBuffer(string: "a"), fin: false)] + (0..<4).map { _ in NIOFrames.client(.continuation, ByteBuffer(string: "a"), fin: false) },
            .protocolError
        ),
    ]

    @Test("what a client must not send is refused, and a frame over the limit as soon as its header arrives", arguments: 0..<violations.count)
    func refused(index: Int) throws {
        let (name, frames, violation) = Self.violations[index]
        var bytes = try NIOFrames.encode(frames)
        if violation == .tooLarge { bytes.moveWriterIndex(to: bytes.writerIndex - 1) }  // the payload is not all there
        var reader = WebSocketWire.Reader(maxMessageBytes: 64, maxFragments: 4)
        reader.append(bytes)
        #expect(throws: violation, "\(name)") {
            while try reader.next() != nil {}
        }
    }

    @Test("a 64-bit length with its top bit set is refused before anything else arrives")
    func lengthTopBit() throws {
        var bytes = ByteBuffer(bytes: [0x82, 0x80 | 127])
        bytes.writeInteger(UInt64(1) << 63)
        var reader = WebSocketWire.Reader(maxMessageBytes: 64)
        reader.append(bytes)
        #expect(throws: WebSocketWire.Violation.protocolError) { try reader.next() }
    }

    @Test("an incomplete frame waits for the rest; nothing is read twice")
    func incomplete() throws {
        let bytes = try NIOFrames.encode([NIOFrames.client(.text, ByteBuffer(string: "hello")), NIOFrames.client(.binary, ByteBuffer(string: "world"))])
        var reader = WebSocketWire.Reader(maxMessageBytes: 64)
        reader.append(bytes.getSlice(at: 0, length: 13)!)  // the first frame (11 bytes) and 2 of the second
        #expect(try reader.next() == .message(.text(ByteBuffer(string: "hello"))))
        #expect(try reader.next() == nil)
        reader.append(bytes.getSlice(at: 13, length: bytes.readableBytes - 13)!)
        #expect(try reader.next() == .message(.binary(ByteBuffer(string: "world"))))
        #expect(try reader.next() == nil)
    }
}

extension WebSocketWireTests {
    @Test("random bytes, read in random pieces, are frames or a violation: never a crash or a frame over the limit")
    func randomBytes() throws {
        var random = SeededRandom(seed: 7)
        for _ in 0..<2_000 {
            let length = Int(random.next() % 64)
            var bytes = ByteBuffer(bytes: (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) })
            // Mostly masked frames with small lengths, so that some parse.
            if length >= 2, random.chance(0.7) { bytes.setInteger(UInt8(0x80 | (random.next() % 40)), at: 1) }
            var reader = WebSocketWire.Reader(maxMessageBytes: 16, maxFragments: 3)
            do {
                while bytes.readableBytes > 0 {
                    reader.append(bytes.readSlice(length: min(Int(random.next() % 8) + 1, bytes.readableBytes))!)
                    while let frame = try reader.next() {
                        if case .message(.text(let payload)) = frame { #expect(payload.readableBytes <= 16) }
                        if case .message(.binary(let payload)) = frame { #expect(payload.readableBytes <= 16) }
                    }
                }
            } catch {
                // A violation: the socket closes.
            }
        }
    }
}
