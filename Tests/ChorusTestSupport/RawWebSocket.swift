#if canImport(Glibc)
import Glibc
#endif
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
    private let fd: Int32
    private var buffer: [UInt8] = []

    /// Connects to 127.0.0.1:`port`, upgrades `path`, and returns once the server answered 101.
    public init(port: Int, path: String, receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawWebSocketError("socket() failed: \(errno)") }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw RawWebSocketError("connect() failed: \(errno)")
        }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        try write(Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n".utf8))
        while true {
            if let end = buffer.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: buffer[..<end.lowerBound], as: UTF8.self)
                buffer.removeSubrange(..<end.upperBound)
                guard head.hasPrefix("HTTP/1.1 101") else { throw RawWebSocketError("upgrade refused: \(head)") }
                return
            }
            try fill()
        }
    }

    deinit { close(fd) }

    private func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw RawWebSocketError("send() failed: \(errno)") }
            sent += n
        }
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw RawWebSocketError("connection closed (recv \(n), errno \(errno))") }
        buffer += chunk[..<n]
    }

    private func take(_ count: Int) throws -> [UInt8] {
        while buffer.count < count { try fill() }
        defer { buffer.removeFirst(count) }
        return Array(buffer[..<count])
    }

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
