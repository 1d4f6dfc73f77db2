import Foundation


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
    private let socket: RawSocket

    /// Connects to 127.0.0.1:`port`.
    public init(port: Int) throws {
        socket = try RawSocket(port: port)
    }

    /// Writes `text` as it is.
    public func write(_ text: String) throws {
        try socket.write(Array(text.utf8))
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
                response.body = try self.socket.take(count)
                return response
            }
        }.get()
    }

    /// Whether the server closed the connection: reads until end of file and expects no more bytes.
    public func closedByServer() async throws -> Bool {
        try await offThePool { Result { try self.socket.closedByServer() } }.get()
    }

    private func blockingResponse() throws -> RawHTTPResponse {
        var response = try blockingHead()
        response.body = try socket.take(Int(response.headers["content-length"] ?? "0") ?? 0)
        return response
    }

    private func blockingHead() throws -> RawHTTPResponse {
        while true {
            if let end = socket.buffer.firstRange(of: Array("\r\n\r\n".utf8)) {
                let lines = String(decoding: socket.buffer[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
                socket.buffer.removeSubrange(..<end.upperBound)
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
            try socket.fill()
        }
    }
}
