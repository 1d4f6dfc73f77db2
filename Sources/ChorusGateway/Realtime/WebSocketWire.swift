import NIOCore
import NIOWebSocket

/// WebSocket frames on the wire (RFC 6455, section 5), as a server reads and writes them: the
/// socket's one handler (``ServerWebSocket/Handler``) reads client frames with ``Reader`` and
/// writes its own frames with ``append(_:opcode:to:)``, so a socket's pipeline holds no frame
/// decoder, encoder or aggregator. (Public for the micro benchmarks.)
public enum WebSocketWire {
    /// A server frame's largest header: two bytes, plus eight for a payload of 64 KiB or more.
    public static let maxHeaderBytes = 10

    /// Appends `payload` as one final, unmasked frame (a server's frames are never masked).
    public static func append(_ payload: ByteBuffer, opcode: WebSocketOpcode = .text, to buffer: inout ByteBuffer) {
        let length = payload.readableBytes
        buffer.writeInteger(0x80 | UInt8(webSocketOpcode: opcode))  // FIN
        if length < 126 {
            buffer.writeInteger(UInt8(length))
        } else if length <= Int(UInt16.max) {
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(length))
        } else {
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(length))
        }
        var payload = payload
        buffer.writeBuffer(&payload)
    }

    /// A whole message from a client, its fragments joined.
    public enum Message: Sendable, Equatable {
        case text(ByteBuffer)
        case binary(ByteBuffer)
    }

    /// What a client sent: a whole message or a control frame.
    public enum Frame: Equatable, Sendable {
        case message(Message)
        case ping(ByteBuffer)
        case pong
        case close(ByteBuffer)
    }

    /// Why the client's bytes cannot be read further.
    public enum Violation: Error, Equatable {
        /// A frame or message over the limit (close with 1009).
        case tooLarge
        /// Anything else RFC 6455 forbids a client (close with 1002).
        case protocolError
    }

    /// Client frames from the socket's bytes, as they arrive.
    ///
    /// Bytes are taken in by ``append(_:)`` and whole frames handed out by ``next()``. A frame
    /// that has not fully arrived waits in a buffer of its own (so the channel's receive buffer
    /// is not held), and an idle reader holds no buffer at all. It refuses what a server must:
    /// unmasked frames, reserved bits (no extension is negotiated), reserved opcodes, control
    /// frames that are fragmented or longer than 125 bytes, continuations out of place, and
    /// messages over `maxMessageBytes` (checked from the header, before the payload arrives).
    public struct Reader {
        public let maxMessageBytes: Int
        /// Fragments a message may have (an empty one that is not the last is refused too).
        public let maxFragments: Int
        /// Bytes not yet read.
        private var pending: ByteBuffer?
        /// Whether `pending` is the caller's buffer (a slice of the receive buffer) or a copy.
        private var pendingIsCopy = false
        /// The message whose fragments arrive: its opcode, its payload so far and its fragment count.
        private var partial: (opcode: WebSocketOpcode, payload: ByteBuffer, fragments: Int)?

        public init(maxMessageBytes: Int, maxFragments: Int = 256) {
            self.maxMessageBytes = maxMessageBytes
            self.maxFragments = maxFragments
        }

        /// Takes the bytes a read delivered.
        public mutating func append(_ bytes: ByteBuffer) {
            guard bytes.readableBytes > 0 else { return }
            if pending == nil {
                pending = bytes
                pendingIsCopy = false
            } else {
                var bytes = bytes
                pending!.writeBuffer(&bytes)
                pendingIsCopy = true  // the write copied (or grew our own copy)
            }
        }

        /// The next whole frame or message, or nil until more bytes arrive. After a violation the
        /// reader must not be used again.
        public mutating func next() throws(Violation) -> Frame? {
            while var buffer = pending {
                guard let frame = try Self.readFrame(from: &buffer, limit: maxMessageBytes, fragmentsSoFar: partial?.payload.readableBytes ?? 0) else {
                    keep(buffer)
                    return nil
                }
                keep(buffer)
                if let result = try assemble(frame) { return result }
            }
            return nil
        }

        /// Keeps what `buffer` has left: nothing, or a copy of an incomplete frame.
        private mutating func keep(_ buffer: ByteBuffer) {
            if buffer.readableBytes == 0 {
                pending = nil
            } else if pendingIsCopy {
                pending = buffer
            } else {
                var copy = ByteBufferAllocator().buffer(capacity: buffer.readableBytes)
                var rest = buffer
                copy.writeBuffer(&rest)
                pending = copy
                pendingIsCopy = true
            }
        }

        /// A frame as it was on the wire, unmasked.
        private struct RawFrame {
            var fin: Bool
            var opcode: WebSocketOpcode
            var payload: ByteBuffer
        }

        /// Reads one frame from `buffer`, or nothing (and leaves it as it was) if it is incomplete.
        /// A data frame longer than `limit` (with the `fragmentsSoFar` bytes of its message, for a
        /// continuation) is refused from its header.
        private static func readFrame(from buffer: inout ByteBuffer, limit: Int, fragmentsSoFar: Int) throws(Violation) -> RawFrame? {
            guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
                let second = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self)
            else { return nil }
            guard first & 0x70 == 0 else { throw .protocolError }  // RSV1-3: no extension was negotiated
            guard second & 0x80 != 0 else { throw .protocolError }  // a client's frames are masked
            let fin = first & 0x80 != 0
            let opcode = try decodeOpcode(first & 0x0F, fin: fin)
            var offset = buffer.readerIndex + 2
            var length = UInt64(second & 0x7F)
            if length == 126 {
                guard let extended = buffer.getInteger(at: offset, as: UInt16.self) else { return nil }
                length = UInt64(extended)
                offset += 2
            } else if length == 127 {
                guard let extended = buffer.getInteger(at: offset, as: UInt64.self) else { return nil }
                guard extended >> 63 == 0 else { throw .protocolError }
                length = extended
                offset += 8
            }
            if opcode.isControlOpcode, length > 125 { throw .protocolError }
            guard length <= UInt64(limit - (opcode == .continuation ? fragmentsSoFar : 0)) else { throw .tooLarge }
            guard let key = buffer.viewBytes(at: offset, length: 4).flatMap(WebSocketMaskingKey.init),
                let masked = buffer.getSlice(at: offset + 4, length: Int(length))
            else { return nil }
            var payload = ByteBufferAllocator().buffer(capacity: masked.readableBytes)
            payload.writeImmutableBuffer(masked)
            payload.webSocketUnmask(key)
            buffer.moveReaderIndex(to: offset + 4 + Int(length))
            return RawFrame(fin: fin, opcode: opcode, payload: payload)
        }

        private static func decodeOpcode(_ code: UInt8, fin: Bool) throws(Violation) -> WebSocketOpcode {
            switch code {
            case 0x0: return .continuation
            case 0x1: return .text
            case 0x2: return .binary
            case 0x8, 0x9, 0xA:
                guard fin else { throw .protocolError }  // control frames are never fragmented
                return WebSocketOpcode(encodedWebSocketOpcode: code)!
            default: throw .protocolError  // reserved
            }
        }

        /// A control frame or a whole message; nil while a message's fragments arrive.
        private mutating func assemble(_ frame: RawFrame) throws(Violation) -> Frame? {
            switch frame.opcode {
            case .ping: return .ping(frame.payload)
            case .pong: return .pong
            case .connectionClose: return .close(frame.payload)
            case .continuation:
                guard var message = partial else { throw .protocolError }  // nothing to continue
                partial = nil
                guard frame.fin || frame.payload.readableBytes > 0, message.fragments < maxFragments else { throw .protocolError }
                var payload = frame.payload
                message.payload.writeBuffer(&payload)
                message.fragments += 1
                guard frame.fin else {
                    partial = message
                    return nil
                }
                return .message(Self.message(message.opcode, message.payload))
            default:  // text or binary
                guard partial == nil else { throw .protocolError }  // a new message inside a fragmented one
                guard frame.fin else {
                    guard frame.payload.readableBytes > 0 else { throw .protocolError }
                    partial = (frame.opcode, frame.payload, 1)
                    return nil
                }
                return .message(Self.message(frame.opcode, frame.payload))
            }
        }

        private static func message(_ opcode: WebSocketOpcode, _ payload: ByteBuffer) -> Message {
            opcode == .text ? .text(payload) : .binary(payload)
        }
    }
}
