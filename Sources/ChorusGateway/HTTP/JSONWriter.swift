import ChorusModel
import Hummingbird
import NIOCore

/// A response body that writes its own JSON (``JSONWriter``): the same bytes as
/// `JSONBody.encoder` (keys sorted, slashes not escaped), which `JSONWriterTests` checks for
/// random values. The durable send's 201 body went through `JSONEncoder`, ~8% of the send's CPU
/// (perf; docs/benchmarks.md, "REST requests").
protocol JSONWritable: Encodable {
    func write(to writer: inout JSONWriter)
}

extension JSONWriter {
    /// A member whose value writes itself.
    mutating func member(_ key: StaticString, _ value: some JSONWritable) {
        writeMember(key) { value.write(to: &$0) }
    }
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
