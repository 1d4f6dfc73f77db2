import ChorusModel
import Hummingbird
import NIOCore

/// Writes JSON for a response whose shape is known, byte for byte as `JSONBody.encoder` would
/// (keys sorted, slashes not escaped), without `JSONEncoder`'s boxing of every value.
///
/// The durable send's 201 body went through `JSONEncoder`, ~8% of the send's CPU (perf;
/// docs/benchmarks.md, "REST requests"). Types that write themselves conform to
/// ``JSONWritable``; `JSONWriterTests` checks each against `JSONEncoder`'s output for random
/// values (control characters, quotes, non-ASCII text included).
struct JSONWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    /// An object: `body` writes its members with ``member(_:_:)``-style calls, in sorted key order.
    mutating func object(_ body: (inout JSONWriter) -> Void) {
        bytes.append(UInt8(ascii: "{"))
        let start = bytes.count
        body(&self)
        if bytes.count > start, bytes[bytes.count - 1] == UInt8(ascii: ",") { bytes.removeLast() }
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func array<Element>(_ elements: some Collection<Element>, _ write: (inout JSONWriter, Element) -> Void) {
        bytes.append(UInt8(ascii: "["))
        var first = true
        for element in elements {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            write(&self, element)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// `"key":` (keys are plain ASCII names).
    private mutating func key(_ key: StaticString) {
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    /// Ends a member (the object drops the last one's comma).
    private mutating func next() {
        bytes.append(UInt8(ascii: ","))
    }

    mutating func member(_ key: StaticString, _ value: String) {
        self.key(key)
        string(value)
        next()
    }

    mutating func member(_ key: StaticString, _ value: some BinaryInteger) {
        self.key(key)
        integer(value)
        next()
    }

    mutating func member(_ key: StaticString, _ value: Bool) {
        self.key(key)
        bytes.append(contentsOf: value ? "true".utf8 : "false".utf8)
        next()
    }

    /// A member that is `null` when `value` is `nil`.
    mutating func member(_ key: StaticString, nullable value: String?) {
        self.key(key)
        if let value { string(value) } else { bytes.append(contentsOf: "null".utf8) }
        next()
    }

    /// A member that is `null` when `value` is `nil`.
    mutating func member(_ key: StaticString, nullable value: Int64?) {
        self.key(key)
        if let value { integer(value) } else { bytes.append(contentsOf: "null".utf8) }
        next()
    }

    /// A member whose value is an array of `elements`, each written by `write`.
    mutating func member<Element>(_ key: StaticString, each elements: some Collection<Element>, _ write: (inout JSONWriter, Element) -> Void) {
        self.key(key)
        array(elements, write)
        next()
    }

    /// A member whose value writes itself.
    mutating func member(_ key: StaticString, _ value: some JSONWritable) {
        self.key(key)
        value.write(to: &self)
        next()
    }

    /// A member whose value is an object, its members written by `body` in sorted key order.
    mutating func member(_ key: StaticString, object body: (inout JSONWriter) -> Void) {
        self.key(key)
        object(body)
        next()
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    mutating func integer(_ value: some BinaryInteger) {
        bytes.append(contentsOf: String(value).utf8)
    }

    /// A string literal, escaped as Foundation's `JSONEncoder` escapes with `.withoutEscapingSlashes`.
    mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x08: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Self.hexDigits
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

/// A response body that writes its own JSON (``JSONWriter``).
protocol JSONWritable: Encodable {
    func write(to writer: inout JSONWriter)
}

extension JSONBody {
    /// A JSON response from a type that writes itself: the same bytes as the `Encodable` path.
    static func response(_ value: some JSONWritable, status: HTTPResponse.Status = .ok) -> Response {
        var writer = JSONWriter()
        value.write(to: &writer)
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: writer.bytes)))
    }
}

extension MessageBody: JSONWritable {
    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.member("attachments", each: message.attachments) { w, attachment in
                w.object { w in
                    w.member("asset_id", attachment.assetID.rawValue)
                    w.member("content_type", attachment.contentType)
                    w.member("filename", attachment.filename)
                    w.member("size_bytes", attachment.sizeBytes)
                }
            }
            w.member("body", message.body)
            w.member("channel_id", message.channelID.description)
            w.member("created_at", message.createdAt.seconds)
            w.member("deleted", message.deleted)
            w.member("edited_at", nullable: message.editedAt?.seconds)
            w.member("id", message.id.description)
            w.member("inline_emotes", each: message.inlineEmotes) { w, emote in
                w.object { w in
                    w.member("asset_id", emote.assetID.rawValue)
                    w.member("end_index", emote.endIndex)
                    w.member("shortcode", emote.shortcode)
                    w.member("start_index", emote.startIndex)
                }
            }
            w.member("reactions", each: message.reactions) { w, reaction in
                w.object { w in
                    w.member("count", reaction.count)
                    w.member("emote_asset_id", reaction.emoteAssetID.rawValue)
                    w.member("user_ids", each: reaction.userIDs) { w, user in w.string(user.rawValue) }
                }
            }
            w.member("sender_id", message.senderID.rawValue)
            w.member("sender_name", message.senderName)
            w.member("seq", message.seq)
        }
    }
}

extension ChannelBody: JSONWritable {
    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.member("created_at", info.createdAt.seconds)
            w.member("id", info.id.description)
            w.member("name", info.name)
            w.member("owner_id", nullable: info.ownerID?.rawValue)  // null for DMs
            w.member("type", info.kind.rawValue)
        }
    }
}

extension MessagePageBody: JSONWritable {
    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.member("has_more", hasMore)
            w.member("messages", each: messages) { w, message in message.write(to: &w) }
        }
    }
}

extension ChannelListItemBody: JSONWritable {
    func write(to writer: inout JSONWriter) {
        let summary = entry.summary
        writer.object { w in
            w.member("created_at", summary.info.createdAt.seconds)
            w.member("hidden", summary.hidden)
            w.member("id", summary.info.id.description)
            w.member("last_activity_at", summary.lastActivityAt.seconds)
            w.member("name", summary.info.name)
            if let other = summary.otherUserID {
                w.member("other_user_id", other.rawValue)
                w.member("other_user_name", entry.otherUserName ?? other.rawValue)
            }
            w.member("owner_id", nullable: summary.info.ownerID?.rawValue)  // null for DMs
            w.member("type", summary.info.kind.rawValue)
            w.member("unread_count", summary.unreadCount)
        }
    }
}

/// A list of bodies that write themselves (List Channels' array).
extension Array: JSONWritable where Element: JSONWritable {
    func write(to writer: inout JSONWriter) {
        writer.array(self) { w, element in element.write(to: &w) }
    }
}
