/// Frames on the cluster transport: a 4-byte big-endian length, then that many bytes (a kind byte
/// and the envelope's fields). ``WireFrameDecoder`` is pure and takes bytes in any split.
extension Wire.Envelope {
    private enum Kind: UInt8 {
        case hello = 1, proof, welcome, refused, call, reply, ping, pong
    }

    private enum ReplyKind: UInt8 {
        case value = 0, void, error
    }

    /// The frame of this envelope, length prefix included.
    public func frame() -> [UInt8] {
        var body: [UInt8] = [0, 0, 0, 0]  // the length, filled in at the end
        switch self {
        case .hello(let hello):
            body.append(Kind.hello.rawValue)
            Varint.writeString(hello.cluster, to: &body)
            Varint.write(UInt64(hello.version), to: &body)
            Varint.writeString(hello.node, to: &body)
            Varint.writeBytes(hello.nonce, to: &body)
        case .proof(let mac):
            body.append(Kind.proof.rawValue)
            Varint.writeBytes(mac, to: &body)
        case .welcome:
            body.append(Kind.welcome.rawValue)
        case .ping:
            body.append(Kind.ping.rawValue)
        case .pong:
            body.append(Kind.pong.rawValue)
        case .refused(let reason):
            body.append(Kind.refused.rawValue)
            Varint.writeString(reason, to: &body)
        case .call(let call):
            body.append(Kind.call.rawValue)
            Varint.write(call.id, to: &body)
            Varint.writeString(call.recipientKind, to: &body)
            Varint.writeString(call.recipientKey, to: &body)
            Varint.writeString(call.target, to: &body)
            Varint.write(UInt64(call.genericSubstitutions.count), to: &body)
            for name in call.genericSubstitutions { Varint.writeString(name, to: &body) }
            Varint.write(UInt64(call.arguments.count), to: &body)
            for argument in call.arguments { Varint.writeBytes(argument, to: &body) }
            Varint.write(call.timeoutMilliseconds, to: &body)
            Varint.write(call.epoch, to: &body)
        case .reply(let reply):
            body.append(Kind.reply.rawValue)
            Varint.write(reply.id, to: &body)
            switch reply.result {
            case .value(let bytes):
                body.append(ReplyKind.value.rawValue)
                Varint.writeBytes(bytes, to: &body)
            case .void:
                body.append(ReplyKind.void.rawValue)
            case .error(let error):
                body.append(ReplyKind.error.rawValue)
                Varint.writeString(error.domain, to: &body)
                Varint.writeBytes(error.payload, to: &body)
            }
        }
        let length = UInt32(body.count - 4)
        body[0] = UInt8(length >> 24)
        body[1] = UInt8(length >> 16 & 0xFF)
        body[2] = UInt8(length >> 8 & 0xFF)
        body[3] = UInt8(length & 0xFF)
        return body
    }

    /// Decodes a frame body (without the length prefix).
    static func decode(body: [UInt8]) throws(WireError) -> Wire.Envelope {
        var reader = ByteReader(body)
        guard let kind = Kind(rawValue: try reader.readByte()) else { throw WireError(.malformed, "unknown frame kind") }
        let envelope: Wire.Envelope
        switch kind {
        case .hello:
            let cluster = try reader.readString()
            let version = try reader.readVarint()
            guard version <= UInt64(UInt16.max) else { throw WireError(.malformed, "bad protocol version") }
            envelope = .hello(Wire.Hello(cluster: cluster, version: UInt16(version), node: try reader.readString(), nonce: try reader.readByteArray()))
        case .proof:
            envelope = .proof(try reader.readByteArray())
        case .welcome:
            envelope = .welcome
        case .ping:
            envelope = .ping
        case .pong:
            envelope = .pong
        case .refused:
            envelope = .refused(try reader.readString())
        case .call:
            let id = try reader.readVarint()
            let kind = try reader.readString()
            let key = try reader.readString()
            let target = try reader.readString()
            var substitutions: [String] = []
            for _ in 0..<(try reader.readCount()) { substitutions.append(try reader.readString()) }
            var arguments: [[UInt8]] = []
            for _ in 0..<(try reader.readCount()) { arguments.append(try reader.readByteArray()) }
            envelope = .call(
                Wire.Call(
                    id: id, recipientKind: kind, recipientKey: key, target: target, genericSubstitutions: substitutions, arguments: arguments,
                    timeoutMilliseconds: try reader.readVarint(), epoch: try reader.readVarint()))
        case .reply:
            let id = try reader.readVarint()
            let result: Wire.Reply.Result
            switch ReplyKind(rawValue: try reader.readByte()) {
            case .value: result = .value(try reader.readByteArray())
            case .void: result = .void
            case .error: result = .error(Wire.RemoteError(domain: try reader.readString(), payload: try reader.readByteArray()))
            case nil: throw WireError(.malformed, "unknown reply kind")
            }
            envelope = .reply(Wire.Reply(id: id, result: result))
        }
        guard reader.isAtEnd else { throw WireError(.malformed, "trailing bytes in a frame") }
        return envelope
    }
}

/// Cuts a byte stream into envelopes. Pure: feed it bytes in any split; it never reads past a
/// frame's end, refuses a frame over `maxFrameBytes` before buffering it, and throws on bytes that
/// do not decode (the connection is then closed).
public struct WireFrameDecoder: Sendable {
    public let maxFrameBytes: Int
    private var buffer: [UInt8] = []
    private var start = 0

    public init(maxFrameBytes: Int = Wire.defaultMaxFrameBytes) {
        self.maxFrameBytes = maxFrameBytes
    }

    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0 && start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete envelope, or `nil` if more bytes are needed.
    public mutating func next() throws(WireError) -> Wire.Envelope? {
        guard buffer.count - start >= 4 else { return nil }
        let length = Int(buffer[start]) << 24 | Int(buffer[start + 1]) << 16 | Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
        guard length <= maxFrameBytes else { throw WireError(.tooLarge, "frame of \(length) bytes exceeds the \(maxFrameBytes)-byte limit") }
        guard length >= 1 else { throw WireError(.malformed, "empty frame") }
        guard buffer.count - start >= 4 + length else { return nil }
        let body = Array(buffer[(start + 4)..<(start + 4 + length)])
        start += 4 + length
        if start > 1 << 16 && start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        return try Wire.Envelope.decode(body: body)
    }
}
