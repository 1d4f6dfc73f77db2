/// The few MQTT 3.1.1 packets the peer benchmark needs (CONNECT, SUBSCRIBE, PUBLISH at QoS 0/1, PINGREQ),
/// and a parser for what a broker sends back. Pure: bytes in, bytes out.
public enum MQTT {
    public enum PacketType: UInt8, Sendable {
        case connect = 1, connack, publish, puback, pubrec, pubrel, pubcomp, subscribe, suback
        case unsubscribe, unsuback, pingreq, pingresp, disconnect
    }

    /// One parsed packet: its type, the low four bits of its first byte, and its body.
    public struct Packet: Equatable, Sendable {
        public var type: PacketType
        public var flags: UInt8
        public var body: [UInt8]

        /// PUBLISH: the topic, packet id (QoS > 0) and payload.
        public var publish: (topic: String, packetID: UInt16?, payload: ArraySlice<UInt8>)? {
            guard type == .publish, body.count >= 2 else { return nil }
            let length = Int(body[0]) << 8 | Int(body[1])
            var offset = 2 + length
            guard offset <= body.count else { return nil }
            let topic = String(decoding: body[2..<offset], as: UTF8.self)
            var packetID: UInt16?
            if (flags >> 1) & 3 > 0 {
                guard offset + 2 <= body.count else { return nil }
                packetID = UInt16(body[offset]) << 8 | UInt16(body[offset + 1])
                offset += 2
            }
            return (topic, packetID, body[offset...])
        }

        /// The packet id of a PUBACK or SUBACK.
        public var packetID: UInt16? {
            guard type == .puback || type == .suback, body.count >= 2 else { return nil }
            return UInt16(body[0]) << 8 | UInt16(body[1])
        }
    }

    public struct ProtocolError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    public static func connect(clientID: String, keepAliveSeconds: UInt16 = 60) -> [UInt8] {
        var body = string("MQTT")
        body += [4, 0x02]  // protocol level 3.1.1; clean session
        body += [UInt8(keepAliveSeconds >> 8), UInt8(keepAliveSeconds & 0xFF)]
        body += string(clientID)
        return packet(0x10, body)
    }

    public static func subscribe(topic: String, packetID: UInt16, qos: UInt8 = 0) -> [UInt8] {
        packet(0x82, id(packetID) + string(topic) + [qos])
    }

    public static func publish(topic: String, payload: [UInt8], qos: UInt8 = 0, packetID: UInt16 = 0) -> [UInt8] {
        packet(0x30 | (qos << 1), string(topic) + (qos > 0 ? id(packetID) : []) + payload)
    }

    public static let pingreq: [UInt8] = [0xC0, 0]

    static func packet(_ first: UInt8, _ body: [UInt8]) -> [UInt8] {
        [first] + remainingLength(body.count) + body
    }

    static func remainingLength(_ value: Int) -> [UInt8] {
        var value = value
        var bytes: [UInt8] = []
        repeat {
            var byte = UInt8(value & 0x7F)
            value >>= 7
            if value > 0 { byte |= 0x80 }
            bytes.append(byte)
        } while value > 0
        return bytes
    }

    static func string(_ text: String) -> [UInt8] {
        let utf8 = Array(text.utf8)
        return [UInt8(utf8.count >> 8), UInt8(utf8.count & 0xFF)] + utf8
    }

    static func id(_ packetID: UInt16) -> [UInt8] { [UInt8(packetID >> 8), UInt8(packetID & 0xFF)] }

    /// Splits a byte stream (WebSocket frames may split or join packets) into packets.
    public struct Parser: Sendable {
        private var buffer: [UInt8] = []
        private var start = 0
        /// Packets larger than this are refused as a protocol error.
        public let maxPacketSize: Int

        public init(maxPacketSize: Int = 1 << 20) { self.maxPacketSize = maxPacketSize }

        public mutating func append(_ bytes: some Sequence<UInt8>) {
            if start > 4096, start * 2 > buffer.count {
                buffer.removeFirst(start)
                start = 0
            }
            buffer.append(contentsOf: bytes)
        }

        /// The next whole packet, nil if more bytes are needed.
        public mutating func next() throws(ProtocolError) -> Packet? {
            guard buffer.count - start >= 2 else { return nil }
            var length = 0
            var shift = 0
            var index = start + 1
            while true {
                guard index < buffer.count else { return nil }
                let byte = buffer[index]
                length |= Int(byte & 0x7F) << shift
                index += 1
                if byte & 0x80 == 0 { break }
                shift += 7
                guard shift < 28 else { throw ProtocolError(description: "remaining length longer than 4 bytes") }
            }
            guard length <= maxPacketSize else { throw ProtocolError(description: "packet of \(length) bytes is over the limit") }
            guard buffer.count - index >= length else { return nil }
            guard let type = PacketType(rawValue: buffer[start] >> 4) else {
                throw ProtocolError(description: "unknown packet type \(buffer[start] >> 4)")
            }
            let packet = Packet(type: type, flags: buffer[start] & 0x0F, body: Array(buffer[index..<(index + length)]))
            start = index + length
            return packet
        }
    }
}
