import ChorusChat
import ChorusModel
import Foundation
import Hummingbird
import NIOCore

/// A Stream request's JSON body (or `?payload=` document), read field by field with errors that
/// name the field (`messages.limit must be an integer from 0 to 300`).
struct StreamBody: Sendable {
    var fields: [String: JSONValue]
    /// The field's path prefix in error messages (`""` at the top level).
    var path: String = ""

    init(_ fields: [String: JSONValue], path: String = "") {
        self.fields = fields
        self.path = path
    }

    /// The body of `request`: empty is `{}` (clients send DELETE and some POSTs without one).
    static func read(_ request: Request, limit: Int) async throws -> StreamBody {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw StreamError(.payloadTooBig, .contentTooLarge, "request body is \(length) bytes; the limit is \(limit)")
        }
        let buffer = try await request.body.collect(upTo: limit)
        guard buffer.readableBytes > 0 else { return StreamBody([:]) }
        return try parse(Data(buffer: buffer), what: "request body")
    }

    /// A user id in query parameter `name`; `nil` when absent.
    static func queryUserID(_ request: Request, _ name: String) throws -> UserID? {
        try request.uri.queryParameters.get(name).map { raw in
            guard let id = UserID(raw) else { throw StreamError.input("\(name) must be 1-64 characters from [A-Za-z0-9_.@-]") }
            return id
        }
    }

    /// The JSON document in the `payload` query parameter (query-style GETs).
    static func payload(_ request: Request) throws -> StreamBody {
        guard let text = request.uri.queryParameters.get("payload") else { throw StreamError.input("payload query parameter is missing") }
        return try parse(Data(text.utf8), what: "payload")
    }

    private static func parse(_ data: Data, what: String) throws -> StreamBody {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw StreamError.input("\(what) is not valid JSON")
        }
        guard case .object(let fields) = value else { throw StreamError.input("\(what) must be a JSON object") }
        return StreamBody(fields)
    }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    subscript(key: String) -> JSONValue? {
        if case .null = fields[key] { return nil }
        return fields[key]
    }

    func object(_ key: String) throws -> StreamBody? {
        guard let value = self[key] else { return nil }
        guard case .object(let members) = value else { throw StreamError.input("\(name(key)) must be an object") }
        return StreamBody(members, path: name(key))
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = self[key] else { return nil }
        guard case .bool(let bool) = value else { throw StreamError.input("\(name(key)) must be true or false") }
        return bool
    }

    func string(_ key: String) throws -> String? {
        guard let value = self[key] else { return nil }
        guard case .string(let string) = value else { throw StreamError.input("\(name(key)) must be a string") }
        return string
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = self[key] else { return nil }
        guard case .number(let number) = value, number.rounded() == number, let int = Int(exactly: number), range.contains(int) else {
            throw StreamError.input("\(name(key)) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return int
    }

    /// An RFC 3339 time (with or without fractional seconds).
    func time(_ key: String) throws -> Timestamp? {
        guard let text = try string(key) else { return nil }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text) else {
            throw StreamError.input("\(name(key)) must be an RFC 3339 time")
        }
        return Timestamp(milliseconds: Int64((date.timeIntervalSince1970 * 1000).rounded()))
    }

    func strings(_ key: String, max: Int) throws -> [String]? {
        guard let value = self[key] else { return nil }
        guard case .array(let elements) = value else { throw StreamError.input("\(name(key)) must be an array of strings") }
        guard elements.count <= max else { throw StreamError.input("\(name(key)) has \(elements.count) entries; at most \(max)") }
        return try elements.map { element in
            guard case .string(let string) = element else { throw StreamError.input("\(name(key)) must be an array of strings") }
            return string
        }
    }

    /// A user id field; `nil` when absent.
    func userID(_ key: String) throws -> UserID? {
        try string(key).map { raw in
            guard let id = UserID(raw) else { throw StreamError.input("\(name(key)) must be 1-64 characters from [A-Za-z0-9_.@-]") }
            return id
        }
    }

    /// Member ids given as strings or as `{"user_id": …}` / `{"user": {"id": …}}` objects.
    func memberIDs(_ key: String, max: Int = 100) throws -> [UserID]? {
        guard let value = self[key] else { return nil }
        guard case .array(let elements) = value, elements.count <= max else {
            throw StreamError.input("\(name(key)) must be an array of at most \(max) user ids")
        }
        return try elements.map { element in
            let raw = element.stringValue ?? element["user_id"]?.stringValue ?? element["user"]?["id"]?.stringValue
            guard let raw, let id = UserID(raw) else { throw StreamError.input("\(name(key)) must hold user ids (strings or {\"user_id\": …})") }
            return id
        }
    }

    /// The user a call names: `user_id`, or `user.id`.
    func actingUser() throws -> UserID? {
        if let id = try userID("user_id") { return id }
        return try object("user")?.userID("id")
    }
}

