import ChorusActorSystem
import ChorusModel
import ChorusStorage
import Distributed

/// One chat channel: owns its ordered log, members, messages, reactions, read cursors and typing TTLs.
///
/// Every change goes through `commit(_:)` as a ``ChannelRecord``: logged to the node's journal and
/// applied in one actor turn (so the log has the actor's order), then acknowledged once durable.
/// Rules live in ``ChannelState`` (pure); this actor adds ids, time, durability and typing.
///
/// Events: each logged record that others should see becomes a ``ChannelEvent``, held until the
/// record is durable and then published, in seq order, to every subscribed edge (and kept in a
/// ring for resumes). Typing events are ephemeral and published at once.
public distributed actor ChannelActor {
    public typealias ActorSystem = ClusterActorSystem

    var state: ChannelState
    /// The LSN of the last record applied to `state`.
    var appliedLSN: UInt64
    /// The LSN of the last record the store has (written by a checkpoint).
    var storedLSN: UInt64
    var typing = TypingTracker()
    /// Wakes at the next typing expiry while anyone is typing.
    var typingTimer: Task<Void, Never>?
    let env: ActorEnvironment

    /// Events of applied records that are not durable yet, in LSN (= seq) order (an unreplicated
    /// channel's; a replicated one keeps every event in `eventLog` at once, see `publishedSeq`).
    private var unpublished: [(lsn: UInt64, event: ChannelEvent)] = []
    /// Logged events, for resumes: published ones, and in a replicated channel also those not
    /// committed yet (after `publishedSeq`).
    /// This channel's type's settings as of a registry generation (``typeSettings``).
    var typeCache: (generation: UInt64, settings: ChannelTypeSettings?)?
    var eventLog: ChannelEventLog
    /// A replicated channel's last event handed to the edges: its record is committed by a
    /// majority. Events after it are in `eventLog` and go out as their records commit while this
    /// replica serves as primary, or when it starts serving (see ``publishCommitted(upTo:toEdges:)``).
    var publishedSeq: UInt64
    /// The edges that receive this channel's events, by edge name.
    private var subscribers: [String: any EdgeEventSink] = [:]
    /// The generation of the last subscribe or unsubscribe applied per edge; older ones are stale.
    private var subscriptionGenerations: [String: UInt64] = [:]
    /// The Stream connections watching the channel (ephemeral, see `ChannelActor+Watchers.swift`).
    var watchers = ChannelWatchers()

    /// This replica of the channel's log (nil when the channel is not replicated), and what its
    /// shell (`ChannelActor+Replication.swift`) keeps around it.
    var replica: ChannelReplicaMachine?
    var replicaShell = ReplicaShell<ChannelRecord, ChannelCopy>()

    /// Creates the actor of a channel from its state (new or recovered). Call inside
    /// ``ClusterActorSystem/withIdentity(_:_:)`` (``ChatNode`` does). Events up to
    /// `eventsAvailableAfter` (default: the state's last seq) cannot be replayed.
    init(
        actorSystem: ClusterActorSystem, state: ChannelState, appliedLSN: UInt64, storedLSN: UInt64 = 0,
        eventsAvailableAfter: UInt64? = nil, environment: ActorEnvironment
    ) {
        self.actorSystem = actorSystem
        self.state = state
        self.appliedLSN = appliedLSN
        self.storedLSN = storedLSN
        self.env = environment
        self.eventLog = ChannelEventLog(capacity: environment.eventLogCapacity, floor: eventsAvailableAfter ?? state.lastSeq)
        self.publishedSeq = state.lastSeq
        if let replication = environment.replication {
            self.replica = ChannelReplicaMachine(restarting: state.lastSeq, terms: state.replicaTerms, replication: replication)
            self.replicaShell = ReplicaShell(persistedTerms: state.replicaTerms, gauge: replication.board.register(kind: Self.kind))
        }
    }

    deinit {
        if let gauge = replicaShell.gauge { env.replication?.board.remove(gauge) }
    }

    /// The actor kind of channels; the key is the channel id.
    public static let kind = "channel"

    /// The identity of channel `id`'s actor.
    public static func identity(of id: ChannelID) -> ActorIdentity {
        ActorIdentity(kind: kind, key: id.description)
    }

    /// Logs and applies `record` in this turn, reads the result from the new state (before any
    /// other call can change it), then waits until the record is durable.
    ///
    /// A replicated channel proposes the record to its replicas in the same turn and acknowledges
    /// it once a majority of them has it durable (``awaitReplicated(_:lsn:seq:)``).
    func commit<Result>(_ record: ChannelRecord, reading result: (ChannelState, _ seq: UInt64) -> Result) async throws -> Result {
        let proposal = try propose(record)
        let lsn = try env.directory.logChannelRecord(state.info.id) { try env.journal.append(.channel(state.info.id, record)) }
        let seq = state.apply(record)
        appliedLSN = lsn
        noteSent(record)
        if let event = state.event(reporting: record, seq: seq) {
            if proposal == nil { unpublished.append((lsn, event)) } else { eventLog.append(event) }
        }
        let value = result(state, seq)
        if let proposal {
            try await awaitReplicated(proposal, lsn: lsn, seq: seq)
        } else {
            try await env.journal.waitDurable(lsn)
            publishDurable(upTo: lsn)
        }
        return value
    }

    /// Notes a sent message in the node's ``MessageLocator`` (until a checkpoint stores it).
    func noteSent(_ record: ChannelRecord) {
        if case .messageSent(let new) = record, let message = state.message(new.id) { env.directory.messages.note(message) }
    }

    /// Publishes the held events of every record up to `lsn` (now durable), oldest first.
    ///
    /// Durability is monotonic, so whichever commit resumes first publishes for the others too,
    /// and events always leave in seq order.
    func publishDurable(upTo lsn: UInt64) {
        let count = unpublished.prefix { $0.lsn <= lsn }.count
        guard count > 0 else { return }
        let due = unpublished.prefix(count)
        unpublished.removeFirst(count)
        for (_, event) in due {
            eventLog.append(event)
            publish(event)
        }
    }

    /// A replicated channel's records up to `seq` are committed. A serving primary (`toEdges`)
    /// hands the edges every committed event it has not handed on, oldest first. A backup or a
    /// recovering primary hands on nothing and keeps `publishedSeq`: an edge that subscribed here
    /// was promised every event after it, so what this replica learns committed before it serves
    /// goes out when it does (docs/replication.md). Events the log no longer holds go out as a
    /// `resync`: the edges replay from their sockets' positions.
    func publishCommitted(upTo seq: UInt64, toEdges: Bool) {
        guard toEdges, seq > publishedSeq else { return }
        switch eventLog.events(after: publishedSeq, channelSeq: state.lastSeq) {
        case .events(let events):
            for event in events where event.seq! <= seq { publish(event) }
        case .unavailable:
            publish(ChannelEvent(channelID: state.info.id, seq: nil, createdAt: env.clock.now(), payload: .resync))
        }
        publishedSeq = seq
    }

    /// The seq of the last event every subscribed edge got (or will get from a replay).
    private var acknowledgedSeq: UInt64 { replica == nil ? eventLog.lastSeq : min(publishedSeq, eventLog.lastSeq) }

    /// Hands `event` to every subscribed edge.
    func publish(_ event: ChannelEvent) {
        for sink in subscribers.values {
            sink.deliver(event)
        }
    }

    /// Logs and applies `record`, waits until it is durable, and returns its seq.
    @discardableResult
    private func commit(_ record: ChannelRecord) async throws -> UInt64 {
        try await commit(record) { _, seq in seq }
    }

    /// The state and the LSN it includes.
    distributed func snapshot() -> NodeState.Snapshot<ChannelState> {
        NodeState.Snapshot(state: state, appliedLSN: appliedLSN)
    }

    /// Loads message `id` from the store into memory if it is only there, so rules can see it.
    func ensureLoaded(_ id: MessageID) throws {
        guard state.mayBeInStore(id), let store = env.store else { return }
        if let message = try store.message(id, in: state.info.id) {
            state.load(message)
        }
    }

    /// Takes over the channel as a hand-off stored it here (`snapshot`, read back from the store):
    /// an actor of it that was still alive (passivated, or replaced in the directory, while a task
    /// held it) must not serve its older state.
    func takeOver(_ snapshot: NodeState.Snapshot<ChannelState>) {
        state = snapshot.state
        appliedLSN = snapshot.appliedLSN
        storedLSN = snapshot.storedLSN
        unpublished = []
        eventLog = ChannelEventLog(capacity: env.eventLogCapacity, floor: state.lastSeq)
        publishedSeq = state.lastSeq
        restartReplica(at: state.lastSeq, terms: state.replicaTerms)
    }

    // MARK: Checkpoints

    /// What a checkpoint writes for this channel: its metadata and dirty messages; `nil` if the
    /// store already has everything.
    func prepareFlush() -> ChannelFlush? {
        guard appliedLSN > storedLSN else { return nil }
        return ChannelFlush(
            metadata: state.metadata, messages: state.dirtyMessages, appliedLSN: appliedLSN, seq: state.lastSeq,
            eraseThrough: state.storeErasedThrough)
    }

    /// The checkpoint wrote `flush`: forget its changes and trim the memory window.
    func completeFlush(_ flush: ChannelFlush) {
        storedLSN = flush.appliedLSN
        state.completeFlush(upTo: flush.seq, keeping: env.messageWindow)
        env.directory.noteStored(state.info.id, lsn: flush.appliedLSN)
    }

    // MARK: Channel

    /// The channel, for a member.
    public distributed func info(for user: UserID) throws -> ChannelInfo {
        _ = try state.requireMember(user)
        return state.info
    }

    /// What `user` sees in their channel list; `nil` if they are not a member.
    public distributed func summary(for user: UserID) throws -> ChannelSummary? {
        guard state.members[user] != nil else { return nil }
        return state.summary(for: user, unreadCount: try unreadCount(for: user))
    }

    /// Unread messages of `user`: from memory, plus the store when the cursor is older than the window.
    func unreadCount(for user: UserID) throws -> Int {
        let channel = state.info.id
        return try state.unreadCount(for: user) { rule, before, excluded in
            try env.store?.unreadCount(in: channel, by: rule, before: before, excluding: excluded) ?? 0
        }
    }

    /// Renames the channel.
    public distributed func update(name: String, by user: UserID) async throws -> ChannelInfo {
        try await commit(try state.decideUpdate(name: name, by: user, at: env.clock.now(), limits: env.limits)) { state, _ in state.info }
    }

    /// Hides (`true`) or shows the channel in `user`'s list, and tells the user's own Stream
    /// sockets (`channel.hidden` with `clearHistory`, or `channel.visible`).
    public distributed func setHidden(_ hidden: Bool, by user: UserID, clearHistory: Bool = false) async throws {
        if let record = try state.decideHidden(hidden, by: user, at: env.clock.now()) {
            try await commit(record)
        }
        publish(ChannelEvent(
            channelID: state.info.id, seq: nil, createdAt: env.clock.now(), payload: .notice(user: user, hidden ? .hidden(clearHistory: clearHistory) : .visible)))
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
        try await env.operations.checkCanJoin(target)
        // The state may have changed while we asked; decide again.
        let member = Member(userID: target, role: role, joinedAt: env.clock.now())
        let seq = try await commit(try state.decideAddMember(member, by: user, limits: limits))
        try await env.operations.membershipChanged(of: target, in: state.info.id, isMember: true, seq: seq)
        return member
    }

    /// Removes `target` (or lets them leave when `by == target`).
    public distributed func removeMember(_ target: UserID, by user: UserID) async throws {
        let now = env.clock.now()
        let seq = try await commit(try state.decideRemoveMember(target, by: user, at: now))
        stopTyping(target, at: now)
        try await env.operations.membershipChanged(of: target, in: state.info.id, isMember: false, seq: seq)
    }

    // MARK: Messages

    /// Posts a message; ends the sender's typing.
    public distributed func send(_ draft: MessageDraft, from sender: UserID, senderName: String) async throws -> Message {
        try await send(draft, from: sender, senderName: senderName, clientMessageID: nil).message
    }

    /// Posts a message, or, when `sender` already posted one with `clientMessageID` (a retry),
    /// returns that one once it is durable and posts nothing.
    /// `asServer`: a server token acts as `sender` (the type's grants do not apply).
    public distributed func send(
        _ draft: MessageDraft, from sender: UserID, senderName: String, clientMessageID: String?, asServer: Bool = false
    ) async throws -> SentMessage {
        let now = env.clock.now()
        _ = try state.requireMember(sender)
        try requireGranted("create-message", to: sender, asServer: asServer)
        if let clientMessageID, let original = state.message(sentBy: sender, clientID: clientMessageID) {
            try ensureLoaded(original)
            // The original may still be on its way to disk: answer no earlier than its own send would.
            let (applied, seq) = (appliedLSN, state.lastSeq)
            guard let message = state.message(original) else { throw ChatError.messageNotFound(original) }
            try await awaitAcknowledgeable(lsn: applied, seq: seq)
            return SentMessage(message: message, replayed: true)
        }
        try checkContent(draft.body, attachments: draft.attachments.count, messageID: nil)
        let id = env.ids.next(after: state.recent.last?.id, now: now)
        let record = try state.decideSend(
            draft, id: id, from: sender, senderName: senderName, at: now, limits: limits, clientMessageID: clientMessageID)
        stopTyping(sender, at: now)
        let sent = try await commit(record) { state, _ in SentMessage(message: state.recent[state.recent.count - 1], replayed: false) }
        env.stats.messagesSent.add(1, ordering: .relaxed)
        return sent
    }

    /// Edits the caller's own message.
    public distributed func edit(
        _ id: MessageID, body: String, inlineEmotes: [InlineEmote], by user: UserID, asServer: Bool = false
    ) async throws -> Message {
        try requireGranted("update-message-owner", to: user, asServer: asServer)
        try ensureLoaded(id)
        try checkContent(body, attachments: 0, messageID: id)
        let record = try state.decideEdit(id, body: body, inlineEmotes: inlineEmotes, by: user, at: env.clock.now(), limits: limits)
        return try await commit(record) { state, _ in state.message(id)! }
    }

    /// Deletes a message; succeeds again if it is already deleted.
    public distributed func delete(_ id: MessageID, by user: UserID, asServer: Bool = false) async throws {
        try ensureLoaded(id)
        let own = state.message(id)?.senderID == user
        try requireGranted(own ? "delete-message-owner" : "delete-message", to: user, asServer: asServer)
        if let record = try state.decideDelete(id, by: user, at: env.clock.now()) {
            try await commit(record)
        }
    }

    /// Adds the caller's reaction.
    public distributed func addReaction(_ emote: AssetID, to id: MessageID, by user: UserID, asServer: Bool = false) async throws {
        try requireEnabled(\.reactions, "reactions")
        try requireGranted("create-reaction", to: user, asServer: asServer)
        try ensureLoaded(id)
        try await commit(try state.decideAddReaction(id, emote: emote, by: user, at: env.clock.now()))
    }

    /// Removes the caller's reaction.
    public distributed func removeReaction(_ emote: AssetID, from id: MessageID, by user: UserID, asServer: Bool = false) async throws {
        try requireGranted("delete-reaction", to: user, asServer: asServer)
        try ensureLoaded(id)
        try await commit(try state.decideRemoveReaction(id, emote: emote, by: user, at: env.clock.now()))
    }

    /// The attachment `asset` of message `id`, for a member.
    public distributed func attachment(_ asset: AssetID, of id: MessageID, for user: UserID) throws -> Attachment {
        try ensureLoaded(id)
        return try state.attachment(asset, of: id, for: user)
    }

    /// Sets the caller's read cursor.
    public distributed func markRead(_ id: MessageID, by user: UserID, asServer: Bool = false) async throws -> ReadCursor {
        try requireEnabled(\.readEvents, "read events")
        try requireGranted("read-channel", to: user, asServer: asServer)
        try ensureLoaded(id)
        return try await commit(try state.decideMarkRead(id, by: user, at: env.clock.now())) { state, _ in state.members[user]!.readCursor! }
    }

    // MARK: Events

    /// Starts (or keeps) handing this channel's events to edge `edge`. `generation` orders the
    /// edge's subscribe and unsubscribe calls, which may arrive out of order: a call older than the
    /// last one applied for that edge is ignored.
    /// Returns the seq of the last published event: every later event reaches the edge.
    @discardableResult
    public distributed func subscribe(edge: String, generation: UInt64) -> UInt64 {
        guard generation > subscriptionGenerations[edge, default: 0] else { return acknowledgedSeq }
        subscriptionGenerations[edge] = generation
        guard let sink = env.operations.eventSink(edge: edge) else { return acknowledgedSeq }
        subscribers[edge] = sink
        env.directory.noteSubscribed(state.info.id, !subscribers.isEmpty)
        return acknowledgedSeq
    }

    /// Stops handing events to edge `edge` (see ``subscribe(edge:generation:)``).
    public distributed func unsubscribe(edge: String, generation: UInt64) {
        guard generation > subscriptionGenerations[edge, default: 0] else { return }
        subscriptionGenerations[edge] = generation
        subscribers[edge] = nil
        env.directory.noteSubscribed(state.info.id, !subscribers.isEmpty)
    }

    /// The published events after `seq`, for a member resuming; say when some are no longer kept.
    public distributed func replay(after seq: UInt64, for user: UserID) throws -> ChannelReplay {
        _ = try state.requireMember(user)
        let through = acknowledgedSeq
        switch eventLog.events(after: seq, channelSeq: state.lastSeq) {
        case .events(let events):
            return ChannelReplay(events: events.filter { $0.seq! <= through }, through: through, available: true)
        case .unavailable:
            return ChannelReplay(events: [], through: through, available: false)
        }
    }
}

/// What one checkpoint takes from one channel.
struct ChannelFlush: Sendable {
    var metadata: ChannelState
    var messages: [Message]
    var appliedLSN: UInt64
    /// The channel seq the flush includes.
    var seq: UInt64
    /// Stored messages up to this id are to be deleted (a hard truncate or delete).
    var eraseThrough: MessageID?
}
