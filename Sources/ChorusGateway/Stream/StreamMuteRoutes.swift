import ChorusChat
import ChorusModel
import Hummingbird

/// Channel mutes: `POST /moderation/mute/channel` and `POST /moderation/unmute/channel`.
///
/// A mute belongs to the user (it is a record of their user actor). Its `expiration` (in
/// milliseconds) ends it by the node's clock, checked when it is read: there is no timer.
struct StreamMuteRoutes {
    let node: ChatNode
    let maxBodyBytes: Int

    func register(on api: RouterGroup<ChorusRequestContext>) {
        api.post("moderation/mute/channel") { request, context in try await change(mute: true, request, context) }
        api.post("moderation/unmute/channel") { request, context in try await change(mute: false, request, context) }
    }

    /// The channels a mute names: `channel_cids` (at most 25) and/or `channel_cid`.
    private func channels(in body: StreamBody) throws -> [ChannelAddress] {
        var cids = try body.strings("channel_cids", max: 25) ?? []
        if let single = try body.string("channel_cid") { cids.append(single) }
        guard !cids.isEmpty else { throw StreamError.input("channel_cids (or channel_cid) is required") }
        return try cids.map { cid in
            guard let address = ChannelAddress(cid: cid) else { throw StreamError.input("channel_cids: \(cid.prefix(80)) is not a cid (type:id)") }
            return address
        }
    }

    func change(mute: Bool, _ request: Request, _ context: ChorusRequestContext) async throws -> Response {
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        let user = try context.requireStreamUser(named: try body.actingUser(), what: mute ? "mute channels" : "unmute channels")
        let addresses = try channels(in: body)
        for address in addresses where node.channelTypes.settings(address.type)?.mutes == false {
            throw StreamError.notAllowed("mutes are turned off for channel type \(address.type)")
        }
        let expiration = try body.int("expiration", in: 1...(10 * 365 * 86_400_000))
        // The channels must exist and the user must be able to see them.
        var views: [ChannelView] = []
        for address in addresses {
            views.append(try await StreamChannelRoutes.view(of: address, for: user, messages: 0, node: node))
        }
        let ids = views.map(\.info.id)
        guard mute else {
            try await node.withUser(user) { try await $0.unmute(ids) }
            await notify(.unmuted, user, of: ids)
            return try StreamJSON.response([:], status: .created, context: context)
        }
        let expires = expiration.map { node.clock.now().advanced(by: .milliseconds($0)) }
        let mutes = try await node.withUser(user) { try await $0.mute(ids, expires: expires) }
        await notify(.muted, user, of: ids)
        let shapes = try await StreamShapes.load(for: views, node: node)
        let objects: [JSONValue] = zip(mutes, views).map { mute, view in
            [
                "user": shapes.user(user), "channel": shapes.channel(view), "created_at": StreamJSON.time(mute.createdAt),
                "updated_at": StreamJSON.time(mute.createdAt), "expires": mute.expires.map(StreamJSON.time) ?? .null,
            ]
        }
        var answer: [String: JSONValue] = ["channel_mutes": .array(objects), "own_user": shapes.user(user)]
        if objects.count == 1 { answer["channel_mute"] = objects[0] }
        return try StreamJSON.response(answer, status: .created, context: context)
    }

    /// Tells the user's own sockets (`channel.muted` / `channel.unmuted`); the mute stands either way.
    private func notify(_ notice: ChannelEvent.Notice, _ user: UserID, of channels: [ChannelID]) async {
        for id in channels {
            try? await node.withChannel(id) { try await $0.notify(notice, to: user) }
        }
    }
}
