/// What a ``SnowflakeID`` identifies; keeps channel and message ids apart as types.
public protocol SnowflakeKind: Sendable {
    /// Used in error messages ("channel id", "message id").
    static var name: String { get }
}

/// Channels are identified by ``ChannelID``.
public enum ChannelKindTag: SnowflakeKind {
    public static let name = "channel id"
}

/// Messages are identified by ``MessageID``.
public enum MessageKindTag: SnowflakeKind {
    public static let name = "message id"
}

/// A 64-bit time-ordered snowflake id, rendered as a decimal string on the API.
public struct SnowflakeID<Kind: SnowflakeKind>: RawRepresentable, Hashable, Comparable, Sendable, Codable,
    CustomStringConvertible, LosslessStringConvertible
{
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Parses a canonical decimal string; `nil` for anything else (signs, spaces, overflow).
    public init?(_ description: String) {
        guard let value = parseDecimalID(description) else { return nil }
        self.rawValue = value
    }

    public var description: String { String(rawValue) }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Decodes a decimal string or a JSON integer.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self), let value = parseDecimalID(string) {
            self.rawValue = value
        } else if let integer = try? container.decode(UInt64.self) {
            self.rawValue = integer
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(Kind.name) must be a decimal string")
        }
    }

    /// Encodes as a decimal string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A channel's identifier.
public typealias ChannelID = SnowflakeID<ChannelKindTag>

/// A message's identifier.
public typealias MessageID = SnowflakeID<MessageKindTag>

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
