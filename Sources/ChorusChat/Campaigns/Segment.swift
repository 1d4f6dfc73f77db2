import ChorusModel
import Foundation

/// A named set of users (Stream's segments; docs/stream-api.md, "Segments"): those whose fields
/// match `filter`. A filter that names users by id (`{"id": {"$in": [...]}}`) is an explicit list
/// and is resolved without a scan.
public struct Segment: Sendable, Codable, Equatable {
    public var id: String
    public var name: String
    public var description: String
    /// A query filter over ``Segment/fields``, as given.
    public var filter: JSONValue
    /// How many users matched when the segment was last saved.
    public var size: Int
    public var createdAt: Timestamp
    public var updatedAt: Timestamp

    public init(id: String, name: String, description: String, filter: JSONValue, size: Int, createdAt: Timestamp, updatedAt: Timestamp) {
        self.id = id
        self.name = name
        self.description = description
        self.filter = filter
        self.size = size
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// The user fields a segment's filter may test.
    public static let fields: Set<String> = ["id", "name", "created_at"]
    /// How many users an explicit list may name.
    public static let maxExplicitUsers = 10_000

    /// `filter` parsed and checked: only ``fields``, and an explicit list of at most
    /// ``maxExplicitUsers`` valid ids.
    public static func parse(_ filter: JSONValue) throws -> QueryFilter {
        guard case .object = filter else { throw ChatError(.invalidRequest, "filter must be an object") }
        let parsed = try QueryFilter.parse(filter, path: "filter", limits: .init(maxListLength: maxExplicitUsers))
        if let unknown = parsed.fields.subtracting(fields).sorted().first {
            throw ChatError(.invalidRequest, "filter: users cannot be filtered by \(unknown.prefix(64)) (only \(fields.sorted().joined(separator: ", ")))")
        }
        for value in parsed.named("id") where value.stringValue.flatMap(UserID.init) == nil {
            throw ChatError(.invalidRequest, "filter: \(String(describing: value).prefix(80)) is not a user id")
        }
        return parsed
    }

    /// The users the filter names explicitly, ascending (nil: the filter does not name them; a scan decides).
    static func explicitUsers(_ filter: QueryFilter) -> [UserID]? {
        let named = filter.named("id").compactMap { $0.stringValue.flatMap(UserID.init) }
        return named.isEmpty ? nil : Array(Set(named)).sorted()
    }

    /// The fields of `profile` a filter tests.
    static func document(_ profile: UserProfile) -> [String: JSONValue] {
        ["id": .string(profile.id.rawValue), "name": .string(profile.displayName), "created_at": .string(profile.createdAt.rfc3339)]
    }
}
