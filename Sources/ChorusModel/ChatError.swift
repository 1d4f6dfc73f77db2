/// A failure a client can act on, with the API error code it is reported under.
///
/// The gateway maps each ``Code`` to its HTTP status; nothing else turns errors into responses.
public struct ChatError: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The stable, documented error codes of the client API.
    public enum Code: String, Sendable, Codable, CaseIterable {
        case invalidRequest = "INVALID_REQUEST"
        case emptyMessage = "CHAT_EMPTY_MESSAGE"
        case messageTooLong = "CHAT_MESSAGE_TOO_LONG"
        /// The message has a word of its channel type's blocklist, whose behavior is `block`.
        case messageBlocked = "CHAT_MESSAGE_BLOCKED"
        case cannotDMSelf = "CHAT_CANNOT_DM_SELF"
        case missingToken = "AUTH_MISSING_TOKEN"
        case invalidToken = "AUTH_INVALID_TOKEN"
        case tokenExpired = "AUTH_TOKEN_EXPIRED"
        case notMember = "CHAT_NOT_MEMBER"
        case notAdmin = "CHAT_NOT_ADMIN"
        case notMessageAuthor = "CHAT_NOT_MESSAGE_AUTHOR"
        case cannotModifyDM = "CHAT_CANNOT_MODIFY_DM"
        case dmBlockedUser = "CHAT_DM_BLOCKED_USER"
        case cannotRemoveOwner = "CHAT_CANNOT_REMOVE_OWNER"
        case serverTokenRequired = "AUTH_SERVER_TOKEN_REQUIRED"
        case channelNotFound = "CHAT_CHANNEL_NOT_FOUND"
        case messageNotFound = "CHAT_MESSAGE_NOT_FOUND"
        case userNotFound = "CHAT_USER_NOT_FOUND"
        case reactionNotFound = "CHAT_REACTION_NOT_FOUND"
        case notFound = "NOT_FOUND"
        case reactionExists = "CHAT_REACTION_EXISTS"
        case alreadyMember = "CHAT_ALREADY_MEMBER"
        case channelExists = "CHAT_CHANNEL_EXISTS"
        case payloadTooLarge = "PAYLOAD_TOO_LARGE"
        case rateLimited = "RATE_LIMITED"
        case clusterUnavailable = "CLUSTER_UNAVAILABLE"
        /// A WebSocket resume asked for events the channel no longer keeps; reload over REST.
        case historyUnavailable = "HISTORY_UNAVAILABLE"
        /// The channel's type turns the feature off (its `reactions`, `read_events`, … setting).
        case disabledByChannelType = "CHAT_DISABLED_BY_CHANNEL_TYPE"
        /// The channel type's grants do not give the caller's channel role the permission.
        case permissionDenied = "CHAT_PERMISSION_DENIED"
    }

    /// What went wrong, as a stable code.
    public var code: Code
    /// A human-readable explanation; never contains message bodies or secrets.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

extension ChatError {
    static func invalid(_ message: String) -> ChatError { ChatError(.invalidRequest, message) }

    /// `CHAT_CHANNEL_NOT_FOUND` for `id`.
    public static func channelNotFound(_ id: ChannelID) -> ChatError {
        ChatError(.channelNotFound, "channel \(id) does not exist")
    }

    /// `CHAT_CHANNEL_EXISTS` for `id`.
    public static func channelExists(_ id: ChannelID) -> ChatError {
        ChatError(.channelExists, "channel \(id) already exists")
    }

    /// `CHAT_MESSAGE_NOT_FOUND` for `id`.
    public static func messageNotFound(_ id: MessageID) -> ChatError {
        ChatError(.messageNotFound, "message \(id) does not exist in this channel")
    }

    /// `CHAT_USER_NOT_FOUND` for `id`.
    public static func userNotFound(_ id: UserID) -> ChatError {
        ChatError(.userNotFound, "user \(id) does not exist")
    }

    /// `CHAT_NOT_MEMBER`.
    public static let notMember = ChatError(.notMember, "you are not a member of this channel")
}
