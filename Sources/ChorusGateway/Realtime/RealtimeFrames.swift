import ChorusModel
import Foundation
import NIOCore
import NIOFoundationCompat

/// The JSON text frames of the WebSocket protocol (docs/realtime.md), encoded to bytes.
///
/// An event frame is encoded once per edge and the same bytes are written to every socket that
/// follows the channel. Keys are sorted so frames are byte-stable. Event frames, one per message
/// on every edge, are written by ``JSONWriter`` (the same bytes as `JSONEncoder`, which cost
/// ~50 µs an event under load; `JSONWriterTests` compares the two); the rare frames keep
/// `JSONEncoder`. Public for the micro benchmarks.
public enum RealtimeFrames {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    private static func encode(_ value: some Encodable) -> ByteBuffer {
        // Every frame type is a plain struct of strings and numbers: encoding cannot fail.
        (try? encoder.encodeAsByteBuffer(value, allocator: ByteBufferAllocator())) ?? ByteBuffer(string: #"{"type":"error"}"#)
    }

    /// `{"type": T, "channel_id", "seq" (logged events only), "created_at", "data"}`.
    public static func event(_ event: ChorusModel.ChannelEvent) -> ByteBuffer {
        var writer = JSONWriter(capacity: 512)
        EventEnvelope(event: event).write(to: &writer)
        return ByteBuffer(bytes: writer.bytes)
    }

    /// The first frame of a session.
    static func hello(connectionID: String, userID: UserID, heartbeatInterval: Int) -> ByteBuffer {
        encode(Hello(connectionID: connectionID, userID: userID, heartbeatInterval: heartbeatInterval))
    }

    /// `{"type":"health"}`.
    static let health = ByteBuffer(string: #"{"type":"health"}"#)

    /// `{"type":"error","error":{"code","message"}}`, with the channel a client frame named, if any.
    static func error(_ error: ChatError, channelID: ChannelID? = nil) -> ByteBuffer {
        encode(ErrorFrame(type: "error", channelID: channelID, error: error, seq: nil, replayed: nil))
    }

    /// After a resume's replayed events: the seq the replay reached and how many events it sent.
    static func resumed(_ channelID: ChannelID, through: UInt64, replayed: Int) -> ByteBuffer {
        encode(ErrorFrame(type: "resumed", channelID: channelID, error: nil, seq: through, replayed: replayed))
    }

    /// A resume that cannot be served: the client reloads the channel's history over REST.
    static func resumeFailed(_ channelID: ChannelID, error: ChatError, through: UInt64?) -> ByteBuffer {
        encode(ErrorFrame(type: "resume_failed", channelID: channelID, error: error, seq: through, replayed: nil))
    }

    private struct Hello: Encodable {
        var connectionID: String
        var userID: UserID
        var heartbeatInterval: Int
        var type = "hello"

        enum CodingKeys: String, CodingKey {
            case connectionID = "connection_id", userID = "user_id", heartbeatInterval = "heartbeat_interval", type
        }
    }

    /// `error`, `resumed` and `resume_failed`: the fields present are the non-nil ones.
    private struct ErrorFrame: Encodable {
        var type: String
        var channelID: ChannelID?
        var error: ChatError?
        var seq: UInt64?
        var replayed: Int?

        enum CodingKeys: String, CodingKey { case type, channelID = "channel_id", error, seq, replayed }
    }

    /// An event frame; `Encodable` only as the reference `JSONWriterTests` compares with.
    struct EventEnvelope: Encodable {
        var event: ChorusModel.ChannelEvent

        enum CodingKeys: String, CodingKey { case type, channelID = "channel_id", seq, createdAt = "created_at", data }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(event.type, forKey: .type)
            try c.encode(event.channelID, forKey: .channelID)
            try c.encodeIfPresent(event.seq, forKey: .seq)
            try c.encode(event.createdAt.seconds, forKey: .createdAt)
            switch event.payload {
            case .message(let message), .messageUpdate(let message):
                try c.encode(MessageBody(message: message), forKey: .data)
            case .messageDelete(let id):
                try c.encode(["id": id], forKey: .data)
            case .reactionAdd(let change), .reactionRemove(let change):
                try c.encode(ReactionData(change: change), forKey: .data)
            case .typing(let user), .typingStop(let user), .memberRemove(let user):
                try c.encode(["user_id": user], forKey: .data)
            case .memberAdd(let member), .memberUpdate(let member):
                try c.encode(MemberData(member: member), forKey: .data)
            case .channelUpdate(let info), .channelTruncate(let info), .channelDelete(let info):
                try c.encode(ChannelBody(info: info), forKey: .data)
            case .read(let user, let cursor):
                try c.encode(ReadData(user: user, cursor: cursor), forKey: .data)
            case .watching, .presence, .notice, .custom, .resync:
                break  // Stream sockets only, or the edge's own: the hub never hands them to v1 sockets (`reachesV1`)
            }
        }
    }

