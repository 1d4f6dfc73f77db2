import ChorusModel
import Foundation
import Hummingbird
import NIOCore

/// Writing the Stream-compatible API's JSON: objects built as ``JSONValue`` (custom fields sit
/// beside built-in ones), RFC 3339 timestamps, and `duration` on every response.
enum StreamJSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    /// A JSON response with `duration` (the time since `context`'s request started) added.
    static func response(_ object: [String: JSONValue], status: HTTPResponse.Status = .ok, context: ChorusRequestContext) throws -> Response {
        var object = object
        object["duration"] = .string(context.streamDuration)
        return try response(body: .object(object), status: status, context: context)
    }

    /// `body` as JSON, compressed if the client asked for it.
    static func response(body: JSONValue, status: HTTPResponse.Status, context: ChorusRequestContext) throws -> Response {
        let data = try encoder.encode(body)
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        let bytes = StreamCompression.encode(ByteBuffer(bytes: data), acceptEncoding: context.streamAcceptEncoding, headers: &headers)
        return Response(status: status, headers: headers, body: .init(byteBuffer: bytes))
    }

    /// `t` as RFC 3339 in UTC with milliseconds, the form Stream's responses use
    /// (`2026-12-01T10:00:00.123Z`).
    static func time(_ t: Timestamp) -> JSONValue { .string(rfc3339(t)) }

    static func rfc3339(_ t: Timestamp) -> String { t.rfc3339 }
}

extension ChorusRequestContext {
    /// Milliseconds since the request reached the Stream middleware, as Stream writes it (`"3.21ms"`).
    var streamDuration: String {
        guard let started = streamStarted else { return "0.00ms" }
        let elapsed = ContinuousClock.now - started
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        let hundredths = micros / 10
        let fraction = String(hundredths % 100)
        return "\(hundredths / 100)." + String(repeating: "0", count: 2 - fraction.count) + fraction + "ms"
    }
}
