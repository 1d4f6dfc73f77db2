/// Something that happened in a channel, as WebSocket clients see it.
///
/// A channel actor makes one event per logged record that others should see (not for hiding or
/// showing a channel, which concern one user), plus ephemeral typing events. Logged events carry
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
        }
    }
}
