import ChorusChat
import ChorusModel
import Foundation
import NIOCore

/// Channel events in the Stream-compatible WebSocket's format: `type` (`message.new`,
/// `reaction.new`, `typing.start`, …), `cid`, `channel_type`, `channel_id`, `user`, `created_at`
/// and the event's object. The edge encodes each event once per format (docs/stream-api.md).
enum StreamEvents {
    /// How a socket hears of a channel. A socket *watches* the channels it asked to (`watch: true`
    /// with its `connection_id`) and gets all their events; of its user's other channels it gets
    /// notification events only (`notification.message_new`, …). docs/stream-api.md, "Watching".
    enum Audience: Sendable, Equatable {
        case member
        case watcher
        /// A watcher that also asked for presence (`user.presence.changed`).
        case watcherWithPresence
    }

    /// Whether a socket of `user` that hears of the event's channel as `audience` gets `event` (a
    /// user does not hear of their own watching).
    static func reaches(_ event: ChorusModel.ChannelEvent, user: UserID, as audience: Audience) -> Bool {
        switch event.payload {
        case .notice(let target, _): return target == user
        case .resync: return false  // the edge's own (RealtimeHub.deliver)
        case .presence: return audience == .watcherWithPresence
        case .watching(let change): return audience != .member && change.announce && change.user != user
        default: break
        }
        guard audience == .member else { return true }
        switch event.payload {
        case .message, .channelTruncate, .channelDelete: return true
        case .memberAdd(let member): return member.userID == user
        case .memberRemove(let removed): return removed == user
        case .read(let reader, _): return reader == user
        default: return false
        }
    }

    /// The event's frame for `audience` (the same bytes for every socket that ``reaches(_:user:as:)``),
    /// or `nil` for an event the Stream format has no type for.
    static func frame(_ event: ChorusModel.ChannelEvent, address: ChannelAddress, for audience: Audience = .watcher) -> ByteBuffer? {
        guard let object = audience == .member ? notification(event, address: address) : object(event, address: address) else { return nil }
        return encode(object)
    }

    /// The notification event a member that does not watch the channel gets: the watcher's event
    /// under its `notification.*` type, with the channel named.
    static func notification(_ event: ChorusModel.ChannelEvent, address: ChannelAddress) -> [String: JSONValue]? {
        let type: String
        switch event.payload {
        case .message: type = "notification.message_new"
        case .memberAdd: type = "notification.added_to_channel"
        case .memberRemove: type = "notification.removed_from_channel"
        case .read: type = "notification.mark_read"
        case .channelTruncate: type = "notification.channel_truncated"
        case .channelDelete: type = "notification.channel_deleted"
        case .notice: return object(event, address: address)  // the same for watchers and members
        default: return nil
        }
        guard var object = object(event, address: address) else { return nil }
        object["type"] = .string(type)
        if object["channel"] == nil { object["channel"] = channelReference(address) }
        if case .read = event.payload { object["unread_count"] = 0 }
        return object
    }

    /// `{"cid", "type", "id"}` of a channel.
    static func channelReference(_ address: ChannelAddress) -> JSONValue {
        ["cid": .string(address.cid), "type": .string(address.type), "id": .string(address.id)]
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
        case .watching(let change):
            object["type"] = change.watching ? "user.watching.start" : "user.watching.stop"
            object["user"] = user(change.user)
            object["watcher_count"] = .number(Double(change.watcherCount))
        case .presence(let id, let online):
            object["type"] = "user.presence.changed"
            object["user"] = ["id": .string(id.rawValue), "online": .bool(online), "last_active": StreamJSON.time(event.createdAt)]
        case .notice(let id, let notice):
            switch notice {
            case .hidden(let clearHistory):
                object["type"] = "channel.hidden"
                object["clear_history"] = .bool(clearHistory)
            case .visible: object["type"] = "channel.visible"
            case .muted: object["type"] = "channel.muted"
            case .unmuted: object["type"] = "channel.unmuted"
            }
            object["user"] = user(id)
            object["channel"] = channelReference(address)
        case .custom(let id, let type, let fields):
            object.merge(fields) { kept, _ in kept }
            object["type"] = .string(type)
            object["user"] = user(id)
        case .resync:
            return nil
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
