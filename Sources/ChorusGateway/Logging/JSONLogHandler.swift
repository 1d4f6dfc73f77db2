import Foundation
import Logging

/// A `LogHandler` that writes one JSON object per line (`--log-format json`), for log shippers.
///
/// Keys: `time` (RFC 3339, UTC, milliseconds), `level`, `label`, `message`, then every metadata
/// key as given (`"request.id"`, `"http.status"`, …), values as strings. Each line is written
/// with one `write` call, so lines from several threads never interleave.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let write: @Sendable (String) -> Void

    /// A handler for `label` that writes lines to standard error.
    public static func standardError(label: String) -> JSONLogHandler {
        JSONLogHandler(label: label) { line in FileHandle.standardError.write(Data(line.utf8)) }
    }

    /// A handler for `label` that hands each finished line (with its newline) to `write`.
    public init(label: String, write: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { $1 } }
        if let explicit = event.metadata { fields.merge(explicit) { $1 } }
        if let error = event.error { fields["error"] = "\(error)" }
        var text = "{\"time\":\"\(Date().formatted(Self.timeFormat))\",\"level\":\"\(event.level)\",\"label\":"
        Self.appendString(label, to: &text)
        text += ",\"message\":"
        Self.appendString(event.message.description, to: &text)
        for key in fields.keys.sorted() where !["time", "level", "label", "message"].contains(key) {
            text += ","
            Self.appendString(key, to: &text)
            text += ":"
            Self.appendString(fields[key]!.description, to: &text)
        }
        text += "}\n"
        write(text)
    }

    private static let timeFormat = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// Appends `value` as a JSON string literal (quotes, backslashes and control characters escaped).
    static func appendString(_ value: String, to text: inout String) {
        text.append("\"")
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text.append("\\\"")
            case "\\": text.append("\\\\")
            case "\n": text.append("\\n")
            case "\r": text.append("\\r")
            case "\t": text.append("\\t")
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
            default: text.unicodeScalars.append(scalar)
            }
        }
        text.append("\"")
    }
}
