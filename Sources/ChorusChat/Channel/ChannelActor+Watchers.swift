import ChorusModel
import Distributed

/// The Stream connections that watch a channel: ephemeral state of its actor, never logged.
///
/// A connection (a socket's `connection_id`) watches on behalf of its user; a user watches while
/// any of their connections does. The list is lost when the channel moves to another node or its
/// node restarts; the edges that hold the sockets register them again (docs/stream-api.md, "Watching").
struct ChannelWatchers: Sendable {
    /// Connections in the order they started watching, with their user.
    private var connections: [(id: String, user: UserID)] = []

    /// Adds `connection`; returns whether `user` was not watching before.
    mutating func add(_ connection: String, user: UserID) -> Bool {
        if connections.contains(where: { $0.id == connection }) { return false }
        let isNew = !connections.contains { $0.user == user }
        connections.append((connection, user))
        return isNew
    }

    /// Removes `connection`; returns its user and whether that user no longer watches, or `nil`
    /// if the connection was not watching.
    mutating func remove(_ connection: String, of user: UserID) -> (user: UserID, stopped: Bool)? {
        guard let index = connections.firstIndex(where: { $0.id == connection && $0.user == user }) else { return nil }
        let user = connections.remove(at: index).user
        return (user, !connections.contains { $0.user == user })
    }

    /// Distinct watching users, in the order they started watching.
    var users: [UserID] {
        var seen = Set<UserID>()
        return connections.compactMap { seen.insert($0.user).inserted ? $0.user : nil }
    }
}

extension ChannelActor {
    /// The most watchers a view lists (`watcher_count` counts all).
    public static let viewedWatchersLimit = 300

    /// Starts (or updates) `connection`'s watch of the channel for `user`, who must be able to read
    /// it (a member, or anyone for a room). The change reaches every subscribed edge as a
    /// `watching` event, in the channel's event order: the edge that holds the socket marks it
    /// watching before any later event of the channel reaches it. `announce: false` re-registers a
    /// watch after the channel moved, without `user.watching.start`.
    public distributed func watch(_ user: UserID, connection: String, presence: Bool, announce: Bool = true) throws {
        try state.requireLive()
        if state.info.kind != .room { _ = try state.requireMember(user) }
        let started = watchers.add(connection, user: user)
        let change = ChannelEvent.WatchChange(
            user: user, connectionID: connection, watching: true, presence: presence, announce: started && announce,
            watcherCount: watchers.users.count)
        publish(ChannelEvent(channelID: state.info.id, seq: nil, createdAt: env.clock.now(), payload: .watching(change)))
    }

    /// Ends `connection`'s watch for `user` (the client stopped watching, or its socket closed).
    public distributed func stopWatching(connection: String, by user: UserID) {
        guard let (user, stopped) = watchers.remove(connection, of: user) else { return }
        let change = ChannelEvent.WatchChange(
            user: user, connectionID: connection, watching: false, presence: false, announce: stopped, watcherCount: watchers.users.count)
        publish(ChannelEvent(channelID: state.info.id, seq: nil, createdAt: env.clock.now(), payload: .watching(change)))
    }

    /// Member `user` came online or went offline: tells the watchers that asked for presence
    /// (unless the channel's type turns `connect_events` off).
    public distributed func presenceChanged(_ user: UserID, online: Bool) {
        guard state.members[user] != nil, typeSettings?.connectEvents ?? true else { return }
        publish(ChannelEvent(channelID: state.info.id, seq: nil, createdAt: env.clock.now(), payload: .presence(user: user, online: online)))
    }

    /// Tells member `user`'s own Stream sockets of `notice` (for example that they muted the channel).
    public distributed func notify(_ notice: ChannelEvent.Notice, to user: UserID) throws {
        _ = try state.requireMember(user)
        publish(ChannelEvent(channelID: state.info.id, seq: nil, createdAt: env.clock.now(), payload: .notice(user: user, notice)))
    }
}
