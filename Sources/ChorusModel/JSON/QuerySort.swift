/// A parsed `sort` of the Stream-compatible query endpoints: the fields to order results by, most
/// significant first.
///
/// Values order as in filters (numbers, strings, RFC 3339 instants, booleans; see
/// `compareJSONForSort` for mixed types). A missing or null value sorts **last in both
/// directions**, so documents without, say, `last_message_at` never crowd out those with one.
/// Documents equal on every field are left to the caller's own final tiebreak (usually an id),
/// which keeps offset pagination stable.
public struct QuerySort: Hashable, Sendable, Codable {
    /// One sort key.
    public struct Field: Hashable, Sendable, Codable {
        /// The document field to compare.
        public var name: String
        /// Whether smaller values come first (`direction: 1`) or last (`direction: -1`).
        public var ascending: Bool

        /// Creates a sort key, ascending unless told otherwise.
        public init(name: String, ascending: Bool = true) {
            self.name = name
            self.ascending = ascending
        }
    }

    /// The sort keys, most significant first; empty means "no order requested".
    public var fields: [Field]

    /// Creates a sort from its keys.
    public init(fields: [Field] = []) {
        self.fields = fields
    }

    /// Parses a sort in Stream's wire syntax.
    ///
    /// Accepts `nil`, `null` or `[]` (no sort fields); an array of
    /// `{"field": "<name>", "direction": 1 | -1}` (direction optional, default 1; other members of
    /// the object are ignored); and, leniently, a one-key object `{"last_message_at": -1}`. An
    /// object with several keys is rejected because JSON objects carry no key order.
    ///
    /// - Parameters:
    ///   - json: the `sort` member of the request, if any.
    ///   - path: where the sort sits in the request; it prefixes every error message.
    ///   - maxFields: how many sort keys are allowed.
    /// - Throws: ``QueryFilterError`` with a message fit to show to the API client.
    public static func parse(
        _ json: JSONValue?, path: String = "sort", maxFields: Int = 5
    ) throws(QueryFilterError) -> QuerySort {
        switch json {
        case .none, .some(.null):
            return QuerySort()
        case .array(let elements)?:
            guard elements.count <= maxFields else {
                throw QueryFilterError("\(path): at most \(maxFields) fields")
            }
            var fields: [Field] = []
            for (index, element) in elements.enumerated() {
                fields.append(try field(element, path: "\(path)[\(index)]"))
            }
            return QuerySort(fields: fields)
        case .object(let members)?:
            guard members.count == 1, let (name, direction) = members.first else {
                throw QueryFilterError(
                    "\(path): an object sort needs exactly one field, got \(members.count); "
                        + "use an array of {\"field\", \"direction\"} objects")
            }
            guard !name.isEmpty else { throw QueryFilterError("\(path): empty field name") }
            return QuerySort(fields: [Field(name: name, ascending: try ascending(direction, path: "\(path).\(name)"))])
        case let other?:
            throw QueryFilterError(
                "\(path): must be an array of {\"field\", \"direction\"} objects, got \(other.typeName)")
        }
    }

    /// Whether the document `a` comes before `b`: field by field, ties falling through to the next
    /// field; a missing or null value sorts after every present one in either direction. A full
    /// tie returns `false`. Each closure looks a field up (`nil` = missing).
    public func areInIncreasingOrder(_ a: (String) -> JSONValue?, _ b: (String) -> JSONValue?) -> Bool {
        for field in fields {
            switch (presentValue(a(field.name)), presentValue(b(field.name))) {
            case (.none, .none): continue
            case (.none, _): return false
            case (_, .none): return true
            case (let x?, let y?):
                let order = compareJSONForSort(x, y)
                if order != 0 { return field.ascending ? order < 0 : order > 0 }
            }
        }
        return false
    }

    /// Parses one `{"field": …, "direction": …}` element.
    private static func field(_ element: JSONValue, path: String) throws(QueryFilterError) -> Field {
        guard let members = element.objectValue else {
            throw QueryFilterError("\(path): must be an object with \"field\" and \"direction\", got \(element.typeName)")
        }
        guard let nameValue = members["field"] else {
            throw QueryFilterError("\(path).field: is required")
        }
        guard let name = nameValue.stringValue, !name.isEmpty else {
            let got = nameValue.stringValue == nil ? ", got \(nameValue.typeName)" : ""
            throw QueryFilterError("\(path).field: needs a non-empty string\(got)")
        }
        let direction = members["direction"] ?? .null
        let isAscending = direction == .null ? true : try ascending(direction, path: "\(path).direction")
        return Field(name: name, ascending: isAscending)
    }

    /// `1` is ascending, `-1` descending; anything else is an error.
    private static func ascending(_ direction: JSONValue, path: String) throws(QueryFilterError) -> Bool {
        switch direction {
        case .number(1): return true
        case .number(-1): return false
        case .number(let number):
            let shown = number.rounded() == number && abs(number) < 1e15 ? "\(Int64(number))" : "\(number)"
            throw QueryFilterError("\(path): must be 1 or -1, got \(shown)")
        default:
            throw QueryFilterError("\(path): must be 1 or -1, got \(direction.typeName)")
        }
    }

    /// The order of `a` and `b` by the sort's fields, with `tiebreak` (a strict order of the
    /// callers' own, e.g. by id) deciding full ties, so sorting is deterministic.
    public func precedes(_ a: (String) -> JSONValue?, _ b: (String) -> JSONValue?, tiebreak: () -> Bool) -> Bool {
        if areInIncreasingOrder(a, b) { return true }
        if areInIncreasingOrder(b, a) { return false }
        return tiebreak()
    }

}
