import ChorusModel
import ChorusStorage
@testable import ChorusWire

/// Valid inputs for each target, so the fuzzer starts from what the decoders accept.
enum Seeds {
    static func inputs(for target: FuzzTarget) -> [[UInt8]] {
        switch target {
        case .wal: wal()
        case .wire: wire()
        case .binary: binary()
        case .ws: webSocket()
        case .http: http()
        }
    }

    private static let channel = ChannelID(rawValue: 7)
    private static let message = NewMessage(
        id: MessageID(rawValue: 42), senderID: UserID("alice")!, senderName: "Alice", draft: MessageDraft(body: "hello"),
        at: .seconds(1_735_689_600), clientMessageID: "m1")

    private static func wal() -> [[UInt8]] {
        let entries: [JournalEntry] = [.channel(channel, .messageSent(message))]
        var bytes: [UInt8] = []
        for entry in entries { entry.frame().encode(into: &bytes) }
        var legacy: [UInt8] = []
        if let frame = try? entries[0].legacyJSONFrame() { frame.encode(into: &legacy) }
        return [bytes, legacy]
    }

    private static func wire() -> [[UInt8]] {
        let argument = (try? BinaryEncoder().encode(message)) ?? []
        let call = Wire.Call(
            id: 1, recipientKind: "channel", recipientKey: "c-fuzz", target: "post", genericSubstitutions: [], arguments: [argument],
            timeoutMilliseconds: 1000, epoch: 1)
        return [
            Wire.Envelope.hello(Wire.Hello(cluster: "fuzz", node: "a", nonce: [1, 2, 3])).frame(),
            Wire.Envelope.call(call).frame(),
            Wire.Envelope.ping.frame(),
        ]
    }

    private static func binary() -> [[UInt8]] {
        [(try? BinaryEncoder().encode(message)) ?? [], (try? BinaryEncoder().encode(["a", "b"])) ?? []]
    }

    private static func webSocket() -> [[UInt8]] {
        [
            #"{"type": "resume", "channels": {"c1": 3}}"#, #"{"type": "typing", "channel_id": "c1"}"#, #"{"type": "ping"}"#,
        ].map { Array($0.utf8) }
    }

    /// Route byte, who byte, query, newline, body (see ``HTTPTarget``).
    private static func http() -> [[UInt8]] {
        func input(_ method: String, _ path: String, who: UInt8 = 0, query: String = "", body: String = "") -> [UInt8]? {
            guard let index = HTTPTarget.routes.firstIndex(where: { "\($0.0)" == method && $0.1 == path }) else { return nil }
            return [UInt8(index), who] + Array(query.utf8) + [UInt8(ascii: "\n")] + Array(body.utf8)
        }
        return [
            input("POST", "/v1/channels", body: #"{"type": "group", "name": "Team", "members": ["bob"]}"#),
            input("POST", "/v1/channels/{group}/messages", body: #"{"body": "hi", "client_message_id": "x1"}"#),
            input("GET", "/v1/channels/{group}/messages", query: "limit=10&before=5"),
            input("PUT", "/v1/channels/{group}/messages/{message}", body: #"{"body": "edited"}"#),
            input("POST", "/v1/channels/{group}/messages/{message}/reactions", body: #"{"emote": "smile"}"#),
            input("POST", "/channels/messaging/query", who: 1, body: #"{"filter_conditions": {"members": {"$in": ["alice"]}}, "sort": [{"field": "last_message_at", "direction": -1}], "limit": 10}"#),
            input("POST", "/channels/messaging/{channel}/message", who: 1, body: #"{"message": {"text": "hi", "user_id": "alice"}}"#),
            input("POST", "/users", who: 1, body: #"{"users": {"dave": {"id": "dave", "name": "Dave"}}}"#),
            input("GET", "/users", who: 1, query: #"payload=%7B%22filter_conditions%22%3A%7B%22id%22%3A%7B%22%24in%22%3A%5B%22alice%22%5D%7D%7D%7D"#),
            input("POST", "/segments", who: 1, body: #"{"segment": {"id": "s1", "name": "All", "type": "user", "filter": {"id": {"$gt": "a"}}}}"#),
            input("POST", "/campaigns", who: 1, body: #"{"campaign": {"id": "c1", "name": "Hi", "text": "Hello {{ user.name }}", "segment_id": "s1", "sender_id": "alice"}}"#),
            input("POST", "/channeltypes", who: 1, body: #"{"name": "fuzzed", "max_message_length": 100, "commands": ["giphy"]}"#),
            input("POST", "/export_channels", who: 1, body: #"{"channels": [{"type": "messaging", "id": "fuzz"}]}"#),
        ].compactMap { $0 }
    }
}
