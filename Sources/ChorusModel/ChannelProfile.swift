/// How the Stream-compatible API names and describes a channel: its type, its id within the type
/// (together its `cid`, `type:id`), who created it, and its custom data.
///
/// Channels made through the v1 API have no profile: their type is their kind (`dm`, `group`,
/// `room`) and their id within the type is their decimal channel id, so v1 group 123 is
/// `group:123` (docs/stream-api.md, "One engine").
public struct ChannelProfile: Hashable, Sendable, Codable {
    public var address: ChannelAddress
    /// The user the channel was created by (Stream's `created_by`).
    public var createdBy: UserID?
    /// Custom fields, shown beside the built-in ones (`name` is the channel's name, not custom data).
    public var custom: [String: JSONValue]

    public init(address: ChannelAddress, createdBy: UserID?, custom: [String: JSONValue] = [:]) {
        self.address = address
        self.createdBy = createdBy
        self.custom = custom
    }
}

/// A channel's type and id within the type: Stream's `cid` is `type:id`.
public struct ChannelAddress: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The longest type name accepted.
    public static let maxTypeLength = 64
    /// The longest id accepted (Stream's limit).
    public static let maxIDLength = 64

    public let type: String
    public let id: String

    /// Validates both parts: 1–64 characters from `[A-Za-z0-9_-]` for the type, and from
    /// `[A-Za-z0-9_!-]` for the id (the characters Stream allows in channel ids); `nil` otherwise.
    public init?(type: String, id: String) {
        guard Self.isValid(type, maxLength: Self.maxTypeLength, extra: []),
            Self.isValid(id, maxLength: Self.maxIDLength, extra: [UInt8(ascii: "!")])
        else { return nil }
        self.type = type
        self.id = id
    }

    /// Parses a `cid`, `type:id`.
    public init?(cid: String) {
        guard let colon = cid.utf8.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        self.init(type: String(cid[..<colon]), id: String(cid[cid.index(after: colon)...]))
    }

    /// The v1 address of a channel: its kind and decimal id.
    public init(v1 info: ChannelInfo) {
        self.type = info.kind.rawValue
        self.id = info.id.description
    }

    public var cid: String { "\(type):\(id)" }
    public var description: String { cid }

    /// The v1 kinds are types whose ids are the engine's decimal channel ids.
    public var v1Kind: ChannelKind? { ChannelKind(rawValue: type) }

    /// The engine's channel id for this address: the decimal id itself for the v1 types (`nil` if
    /// it is not one), else a stable 63-bit hash of the cid with the top bit set.
    ///
    /// Snowflake ids keep the top bit clear (41 bits of milliseconds from 2024 reach it in 2093), so
    /// a hashed id never equals a v1 channel's. Two cids with the same hash are told apart by the
    /// profile the channel stores: the second one is refused (docs/stream-api.md, "Channel ids").
    public var channelID: ChannelID? {
        if v1Kind != nil { return ChannelID(id) }
        return ChannelID(rawValue: Self.hash(cid) | (1 << 63))
    }

    /// The id of the channel of a type made for exactly `members` (Stream's channels created
    /// with members only): `!members-` and a hash of the sorted, distinct ids.
    public static func membersID(_ members: [UserID]) -> String {
        let key = Set(members).map(\.rawValue).sorted().joined(separator: ",")
        let hex = String(hash(key), radix: 16)
        return "!members-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Whether `id` was made by hashing an address rather than by the snowflake generator.
    public static func isHashed(_ id: ChannelID) -> Bool { id.rawValue >> 63 == 1 }

    /// FNV-1a over the UTF-8 bytes, finished with splitmix64's mixer: stable across processes
    /// and releases (the id is stored in logs), unlike Swift's seeded `Hasher`.
    static func hash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        hash = (hash ^ (hash >> 30)) &* 0xbf58_476d_1ce4_e5b9
        hash = (hash ^ (hash >> 27)) &* 0x94d0_49bb_1331_11eb
        return hash ^ (hash >> 31)
    }

    private static func isValid(_ text: String, maxLength: Int, extra: [UInt8]) -> Bool {
        let bytes = text.utf8
        guard !bytes.isEmpty, bytes.count <= maxLength else { return false }
        return bytes.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default:
                extra.contains(byte)
            }
        }
    }
}