extension ChorusRequestContext {
    /// The user a Stream call acts as: the token's user (a body naming someone else is refused),
    /// or, for a server token, the user the body names (`nil` if none).
    func streamUser(named: UserID?) throws -> UserID? {
        switch identity {
        case .user(let profile):
            if let named, named != profile.id {
                throw StreamError.notAllowed("a user token acts only as its own user (\(profile.id)), not as \(named)")
            }
            return profile.id
        case .server: return named
        case .anonymous, nil: return nil
        }
    }

    /// Fails with 403 (code 17) unless a server token made the call: `what` needs one.
    func requireStreamServer(_ what: String) throws {
        guard isServer else { throw StreamError.notAllowed("\(what) needs a server token") }
    }

    /// ``streamUser(named:)``, required: a server call must name its user.
    func requireStreamUser(named: UserID?, what: String) throws -> UserID {
        if identity == .anonymous { throw StreamError.notAllowed("anonymous users cannot \(what)") }
        guard let user = try streamUser(named: named) else { throw StreamError.input("user_id or user.id is required to \(what) with a server token") }
        return user
    }

    var isServer: Bool { identity == .server }

    /// Path parameters `type` and `id` as a channel address.
    func channelAddress() throws -> ChannelAddress {
        guard let type = parameters.get("type"), let id = parameters.get("id") else { throw StreamError.input("channel type and id are required") }
        guard let address = ChannelAddress(type: type, id: id) else {
            throw StreamError.input("channel type and id must be 1-64 characters from [A-Za-z0-9_-] (ids may also use !)")
        }
        guard id != Self.reservedChannelID else { throw Self.reservedChannelIDError }
        return address
    }

    /// `/channels/{type}/query` is Query Channel by members, so no channel may have this id (its
    /// update and delete paths would be that route's).
    static let reservedChannelID = "query"
    static let reservedChannelIDError = StreamError.input(
        "channel id \"query\" is reserved: /channels/{type}/query is the get-or-create by members route")
}

/// Ids and pages of the app-level resources (segments, campaigns).
enum StreamIDs {
    /// A client-chosen id: 1-64 characters from `[A-Za-z0-9_-]`.
    static func check(_ id: String) throws -> String {
        guard (1...64).contains(id.utf8.count), id.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) })
        else { throw StreamError.input("id must be 1-64 characters from [A-Za-z0-9_-]") }
        return id
    }

    /// `?limit=` (1-100, default 25) and `?offset=` (0-10,000).
    static func page(_ request: Request) throws -> (limit: Int, offset: Int) {
        func number(_ key: String, in range: ClosedRange<Int>, default value: Int) throws -> Int {
            guard let text = request.uri.queryParameters.get(key) else { return value }
            guard let number = Int(text), range.contains(number) else {
                throw StreamError.input("\(key) must be an integer from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
        return (try number("limit", in: 1...100, default: 25), try number("offset", in: 0...10_000, default: 0))
    }
}
