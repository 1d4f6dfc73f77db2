#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP connection to 127.0.0.1 and the bytes read ahead on it: what ``RawWebSocket``
/// and ``RawHTTPConnection`` share. Reads time out after 20 s. Not `Sendable` itself: each owner
/// says why its use is safe.
final class RawSocket {
    let fd: Int32
    /// Bytes read and not yet taken.
    var buffer: [UInt8] = []

    /// Connects to 127.0.0.1:`port`, with a receive buffer of `receiveBuffer` bytes if given.
    init(port: Int, receiveBuffer: Int32? = nil) throws {
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
    }

    deinit { close(fd) }

    func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw RawWebSocketError("send() failed: \(errno)") }
            sent += n
        }
    }

    /// Reads what the server sent next into ``buffer``; throws at end of file or timeout.
    func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw RawWebSocketError("connection closed (recv \(n), errno \(errno))") }
        buffer += chunk[..<n]
    }

    func take(_ count: Int) throws -> [UInt8] {
        while buffer.count < count { try fill() }
        defer { buffer.removeFirst(count) }
        return Array(buffer[..<count])
    }

    /// Whether the server closed the connection with nothing more unread.
    func closedByServer() throws -> Bool {
        guard buffer.isEmpty else { return false }
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, 0)
        guard n >= 0 else { throw RawWebSocketError("recv() failed: \(errno)") }
        return n == 0
    }
}