    private struct ReactionData: Encodable {
        var change: ChorusModel.ChannelEvent.ReactionChange

        enum CodingKeys: String, CodingKey { case messageID = "message_id", emoteAssetID = "emote_asset_id", userID = "user_id" }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(change.messageID, forKey: .messageID)
            try c.encode(change.emote, forKey: .emoteAssetID)
            try c.encode(change.userID, forKey: .userID)
        }
    }

    private struct MemberData: Encodable {
        var member: Member

        enum CodingKeys: String, CodingKey { case userID = "user_id", role, joinedAt = "joined_at" }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(member.userID, forKey: .userID)
            try c.encode(member.role.rawValue, forKey: .role)
            try c.encode(member.joinedAt.seconds, forKey: .joinedAt)
        }
    }

    private struct ReadData: Encodable {
        var user: UserID
        var cursor: ReadCursor

        enum CodingKeys: String, CodingKey { case userID = "user_id", lastReadMessageID = "last_read_message_id", updatedAt = "updated_at" }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(user, forKey: .userID)
            try c.encode(cursor.lastReadMessageID, forKey: .lastReadMessageID)
            try c.encode(cursor.updatedAt.seconds, forKey: .updatedAt)
        }
    }
}

/// A frame a client sends.
enum ClientFrame: Equatable {
    /// Replay each channel's logged events after the given seq, then continue live.
    case resume([ChannelID: UInt64])
    /// The same as `POST /v1/channels/{id}/typing`.
    case typing(ChannelID)

    /// Parses a text frame; every problem is `INVALID_REQUEST` naming what is wrong.
    static func parse(_ text: String) throws(ChatError) -> ClientFrame {
        let data = Data(text.utf8)
        do {
            switch try JSONDecoder().decode(Envelope.self, from: data).type {
            case "resume":
                let resume = try JSONDecoder().decode(Resume.self, from: data)
                var channels: [ChannelID: UInt64] = [:]
                for (key, seq) in resume.channels {
                    guard let id = ChannelID(key) else { throw ChatError(.invalidRequest, "channels: \(key) is not a channel id") }
                    channels[id] = seq
                }
                return .resume(channels)
            case "typing":
                let typing = try JSONDecoder().decode(Typing.self, from: data)
                guard let id = ChannelID(typing.channelID) else { throw ChatError(.invalidRequest, "channel_id must be a decimal channel id") }
                return .typing(id)
            case let type?:
                throw ChatError(.invalidRequest, "unknown frame type \(type); send resume or typing")
            case nil:
                throw ChatError(.invalidRequest, #"a client frame needs a "type""#)
            }
        } catch let error as ChatError {
            throw error
        } catch let error as DecodingError {
            throw ChatError(.invalidRequest, describe(error))
        } catch {
            throw ChatError(.invalidRequest, "a client frame must be a JSON object")
        }
    }

    private struct Envelope: Decodable { var type: String? }
    /// `channels` maps channel ids to the last seq the client has (non-negative integers).
    private struct Resume: Decodable { var channels: [String: UInt64] }
    private struct Typing: Decodable {
        var channelID: String
        enum CodingKeys: String, CodingKey { case channelID = "channel_id" }
    }
}

extension RealtimeFrames.EventEnvelope: JSONWritable {
    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.member("channel_id", event.channelID.description)
            w.member("created_at", event.createdAt.seconds)
            switch event.payload {
            case .message(let message), .messageUpdate(let message):
                w.member("data", MessageBody(message: message))
            case .messageDelete(let id):
                w.member("data") { w in w.member("id", id.description) }
            case .reactionAdd(let change), .reactionRemove(let change):
                w.member("data") { w in
                    w.member("emote_asset_id", change.emote.rawValue)
                    w.member("message_id", change.messageID.description)
                    w.member("user_id", change.userID.rawValue)
                }
            case .typing(let user), .typingStop(let user), .memberRemove(let user):
                w.member("data") { w in w.member("user_id", user.rawValue) }
            case .memberAdd(let member), .memberUpdate(let member):
                w.member("data") { w in
                    w.member("joined_at", member.joinedAt.seconds)
                    w.member("role", member.role.rawValue)
                    w.member("user_id", member.userID.rawValue)
                }
            case .channelUpdate(let info), .channelTruncate(let info), .channelDelete(let info):
                w.member("data", ChannelBody(info: info))
            case .read(let user, let cursor):
                w.member("data") { w in
                    w.member("last_read_message_id", cursor.lastReadMessageID.description)
                    w.member("updated_at", cursor.updatedAt.seconds)
                    w.member("user_id", user.rawValue)
                }
            case .watching, .presence, .notice, .custom, .resync:
                break  // as in `encode(to:)`
            }
            if let seq = event.seq { w.member("seq", seq) }
            w.member("type", event.type)
        }
    }
}
