/// A channel's identifier: a 64-bit time-ordered snowflake, rendered as a decimal string on the API.
public struct ChannelID: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible, LosslessStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Parses a decimal string; `nil` for anything else (signs, spaces, overflow).
    public init?(_ description: String) {
        guard let value = parseDecimalID(description) else { return nil }
        self.rawValue = value
    }

    public var description: String { String(rawValue) }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        self.rawValue = try decodeDecimalID(from: decoder, kind: "channel id")
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A message's identifier: a 64-bit time-ordered snowflake, rendered as a decimal string on the API.
public struct MessageID: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible, LosslessStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Parses a decimal string; `nil` for anything else (signs, spaces, overflow).
    public init?(_ description: String) {
        guard let value = parseDecimalID(description) else { return nil }
        self.rawValue = value
    }

    public var description: String { String(rawValue) }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        self.rawValue = try decodeDecimalID(from: decoder, kind: "message id")
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A user's identifier: 1–64 characters from `[A-Za-z0-9_.@-]`, chosen by the integrating application.
public struct UserID: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// The longest user id accepted.
    public static let maxLength = 64

    public let rawValue: String

    /// Validates `rawValue`; `nil` when it is empty, too long or has a character outside `[A-Za-z0-9_.@-]`.
    public init?(_ rawValue: String) {
        guard Self.isValid(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    /// Whether `value` is a well-formed user id.
    public static func isValid(_ value: String) -> Bool {
        let bytes = value.utf8
        guard !bytes.isEmpty, bytes.count <= maxLength else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "@"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }
    }

    public var description: String { rawValue }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let value = try container.decode(String.self)
        guard let id = UserID(value) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "user id must be 1-64 characters from [A-Za-z0-9_.@-]")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The id of an uploaded asset (attachment or emote). Accepted as a JSON string or integer, always returned as a string.
public struct AssetID: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The longest asset id accepted.
    public static let maxLength = 128

    public let rawValue: String

    /// Validates `rawValue`: 1–128 visible ASCII characters, no `/`, `?` or `#` (it is embedded in URLs).
    public init?(_ rawValue: String) {
        let bytes = rawValue.utf8
        guard !bytes.isEmpty, bytes.count <= Self.maxLength,
            bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: "?") && $0 != UInt8(ascii: "#") && $0 != UInt8(ascii: "%") })
        else { return nil }
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text: String
        if let integer = try? container.decode(UInt64.self) {
            text = String(integer)
        } else if let string = try? container.decode(String.self) {
            text = string
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "asset id must be a string or a non-negative integer")
        }
        guard let id = AssetID(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "asset id must be 1-128 visible ASCII characters without '/', '?', '#' or '%'")
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Parses a canonical unsigned decimal (digits only, no leading `+`, at most 20 digits).
func parseDecimalID(_ text: String) -> UInt64? {
    let bytes = text.utf8
    guard !bytes.isEmpty, bytes.count <= 20, bytes.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
        return nil
    }
    return UInt64(text)
}

func decodeDecimalID(from decoder: any Decoder, kind: String) throws -> UInt64 {
    let container = try decoder.singleValueContainer()
    if let string = try? container.decode(String.self), let value = parseDecimalID(string) {
        return value
    }
    if let integer = try? container.decode(UInt64.self) {
        return integer
    }
    throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(kind) must be a decimal string")
}
