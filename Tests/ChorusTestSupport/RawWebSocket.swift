import Foundation

/// A failure of ``RawWebSocket``.
public struct RawWebSocketError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// A bare WebSocket client on a blocking POSIX socket: it can connect with a tiny receive buffer
/// and then never read, which a full client library would not allow (slow-consumer tests), and
/// that reads every byte the server sends right after the upgrade response.
///
/// Its reads wait for the server, so they run on a thread of their own (``offThePool``): a read
/// blocking one of the few threads of Swift's cooperative pool would stall the in-process server
/// it waits for (and every other test) until the socket's 20 s receive timeout.
/// `@unchecked Sendable` is safe: a test uses a socket from one task, and that task waits while
/// the socket's read runs on the other thread, so no two threads touch it at once.
public final class RawWebSocket: @unchecked Sendable {
    private let socket: RawSocket

    /// Connects to 127.0.0.1:`port`, upgrades `path`, and returns once the server answered 101.
    public init(port: Int, path: String, receiveBuffer: Int32? = nil) throws {
        socket = try RawSocket(port: port, receiveBuffer: receiveBuffer)
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        try socket.write(Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n".utf8))
        while true {
            if let end = socket.buffer.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: socket.buffer[..<end.lowerBound], as: UTF8.self)
                socket.buffer.removeSubrange(..<end.upperBound)
                guard head.hasPrefix("HTTP/1.1 101") else { throw RawWebSocketError("upgrade refused: \(head)") }
                return
            }
            try socket.fill()
        }
    }

    private func write(_ bytes: [UInt8]) throws { try socket.write(bytes) }
    private func take(_ count: Int) throws -> [UInt8] { try socket.take(count) }

    /// Sends a masked text frame.
    public func sendText(_ text: String) throws {
        let payload = Array(text.utf8)
        precondition(payload.count < 126)
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        try write([0x81, 0x80 | UInt8(payload.count)] + mask + payload.enumerated().map { $0.element ^ mask[$0.offset % 4] })
    }

    /// The next frame: its opcode and payload.
    private func nextFrame() throws -> (opcode: UInt8, payload: [UInt8]) {
        let header = try take(2)
        var length = Int(header[1] & 0x7F)
        if length == 126 {
            length = try take(2).reduce(0) { $0 << 8 | Int($1) }
        } else if length == 127 {
            length = try take(8).reduce(0) { $0 << 8 | Int($1) }
        }
        return (header[0] & 0x0F, try take(length))
    }

    /// The next text frame; `nil` at a close frame. Pings are not answered.
    public func nextText() async throws -> String? {
        try await offThePool { Result { try self.blockingNextText() } }.get()
    }

    private func blockingNextText() throws -> String? {
        while true {
            let (opcode, payload) = try nextFrame()
            switch opcode {
            case 0x8: return nil
            case 0x1: return String(decoding: payload, as: UTF8.self)
            default: continue
            }
        }
    }

    /// Reads frames until a close frame; returns its code (`nil` if it has none). Text frames are
    /// collected into `texts`; pings are not answered.
    public func readUntilClose(texts: inout [String]) async throws -> UInt16? {
        let (code, read) = try await offThePool { Result { try self.blockingReadUntilClose() } }.get()
        texts += read
        return code
    }

    private func blockingReadUntilClose() throws -> (UInt16?, [String]) {
        var texts: [String] = []
        while true {
            let (opcode, payload) = try nextFrame()
            switch opcode {
            case 0x8: return (payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil, texts)
            case 0x1: texts.append(String(decoding: payload, as: UTF8.self))
            default: continue
            }
        }
    }
}
