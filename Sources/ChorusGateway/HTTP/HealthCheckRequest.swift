/// A health check read from the start of a connection's bytes, before NIO's HTTP/1 decoder
/// (``HealthCheckHandler``).
///
/// Only the plainest form is one: `GET /healthz` or `GET /readyz` (with or without a trailing
/// slash and a query) in origin form, `HTTP/1.1`, header lines that are each `name: value` with a
/// token for the name and no control characters in the value, and the blank line, all within
/// ``maxBytes``. A request with a body's framing (`Content-Length`, `Transfer-Encoding`), an
/// `Upgrade` or an `Expect`, and anything unusual (a folded line, a bare LF, a space before the
/// colon) is not one: it goes to the decoder, whose answer stays the reference. So does a check
/// that has not all arrived yet.
struct HealthCheckRequest: Equatable {
    var check: HealthCheckHandler.Check
    /// The caller's `X-Request-Id`, unchecked (``APIErrorMiddleware/requestID(given:)`` checks it).
    var requestID: String?
    /// It asked to close the connection (`Connection: close`).
    var close = false
    /// Its bytes, request line to blank line.
    var length: Int

    /// Longer requests go to the decoder (whose limits apply to them).
    static let maxBytes = 4096

    /// The check at the start of `bytes`, if the whole of one is there.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> HealthCheckRequest? {
        var reader = Reader(bytes: UnsafeRawBufferPointer(rebasing: bytes.prefix(maxBytes)))
        guard reader.skip("GET "), let check = check(target: reader.take(upTo: UInt8(ascii: " "))), reader.skip(" HTTP/1.1\r\n") else {
            return nil
        }
        var request = HealthCheckRequest(check: check, length: 0)
        while let line = reader.line() {
            if line.isEmpty {
                request.length = reader.offset
                return request
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else { return nil }
            let name = line[..<colon]
            let value = trimmed(line[(colon + 1)...])
            guard name.allSatisfy(isTokenByte), value.allSatisfy(isValueByte) else { return nil }
            if equalsLowercased(name, "content-length") || equalsLowercased(name, "transfer-encoding") || equalsLowercased(name, "upgrade")
                || equalsLowercased(name, "expect")
            {
                return nil
            } else if equalsLowercased(name, "connection") {
                request.close = request.close || value.split(separator: UInt8(ascii: ",")).contains { equalsLowercased(trimmed($0), "close") }
            } else if equalsLowercased(name, "x-request-id"), request.requestID == nil {
                request.requestID = String(decoding: value, as: UTF8.self)
            }
        }
        return nil  // the blank line has not arrived (or the head is longer than maxBytes)
    }

    /// The check an origin-form target names: the path, then at most one `/`, then a query.
    static func check(target: UnsafeRawBufferPointer.SubSequence) -> HealthCheckHandler.Check? {
        guard target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        var path = target.split(separator: UInt8(ascii: "?"), maxSplits: 1, omittingEmptySubsequences: false)[0]
        if path.count > 1, path.last == UInt8(ascii: "/") { path = path.dropLast() }
        if path.elementsEqual("/healthz".utf8) { return .alive }
        if path.elementsEqual("/readyz".utf8) { return .ready }
        return nil
    }

    /// RFC 9110's `tchar`.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        default: "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// A field value's bytes: visible ASCII, space, tab and (opaque) bytes above ASCII.
    static func isValueByte(_ byte: UInt8) -> Bool {
        byte == 0x09 || (byte >= 0x20 && byte != 0x7F)
    }

    static func trimmed(_ bytes: UnsafeRawBufferPointer.SubSequence) -> UnsafeRawBufferPointer.SubSequence {
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }), let last = bytes.lastIndex(where: { !isSpace($0) }) else {
            return bytes[bytes.endIndex...]
        }
        return bytes[first...last]
    }

    /// `bytes` spell `lowercase`, ignoring ASCII case (`lowercase` is lowercase already).
    static func equalsLowercased(_ bytes: UnsafeRawBufferPointer.SubSequence, _ lowercase: StaticString) -> Bool {
        bytes.count == lowercase.utf8CodeUnitCount
            && zip(bytes, UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)).allSatisfy { byte, expected in
                (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 0x20 : byte) == expected
            }
    }

    /// A cursor over the request's bytes.
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0

        /// Steps over `literal` if the bytes start with it here.
        mutating func skip(_ literal: StaticString) -> Bool {
            let literal = UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
            guard bytes[offset...].starts(with: literal) else { return false }
            offset += literal.count
            return true
        }

        /// The bytes before the next `delimiter` (or to the end), without stepping over it.
        mutating func take(upTo delimiter: UInt8) -> UnsafeRawBufferPointer.SubSequence {
            let end = bytes[offset...].firstIndex(of: delimiter) ?? bytes.endIndex
            defer { offset = end }
            return bytes[offset..<end]
        }

        /// The next line without its CRLF, stepping over both; `nil` if no CRLF ends it, or it
        /// has a bare CR or LF.
        mutating func line() -> UnsafeRawBufferPointer.SubSequence? {
            guard let end = bytes[offset...].firstIndex(of: UInt8(ascii: "\n")), end > offset, bytes[end - 1] == UInt8(ascii: "\r") else {
                return nil
            }
            let line = bytes[offset..<(end - 1)]
            guard !line.contains(UInt8(ascii: "\r")) else { return nil }
            offset = end + 1
            return line
        }
    }
}
