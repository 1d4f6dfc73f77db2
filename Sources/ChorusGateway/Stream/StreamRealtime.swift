import ChorusAuth
import ChorusChat
import ChorusModel
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// `GET /connect`: the Stream-compatible WebSocket (docs/stream-api.md, "WebSocket").
///
/// Auth and the user come as query parameters (`api_key`, `authorization`, `stream-auth-type`,
/// `json={"user_id", "user_details"}`). The connection creates or renames the user, follows every
/// channel of theirs, then sends `health.check` with `connection_id` and `me`, and another every
/// heartbeat interval. Events are the edge's fan-out, encoded once per event in Stream's format.
/// A precondition failure (key, token, payload) sends one `{"error": …}` event and closes with 1000.
struct StreamRealtimeEndpoint: Sendable {
    let v1: RealtimeEndpoint
    let apiKey: String

    var hub: RealtimeHub { v1.hub }
    var node: ChatNode { hub.node }

    /// What `/connect` carries in its query (read before the upgrade, as plain strings).
    struct ConnectRequest: Sendable {
        var apiKey: String?
        var token: String?
        var authType: String?
        var json: String?
    }

    /// Serves upgrades of `GET /connect` (`nil` for any other path).
    func upgrade(_ head: HTTPRequestHead) -> HTTPServerChannel.WebSocketService? {
        let uri = URI(head.uri)
        guard uri.path == "/connect" else { return nil }
        let query = uri.queryParameters
        let request = ConnectRequest(
            apiKey: query.get("api_key"), token: query.get("authorization") ?? head.headers.first(name: "authorization"),
            authType: query.get("stream-auth-type") ?? head.headers.first(name: "stream-auth-type"), json: query.get("json"))
        return { socket, logger in
            v1.start(socket, logger: logger) {
                let session = try await open(request)
                guard let logger = await v1.attachWriter(session, socket: socket, logger: logger) else { return nil }
                return (session, logger, try await v1.forgetting(session, ifThrows: { try await setUp(session, logger: logger) }))
            } refused: { error in
                let streamError = StreamError(classifying: error) ?? StreamError(.internalError, .internalServerError, "the connection could not start")
                socket.close(.normalClosure, reason: String(streamError.message.prefix(120)), after: [StreamEvents.error(streamError)])
            } run: { (session: RealtimeSession, me: JSONValue) in
                let connectionID = session.id
                // The keep-alive's clock starts before the client can see the first frame.
                v1.startKeepAlive(session) { now in StreamEvents.healthCheck(connectionID: connectionID, me: nil, at: now) }
                session.send(StreamEvents.healthCheck(connectionID: connectionID, me: me, at: node.clock.now()))
                session.endResumeWindow()
                // Stream clients send only their own `health.check`s on this socket; they are read and dropped.
                socket.consume { _ in }
            }
        }
    }

    /// Checks the key, the token and the payload; creates or renames the user; registers the session.
    private func open(_ request: ConnectRequest) async throws -> RealtimeSession {
        guard request.apiKey == apiKey else { throw StreamError(.accessKey, .unauthorized, "api_key is missing or not valid") }
        switch request.authType?.lowercased() ?? "jwt" {
        case "jwt": break
        case "anonymous": throw StreamError.notAllowed("anonymous WebSocket connections are not supported; connect with a user token")
        default: throw StreamError.authentication("stream-auth-type must be jwt or anonymous")
        }
        guard let token = StreamMiddleware.token(request.token) else { throw StreamError.authentication("authorization (the user's JWT) is missing") }
        let claims: JWT.Claims
        do {
            claims = try v1.tokens.verify(token, now: node.clock.now())
        } catch {
            throw StreamMiddleware.tokenError(error)
        }
        guard let raw = claims.userID, let user = UserID(raw) else {
            throw StreamError.authentication("a WebSocket needs a user token (with user_id), not a server token")
        }
        guard let json = request.json, let payload = try? JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)), case .object(let fields) = payload else {
            throw StreamError.input("json must be a JSON object with user_id and user_details")
        }
        let body = StreamBody(fields, path: "json")
        if let named = try body.userID("user_id"), named != user {
            throw StreamError.notAllowed("json.user_id \(named) does not match the token's user \(user)")
        }
        if let retryAfter = v1.rateLimiter.acquire(user) {  // shared with the user's REST calls
            throw StreamError(.rateLimited, .tooManyRequests, "too many requests; retry in \(retryAfter) s", retryAfter: retryAfter)
        }
        let profile = try await node.ensureUser(user, displayName: claims.name)
        if let name = try body.object("user_details")?.string("name"), name != profile.displayName {
            _ = try await node.upsertUser(user, displayName: name)
        }
        let session = RealtimeSession(
            id: RealtimeEndpoint.connectionID(), user: user, format: .stream, bufferLimit: v1.configuration.outboundBufferBytes,
            grace: v1.configuration.slowConsumerGraceSeconds.secondsDuration, clock: node.clock, counters: hub.counters)
        do {
            try hub.register(session)
        } catch {
            throw StreamError(chat: error)
        }
        return session
    }

    /// Follows every channel of the user and returns `me`: the user with unread counts and mutes.
    /// Throws if the user's channels cannot be listed (the socket is refused: it would get no
    /// events); a channel that cannot be followed (its owner stayed out of reach through the
    /// follow's retries) is left out of `me` and logged.
    private func setUp(_ session: RealtimeSession, logger: Logger) async throws -> JSONValue {
        let user = session.user
        let ids = try await node.channelIDs(of: user)
        let views = await withTaskGroup(of: ChannelView?.self) { group in
            for id in ids {
                group.addTask {
                    do {
                        let view = try await node.withChannel(id) { try await $0.view(for: user, messages: .latest(limit: 0)) }
                        hub.noteAddress(view.address, of: id)
                        try await hub.follow(session, id, .untilResumeWindowEnds)
                        return view
                    } catch {
                        logger.warning("cannot follow channel", metadata: ["channel.id": "\(id)", "error": "\(error)"])
                        return nil
                    }
                }
            }
            var views: [ChannelView] = []
            for await view in group {
                if let view { views.append(view) }
            }
            return views
        }
        let mutes = (try? await node.withUser(user) { try await $0.activeMutes() }) ?? []
        let profile = try? await node.profile(of: user)
        let addresses = Dictionary(views.map { ($0.info.id, $0.address) }, uniquingKeysWith: { first, _ in first })
        let unread = views.map { $0.unreadCount ?? 0 }
        let me: [String: JSONValue] = [
            "id": .string(user.rawValue), "name": .string(profile?.displayName ?? user.rawValue), "role": "user", "online": true,
            "created_at": profile.map { StreamJSON.time($0.createdAt) } ?? .null, "banned": false,
            "total_unread_count": .number(Double(unread.reduce(0, +))), "unread_channels": .number(Double(unread.count { $0 > 0 })),
            "channel_mutes": .array(mutes.compactMap { mute -> JSONValue? in
                guard let address = addresses[mute.channelID] else { return nil }
                return [
                    "channel": ["cid": .string(address.cid), "type": .string(address.type), "id": .string(address.id)],
                    "user": ["id": .string(user.rawValue)], "created_at": StreamJSON.time(mute.createdAt),
                    "expires": mute.expires.map(StreamJSON.time) ?? .null,
                ]
            }),
            "mutes": [], "devices": [],
        ]
        return .object(me)
    }
}
