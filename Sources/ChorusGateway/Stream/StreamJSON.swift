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

    static func rfc3339(_ t: Timestamp) -> String {
        let millis = t.milliseconds
        let seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
        let fraction = millis - seconds * 1000
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secondOfDay = seconds - days * 86400
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):"
            + "\(pad(secondOfDay % 60, 2)).\(pad(fraction, 3))Z"
    }

    /// The proleptic Gregorian date of a day count from 1970-01-01 (Howard Hinnant's algorithm).
    static func civilDate(daysSinceEpoch: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
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
