import ChorusModel
import Foundation
import Hummingbird
import NIOCore
import NIOFoundationCompat

/// Reading request bodies and writing JSON responses.
enum JSONBody {
    /// Decodes the request body as `T`; every failure is `INVALID_REQUEST` (or `PAYLOAD_TOO_LARGE`) with the offending field.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        try decode(T.self, from: try await body(of: request, limit: limit))
    }

    /// The same, for a body that is usually a flat object of strings (a send's): read without
    /// `JSONDecoder` when it is one (``FastJSONDecodable``).
    static func decode<T: FastJSONDecodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        let buffer = try await body(of: request, limit: limit)
        return try fast(T.self, from: buffer) ?? decode(T.self, from: buffer)
    }

    /// `buffer` read by ChorusModel's JSON parser (RFC 8259, as Foundation reads it) and
    /// `T(strings:)`; `nil` unless it is an object of strings and nulls that `T` takes.
    static func fast<T: FastJSONDecodable>(_ type: T.Type, from buffer: ByteBuffer) -> T? {
        guard case .object(let members)? = try? JSONValue.parse(buffer.readableBytesView) else { return nil }
        var strings: [String: String] = [:]
        for (key, value) in members {
            switch value {
            case .string(let text): strings[key] = text
            case .null: continue
            default: return nil
            }
        }
        return T(strings: strings)
    }

    /// The request's body: not empty, and at most `limit` bytes.
    private static func body(of request: Request, limit: Int) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw ChatError(.payloadTooLarge, "request body is \(length) bytes; the limit is \(limit)")
        }
        let buffer = try await request.body.collect(upTo: limit)
        guard buffer.readableBytes > 0 else {
            throw ChatError(.invalidRequest, "request body must be a JSON object")
        }
        return buffer
    }

    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: buffer)
        } catch let error as DecodingError {
            throw ChatError(.invalidRequest, describe(error))
        }
    }

    /// Sorted keys make responses byte-stable; slashes stay unescaped so URLs read as URLs.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// A JSON response.
    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// An empty 204 response.
    static var noContent: Response { Response(status: .noContent) }
}

/// A request body that is usually a flat JSON object of strings — a message send's — decoded
/// from ChorusModel's `JSONValue` parse instead of Foundation's `JSONDecoder`, which was ~5 µs of
/// a durable send's CPU (docs/benchmarks.md, "REST requests"). The parser reads strings,
/// escapes, UTF-8 and duplicate keys as Foundation does.
///
/// Only objects whose members are all strings or `null` take this path: a nested value or a
/// number (whose accepted spellings need not be Foundation's) goes to `JSONDecoder`.
protocol FastJSONDecodable: Decodable {
    /// The value of an object's string members (a `null` member is left out, as if absent);
    /// `nil` leaves the body to `JSONDecoder`, which then words the error as always.
    init?(strings: [String: String])
}
