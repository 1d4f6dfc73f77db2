import ChorusChat
import ChorusModel

/// `watch: true` on get-or-create and query channels, and `POST /channels/{type}/{id}/stop-watching`
/// (docs/stream-api.md, "Watching").
///
/// A Stream socket hears all events of the channels it watches and only notification events of
/// its user's other channels. The watch is recorded by the channel's actor (`watcher_count`,
/// `watchers`, `user.watching.start`) and reaches the socket's edge as a `watching` event in the
/// channel's event order, so every later event of the channel reaches the socket as a watcher's.
/// The socket may be on any node of the cluster; on a single node an unknown `connection_id` is
/// refused.
struct StreamWatch {
    let node: ChatNode
    /// This node's edge (`nil` in a router without WebSockets).
    let hub: RealtimeHub?

    /// What a request asks: watch on `connection`, with the members' presence or not.
    struct Request {
        var connection: String
        var presence: Bool
    }

    /// The watch a body asks for: `nil` unless `watch` is true.
    static func request(_ body: StreamBody) throws -> Request? {
        guard try body.bool("watch") == true else { return nil }
        guard let connection = try body.string("connection_id"), !connection.isEmpty else {
            throw StreamError.input("connection_id (from the WebSocket's first health.check) is required with watch: true")
        }
        return Request(connection: connection, presence: try body.bool("presence") ?? false)
    }

    /// Makes the request's connection watch `channels` as `user` (the acting user, else the
    /// socket's own user when it is on this node).
    func watch(_ channels: [ChannelID], _ request: Request, as user: UserID?) async throws {
        let user = try owner(of: request.connection, actingAs: user)
        let local = hub?.session(request.connection)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in channels {
                group.addTask {
                    if let local, let hub, !local.follows(id) {
                        // Not a member (anyone may watch a public channel): the socket follows it
                        // while it watches, up to realtime.max_watched_channels such channels.
                        let limit = hub.configuration.maxWatchedChannels
                        guard local.noteFollowedForWatch(id, limit: limit) else {
                            throw StreamError.input("a socket watches at most \(limit) channels it is not a member of (realtime.max_watched_channels); stop watching some first")
                        }
                        do {
                            try await hub.follow(local, id, .live)
                        } catch {
                            _ = local.followedForWatch(id)
                            throw error
                        }
                    }
                    try await node.withChannel(id) { try await $0.watch(user, connection: request.connection, presence: request.presence) }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Ends the connection's watch of `channel`.
    func stopWatching(_ channel: ChannelID, connection: String, as user: UserID?) async throws {
        let user = try owner(of: connection, actingAs: user)
        try await node.withChannel(channel) { try await $0.stopWatching(connection: connection, by: user) }
        if let hub, let local = hub.session(connection), local.followedForWatch(channel) {
            hub.unfollow(local, channel)
        }
    }

    /// The user a watch of `connection` is for; refuses a socket of another user, and on a
    /// single node a connection that is not open.
    private func owner(of connection: String, actingAs user: UserID?) throws -> UserID {
        let local = hub?.session(connection)
        if let local, let user, local.user != user {
            throw StreamError.notAllowed("connection \(connection) is another user's socket")
        }
        if local == nil, node.cluster == nil, hub != nil {
            throw StreamError.input("connection_id \(connection) is not an open WebSocket of this node")
        }
        guard let user = user ?? local?.user else {
            throw StreamError.input("a server watch must name user_id (the socket's user)")
        }
        return user
    }
}
