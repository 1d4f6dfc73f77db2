import ChorusChat
import ChorusModel
import Foundation
import NIOCore

/// Channel events in the Stream-compatible WebSocket's format: `type` (`message.new`,
/// `reaction.new`, `typing.start`, …), `cid`, `channel_type`, `channel_id`, `user`, `created_at`
/// and the event's object. The edge encodes each event once per format (docs/stream-api.md).
enum StreamEvents {
    /// The event's frame, or `nil` for an event the Stream format has no type for.
    static func frame(_ event: ChorusModel.ChannelEvent, address: ChannelAddress) -> ByteBuffer? {
        guard let object = object(event, address: address) else { return nil }
        return encode(object)
    }

    static func encode(_ object: [String: JSONValue]) -> ByteBuffer {
        ByteBuffer(bytes: (try? StreamJSON.encoder.encode(JSONValue.object(object))) ?? Data("{}".utf8))
    }

    static func object(_ event: ChorusModel.ChannelEvent, address: ChannelAddress) -> [String: JSONValue]? {
        var object: [String: JSONValue] = [
            "cid": .string(address.cid), "channel_type": .string(address.type), "channel_id": .string(address.id),
            "created_at": StreamJSON.time(event.createdAt),
        ]
        let user = { (id: UserID) -> JSONValue in ["id": .string(id.rawValue)] }
        switch event.payload {
        case .message(let message), .messageUpdate(let message):
            let shapes = StreamShapes(names: [message.senderID: message.senderName])
            object["type"] = if case .message = event.payload { "message.new" } else { "message.updated" }
            object["message"] = shapes.message(message, cid: address.cid)
            object["user"] = shapes.user(message.senderID)
        case .messageDelete(let id):
            object["type"] = "message.deleted"
            object["message"] = ["id": .string(id.description), "cid": .string(address.cid), "type": "deleted"]
        case .reactionAdd(let change), .reactionRemove(let change):
            object["type"] = if case .reactionAdd = event.payload { "reaction.new" } else { "reaction.deleted" }
            object["reaction"] = [
                "type": .string(change.emote.rawValue), "user_id": .string(change.userID.rawValue), "user": user(change.userID),
                "message_id": .string(change.messageID.description), "score": 1,
            ]
            object["message"] = ["id": .string(change.messageID.description)]
            object["user"] = user(change.userID)
        case .typing(let id), .typingStop(let id):
            object["type"] = if case .typing = event.payload { "typing.start" } else { "typing.stop" }
            object["user"] = user(id)
        case .memberAdd(let member), .memberUpdate(let member):
            object["type"] = if case .memberAdd = event.payload { "member.added" } else { "member.updated" }
            object["member"] = [
                "user_id": .string(member.userID.rawValue), "user": user(member.userID),
                "channel_role": .string(StreamShapes.channelRole(member.role)), "created_at": StreamJSON.time(member.joinedAt),
            ]
            object["user"] = user(member.userID)
        case .memberRemove(let id):
            object["type"] = "member.removed"
            object["member"] = ["user_id": .string(id.rawValue), "user": user(id)]
            object["user"] = user(id)
        case .channelUpdate(let info), .channelTruncate(let info), .channelDelete(let info):
            object["type"] =
                switch event.payload {
                case .channelTruncate: "channel.truncated"
                case .channelDelete: "channel.deleted"
                default: "channel.updated"
                }
            object["channel"] = [
                "id": .string(address.id), "type": .string(address.type), "cid": .string(address.cid), "name": .string(info.name),
            ]
        case .read(let reader, let cursor):
            object["type"] = "message.read"
            object["user"] = user(reader)
            object["last_read_message_id"] = .string(cursor.lastReadMessageID.description)
        }
        return object
    }

    /// `health.check`: the first one carries the connection id and the user (`me`).
    static func healthCheck(connectionID: String, me: JSONValue?, at now: Timestamp) -> ByteBuffer {
        var object: [String: JSONValue] = [
            "type": "health.check", "connection_id": .string(connectionID), "created_at": StreamJSON.time(now),
        ]
        if let me { object["me"] = me }
        return encode(object)
    }

    /// A precondition error on connect: Stream's error body, then the socket closes with 1000.
    static func error(_ error: StreamError) -> ByteBuffer {
        encode([
            "error": [
                "code": .number(Double(error.code.rawValue)), "message": .string(error.message), "StatusCode": .number(Double(error.status.code)),
                "more_info": .string(StreamError.moreInfo),
            ]
        ])
    }
}
