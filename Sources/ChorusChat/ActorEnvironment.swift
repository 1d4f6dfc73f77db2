import ChorusModel
import ChorusStorage
import Logging
import Synchronization

/// What a channel or user actor uses of its node, and nothing more: where its records go, the
/// clock, the limits, the store behind its memory window, the id source, the directory that
/// tracks it for passivation, and the operations that reach other actors.
///
/// One object that every actor of the node shares (``ChatNode/environment``): inline, its ~0.45 KiB
/// were copied into every channel's and user's actor.
final class ActorEnvironment: Sendable {
    /// The node's WAL (or an in-memory journal).
    let journal: any Journal
    let clock: any TimeSource
    let limits: ChatLimits
    /// How long one typing call keeps a user typing.
    let typingTTL: Duration
    /// How many recent messages a channel keeps in memory after a checkpoint.
    let messageWindow: Int
    /// How many recent events a channel keeps for resuming clients.
    let eventLogCapacity: Int
    /// History beyond the memory window (`nil` for an in-memory node).
    let store: HistoryStore?
    let ids: MessageIDSource
    let directory: ActorDirectory
    let operations: any ChatOperations
    /// How channels replicate their logs; nil when they do not (one node, or factor 1).
    let replication: ReplicationContext?
    /// Every channel type's settings.
    let channelTypes: ChannelTypeRegistry
    /// What the node counts for its metrics.
    let stats: ChatStats
    let logger: Logger

    init(
        journal: any Journal, clock: any TimeSource, limits: ChatLimits, typingTTL: Duration, messageWindow: Int, eventLogCapacity: Int,
        store: HistoryStore?, ids: MessageIDSource, directory: ActorDirectory, operations: any ChatOperations, replication: ReplicationContext?,
        channelTypes: ChannelTypeRegistry, stats: ChatStats, logger: Logger
    ) {
        self.journal = journal
        self.clock = clock
        self.limits = limits
        self.typingTTL = typingTTL
        self.messageWindow = messageWindow
        self.eventLogCapacity = eventLogCapacity
        self.store = store
        self.ids = ids
        self.directory = directory
        self.operations = operations
        self.replication = replication
        self.channelTypes = channelTypes
        self.stats = stats
        self.logger = logger
    }
}

/// What a node's actors count for its metrics (a few atomic adds).
public final class ChatStats: Sendable {
    let messagesSent = Atomic<Int>(0)

    init() {}

    /// Messages posted through channels whose primary is this node.
    public var messages: Int { messagesSent.load(ordering: .relaxed) }
}

/// The operations of a node that an actor starts on other actors (each may cross nodes).
protocol ChatOperations: AnyObject, Sendable {
    /// The sink of edge `name`: this node's, or a forwarder to a peer's edge.
    func eventSink(edge name: String) -> (any EdgeEventSink)?
    /// Tells `user`'s actor and every edge that `user` joined or left `channel` at `seq`.
    func membershipChanged(of user: UserID, in channel: ChannelID, isMember: Bool, seq: UInt64) async throws
    /// Whether user `id` exists.
    func userExists(_ id: UserID) async throws -> Bool
    /// Throws unless user `id` exists and may join one more channel (``UserActor/checkCanJoin()``).
    func checkCanJoin(_ id: UserID) async throws
    /// Runs `body` on user `id`'s actor, here or on its owner.
    func withUser<Result>(_ id: UserID, _ body: (UserActor) async throws -> Result) async throws -> Result
    /// Creates the DM channel of two users on its owner; returns it with its members.
    func createDirectChannel(between first: UserID, and second: UserID) async throws -> (ChannelInfo, [Member])
    /// Tells each member's actor and the edges that they are members of `channel`.
    func announceMembers(of channel: ChannelID, _ members: [Member]) async throws
}

/// New message ids: from this node's snowflake generator, always above a channel's last id and
/// above every id this node has seen (recovered or handed over).
final class MessageIDSource: Sendable {
    private let generator: Mutex<SnowflakeGenerator>

    init(node: UInt64) {
        generator = Mutex(SnowflakeGenerator(node: node))
    }

    /// A new id for a channel whose last message id is `last`.
    func next(after last: MessageID?, now: Timestamp) -> MessageID {
        let next = generator.withLock { $0.next(now: now) }
        guard let last, last.rawValue >= next else { return MessageID(rawValue: next) }
        return MessageID(rawValue: last.rawValue + 1)
    }

    /// A raw id for a new channel.
    func nextRaw(now: Timestamp) -> UInt64 {
        generator.withLock { $0.next(now: now) }
    }

    /// Ids made from now on stay above `id`.
    func advance(past id: UInt64) {
        generator.withLock { $0.advance(past: id) }
    }
}
