import ChorusActorSystem
import ChorusModel
import Distributed

/// One chat channel: owns its ordered log, members, messages, reactions, read cursors and typing TTLs.
///
/// Every change goes through `commit(_:)` as a ``ChannelRecord``; the actor's serial execution orders
/// the log. Rules live in ``ChannelState`` (pure); this actor adds ids, time and typing.
public distributed actor ChannelActor {
    public typealias ActorSystem = ClusterActorSystem

    private var state: ChannelState
    private var typing = TypingTracker()
    private let node: ChatNode

    /// Creates the actor of a channel whose `created` record was just made. Call inside
    /// ``ClusterActorSystem/withIdentity(_:_:)`` (``ChatNode`` does).
    init(actorSystem: ClusterActorSystem, state: ChannelState, node: ChatNode) {
        self.actorSystem = actorSystem
        self.state = state
        self.node = node
    }

    /// The identity of channel `id`'s actor.
    public static func identity(of id: ChannelID) -> ActorIdentity {
        ActorIdentity(kind: "channel", key: id.description)
    }

    @discardableResult
    private func commit(_ record: ChannelRecord) -> UInt64 {
        state.apply(record)
    }

    // MARK: Channel

    /// The channel, for a member.
    public distributed func info(for user: UserID) throws -> ChannelInfo {
        _ = try state.requireMember(user)
        return state.info
    }

    /// What `user` sees in their channel list; `nil` if they are not a member.
    public distributed func summary(for user: UserID) -> ChannelSummary? {
        state.summary(for: user)
    }

    /// Renames the channel.
    public distributed func update(name: String, by user: UserID) throws -> ChannelInfo {
        commit(try state.decideUpdate(name: name, by: user, at: node.clock.now(), limits: node.limits))
        return state.info
    }

    /// Hides (`true`) or shows the channel in `user`'s list.
    public distributed func setHidden(_ hidden: Bool, by user: UserID) throws {
        if let record = try state.decideHidden(hidden, by: user, at: node.clock.now()) {
            commit(record)
        }
    }

    // MARK: Members

    /// The members in join order, for a member.
    public distributed func members(for user: UserID) throws -> [Member] {
        _ = try state.requireMember(user)
        return state.memberList
    }

    /// Adds `target` with `role` (or lets `target` join a room when `by == target`).
    public distributed func addMember(_ target: UserID, role: MemberRole, by user: UserID) async throws -> Member {
        try state.authorizeAddMember(target, role: role, by: user)
        guard try await node.userExists(target) else { throw ChatError.userNotFound(target) }
        // The state may have changed while we asked; decide again.
        let member = Member(userID: target, role: role, joinedAt: node.clock.now())
        let seq = commit(try state.decideAddMember(member, by: user))
        try await node.membershipChanged(of: target, in: state.info.id, isMember: true, seq: seq)
        return member
    }

    /// Removes `target` (or lets them leave when `by == target`).
    public distributed func removeMember(_ target: UserID, by user: UserID) async throws {
        let seq = commit(try state.decideRemoveMember(target, by: user, at: node.clock.now()))
        typing.stop(target)
        try await node.membershipChanged(of: target, in: state.info.id, isMember: false, seq: seq)
    }

    // MARK: Messages

    /// A page of history, oldest first, for a member.
    public distributed func messages(_ request: MessagePageRequest, for user: UserID) throws -> MessagePage {
        _ = try state.requireMember(user)
        return state.page(request)
    }

    /// Posts a message; ends the sender's typing.
    public distributed func send(_ draft: MessageDraft, from sender: UserID, senderName: String) throws -> Message {
        let now = node.clock.now()
        _ = try state.requireMember(sender)
        let id = node.nextMessageID(after: state.messages.last?.id, now: now)
        let record = try state.decideSend(draft, id: id, from: sender, senderName: senderName, at: now, limits: node.limits)
        commit(record)
        typing.stop(sender)
        return state.messages[state.messages.count - 1]
    }

    /// Edits the caller's own message.
    public distributed func edit(_ id: MessageID, body: String, inlineEmotes: [InlineEmote], by user: UserID) throws -> Message {
        commit(try state.decideEdit(id, body: body, inlineEmotes: inlineEmotes, by: user, at: node.clock.now(), limits: node.limits))
        guard let message = state.message(id) else { throw ChatError.messageNotFound(id) }
        return message
    }

    /// Deletes a message; succeeds again if it is already deleted.
    public distributed func delete(_ id: MessageID, by user: UserID) throws {
        if let record = try state.decideDelete(id, by: user, at: node.clock.now()) {
            commit(record)
        }
    }

    /// Adds the caller's reaction.
    public distributed func addReaction(_ emote: AssetID, to id: MessageID, by user: UserID) throws {
        commit(try state.decideAddReaction(id, emote: emote, by: user, at: node.clock.now()))
    }

    /// Removes the caller's reaction.
    public distributed func removeReaction(_ emote: AssetID, from id: MessageID, by user: UserID) throws {
        commit(try state.decideRemoveReaction(id, emote: emote, by: user, at: node.clock.now()))
    }

    /// The attachment `asset` of message `id`, for a member.
    public distributed func attachment(_ asset: AssetID, of id: MessageID, for user: UserID) throws -> Attachment {
        try state.attachment(asset, of: id, for: user)
    }

    /// Sets the caller's read cursor.
    public distributed func markRead(_ id: MessageID, by user: UserID) throws -> ReadCursor {
        commit(try state.decideMarkRead(id, by: user, at: node.clock.now()))
        guard let cursor = state.members[user]?.readCursor else { throw ChatError.notMember }
        return cursor
    }

    // MARK: Typing

    /// Marks the caller typing for the configured TTL.
    public distributed func startTyping(by user: UserID) throws {
        _ = try state.requireMember(user)
        typing.start(user, now: node.clock.now(), ttl: node.typingTTL)
    }

    /// The users typing now, in the order they started, for a member.
    public distributed func typingUsers(for user: UserID) throws -> [UserID] {
        _ = try state.requireMember(user)
        let now = node.clock.now()
        typing.expire(now: now)
        return typing.typing(at: now)
    }
}
