import ChorusChat
import ChorusModel
import Hummingbird

/// `POST /channels/{type}/{id}/event`: typing and custom events.
extension StreamChannelRoutes {
    /// Fields of an event object that the server sets.
    static let reservedEventFields: Set<String> = ["type", "user", "user_id", "cid", "channel_type", "channel_id", "created_at"]
    /// Event type prefixes that are Stream's own.
    static let reservedEventFamilies = ["message.", "channel.", "typing.", "user.", "member.", "reaction.", "notification.", "health.", "connection."]

    /// `POST /channels/{type}/{id}/event` `{"event": {"type": "typing.start" | "typing.stop" | <custom>, …}}`.
    /// A custom event's type is 1-64 characters outside Stream's own families; its other fields
    /// (at most 5 KB) reach the channel's watchers as given.
    @Sendable func sendEvent(_ request: Request, context: ChorusRequestContext) async throws -> Response {
        let body = try await StreamBody.read(request, limit: maxBodyBytes)
        guard let event = try body.object("event"), let type = try event.string("type") else { throw StreamError.input("event.type is required") }
        let user = try context.requireStreamUser(named: try event.actingUser() ?? body.actingUser(), what: "send events")
        let fields = event.fields.filter { !Self.reservedEventFields.contains($0.key) }
        if !["typing.start", "typing.stop"].contains(type) {
            guard (1...64).contains(type.count), !Self.reservedEventFamilies.contains(where: type.hasPrefix) else {
                throw StreamError.input("event.type \(type.prefix(64)) is not a custom event type: 1-64 characters, not one of Stream's own (\(Self.reservedEventFamilies.joined(separator: ", ")))")
            }
            guard (try? StreamJSON.encoder.encode(JSONValue.object(fields)).count) ?? 0 <= 5_120 else {
                throw StreamError.input("event: a custom event's fields must be at most 5 KB")
            }
        }
        let (address, _) = try await withChannel(context) { channel, _ in
            switch type {
            case "typing.start": try await channel.startTyping(by: user)
            case "typing.stop": try await channel.stopTyping(by: user)
            default: try await channel.sendCustomEvent(type, fields: fields, by: user, asServer: context.isServer)
            }
        }
        let now = node.clock.now()
        return try StreamJSON.response(
            [
                "event": .object(fields.merging([
                    "type": .string(type), "cid": .string(address.cid), "channel_type": .string(address.type), "channel_id": .string(address.id),
                    "user": ["id": .string(user.rawValue)], "created_at": StreamJSON.time(now),
                ]) { _, own in own })
            ], status: .created, context: context)
    }
}
