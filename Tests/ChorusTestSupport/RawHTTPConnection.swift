import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A response read by ``RawHTTPConnection``.
public struct RawHTTPResponse: Sendable, CustomStringConvertible {
    public var status: Int
    /// Header names in lower case.
    public var headers: [String: String]
    public var body: [UInt8]

    public var text: String { String(decoding: body, as: UTF8.self) }
    public var description: String { "\(status) \(headers) \(text.prefix(200))" }
}

/// An HTTP/1.1 client on a blocking POSIX socket that writes exactly the bytes a test gives it:
/// pipelined requests in one write, a head without its body, bodies in chunks, bytes that do
/// not parse. Reads have a 20 s timeout and run on a thread of their own (``offThePool``), as
/// ``RawWebSocket``'s do.
/// `@unchecked Sendable` is safe: a test uses a connection from one task, and that task waits
/// while the read runs on the other thread, so no two threads touch it at once.
public final class RawHTTPConnection: @unchecked Sendable {
    private let fd: Int32
    private var buffer: [UInt8] = []

    /// Connects to 127.0.0.1:`port`.
    public init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RawWebSocketError("socket() failed: \(errno)") }
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
    }

    deinit { close(fd) }

    /// Writes `text` as it is.
    public func write(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw RawWebSocketError("send() failed: \(errno)") }
            sent += n
        }
    }

    /// The next response: its head, and a body of its `Content-Length` (none if it has none).
    public func response() async throws -> RawHTTPResponse {
        try await offThePool { Result { try self.blockingResponse() } }.get()
    }

    /// The next response's head and the first `count` bytes of its body, for a body that does
    /// not end (server-sent events).
    public func head(andFirst count: Int) async throws -> RawHTTPResponse {
        try await offThePool {
            Result {
                var response = try self.blockingHead()
                response.body = try self.take(count)
                return response
            }
        }.get()
    }

    /// Whether the server closed the connection: reads until end of file and expects no more bytes.
    public func closedByServer() async throws -> Bool {
        try await offThePool {
            Result {
                guard self.buffer.isEmpty else { return false }
                var byte: UInt8 = 0
                let n = recv(self.fd, &byte, 1, 0)
                guard n >= 0 else { throw RawWebSocketError("recv() failed: \(errno)") }
                return n == 0
            }
        }.get()
    }

    private func blockingResponse() throws -> RawHTTPResponse {
        var response = try blockingHead()
        response.body = try take(Int(response.headers["content-length"] ?? "0") ?? 0)
        return response
    }

    private func blockingHead() throws -> RawHTTPResponse {
        while true {
            if let end = buffer.firstRange(of: Array("\r\n\r\n".utf8)) {
                let lines = String(decoding: buffer[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
                buffer.removeSubrange(..<end.upperBound)
                let statusLine = lines[0].split(separator: " ")
                guard statusLine.count >= 2, statusLine[0] == "HTTP/1.1", let status = Int(statusLine[1]) else {
                    throw RawWebSocketError("not a status line: \(lines[0])")
                }
                var headers: [String: String] = [:]
                for line in lines.dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                }
                return RawHTTPResponse(status: status, headers: headers, body: [])
            }
            try fill()
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
}
