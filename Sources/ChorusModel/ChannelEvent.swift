/// Something that happened in a channel, as WebSocket clients see it.
///
/// A channel actor makes one event per logged record that others should see (not for hiding or
/// showing a channel, which concern one user), plus ephemeral typing and custom events. Logged events carry
/// the `seq` of their record; ephemeral ones have none. Events are published only once their
/// record is durable, in seq order.
public struct ChannelEvent: Hashable, Sendable, Codable {
    /// What happened, with its data.
    public enum Payload: Hashable, Sendable, Codable {
        case message(Message)
        case messageUpdate(Message)
        case messageDelete(MessageID)
        case reactionAdd(ReactionChange)
        case reactionRemove(ReactionChange)
        case typing(UserID)
        case typingStop(UserID)
        case memberAdd(Member)
        /// A member's role changed.
        case memberUpdate(Member)
        case memberRemove(UserID)
        case channelUpdate(ChannelInfo)
        /// Every message so far was removed (the Stream API's truncate).
        case channelTruncate(ChannelInfo)
        /// The channel was deleted (the Stream API's delete); nothing follows it.
        case channelDelete(ChannelInfo)
        case read(user: UserID, cursor: ReadCursor)
        /// A WebSocket connection started or stopped watching the channel (the Stream API's
        /// `watch`). Ephemeral, and only Stream sockets hear of it.
        case watching(WatchChange)
        /// A member came online (their first socket opened) or went offline (their last closed).
        /// Ephemeral; Stream sockets that asked for presence hear of it.
        case presence(user: UserID, online: Bool)
        /// Something a member did that only their own sockets hear of (hiding the channel, muting
        /// it). Ephemeral; Stream sockets only.
        case notice(user: UserID, Notice)
        /// A member's custom event (the Stream API's `POST /channels/{type}/{id}/event` with a type
        /// of the app's own): its type and fields. Ephemeral; Stream sockets watching the channel only.
        case custom(user: UserID, type: String, fields: [String: JSONValue])
        /// The channel's replica here replaced its whole log (a recovery installed a newer one):
        /// the events of the records it installed were never published and are not in its event
        /// log. Edges subscribe again and replay, so a session that missed them gets them or
        /// `resume_failed`, never a silent gap. Ephemeral; no client sees it.
        case resync
    }

    /// A connection's watch of the channel, as the channel's actor records it.
    public struct WatchChange: Hashable, Sendable, Codable {
        public var user: UserID
        /// The Stream `connection_id` of the socket: the edge that holds it applies the change.
        public var connectionID: String
        /// Whether the connection watches the channel now.
        public var watching: Bool
        /// Whether the connection also asked for the members' presence.
        public var presence: Bool
        /// Whether the user started or stopped watching (their first connection in, or last out):
        /// other watchers then get `user.watching.start` / `.stop`.
        public var announce: Bool
        /// Distinct users watching, after the change.
        public var watcherCount: Int

        public init(user: UserID, connectionID: String, watching: Bool, presence: Bool, announce: Bool, watcherCount: Int) {
            self.user = user
            self.connectionID = connectionID
            self.watching = watching
            self.presence = presence
            self.announce = announce
            self.watcherCount = watcherCount
        }
    }

    /// What ``Payload/notice(user:_:)`` tells a member's own sockets.
    public enum Notice: Hashable, Sendable, Codable {
        case hidden(clearHistory: Bool)
        case visible
        case muted
        case unmuted
    }

    /// One user's reaction with one emote on one message.
    public struct ReactionChange: Hashable, Sendable, Codable {
        public var messageID: MessageID
        public var emote: AssetID
        public var userID: UserID

        public init(messageID: MessageID, emote: AssetID, userID: UserID) {
            self.messageID = messageID
            self.emote = emote
            self.userID = userID
        }
    }

    public var channelID: ChannelID
    /// The seq of the record this event reports; `nil` for ephemeral events (typing).
    public var seq: UInt64?
    public var createdAt: Timestamp
    public var payload: Payload

    public init(channelID: ChannelID, seq: UInt64?, createdAt: Timestamp, payload: Payload) {
        self.channelID = channelID
        self.seq = seq
        self.createdAt = createdAt
        self.payload = payload
    }

    /// The event's `type` on the wire.
    public var type: String {
        switch payload {
        case .message: "message"
        case .messageUpdate: "message_update"
        case .messageDelete: "message_delete"
        case .reactionAdd: "reaction_add"
        case .reactionRemove: "reaction_remove"
        case .typing: "typing"
        case .typingStop: "typing_stop"
        case .memberAdd: "member_add"
        case .memberUpdate: "member_update"
        case .memberRemove: "member_remove"
        // The v1 API reports a truncation or deletion as the update it is to the channel.
        case .channelUpdate, .channelTruncate, .channelDelete: "channel_update"
        case .read: "read"
        case .watching: "watching"
        case .resync: "resync"
        case .presence: "presence"
        case .notice: "notice"
        case .custom: "custom"
        }
    }

    /// Whether v1 sockets get this event (they do not hear of watches, presence or notices).
    public var reachesV1: Bool {
        switch payload {
        case .watching, .presence, .notice, .custom, .resync: false
        default: true
        }
    }
}
