/// A parsed filter of the Stream-compatible query endpoints (`filter_conditions`,
/// `message_filter_conditions`, segment filters).
///
/// The wire syntax is Mongo-like: a filter is a JSON object whose keys are field names or the
/// logical operators `$and`, `$or`, `$nor` (each a non-empty array of filters). Several keys in one
/// object are an implicit AND. A field's value is either a plain value (shorthand for `$eq`) or an
/// object of operators, `{"$gte": 3, "$lt": 9}`, which is the AND of its operators; an object with
/// no `$` keys is a plain value compared with `$eq`.
///
/// The tree is pure data: ``parse(_:path:limits:)`` validates the wire form once, and
/// ``matches(_:)`` (in `QueryFilter+Matching.swift`) evaluates it against any document. Parsing
/// visits object keys in sorted order, so equal wire filters give equal trees and the same error.
public indirect enum QueryFilter: Hashable, Sendable, Codable {
    /// The empty filter `{}`: matches every document.
    case all
    /// Matches when every filter matches (the empty list matches everything).
    case and([QueryFilter])
    /// Matches when at least one filter matches (the empty list matches nothing).
    case or([QueryFilter])
    /// Matches when no filter matches (the empty list matches everything).
    case nor([QueryFilter])
    /// A test of one field of the document.
    case condition(field: String, QueryCondition)

    /// Bounds on the size of a filter, so one request cannot make evaluation arbitrarily costly.
    public struct Limits: Hashable, Sendable {
        /// How many `$and`/`$or`/`$nor` may be nested inside each other (a filter without them has
        /// depth 0).
        public var maxDepth: Int
        /// How many field conditions the whole filter may hold; each operator counts once, so
        /// `{"age": {"$gte": 3, "$lt": 9}}` holds two.
        public var maxConditions: Int
        /// How many values one `$in` or `$nin` list may hold.
        public var maxListLength: Int

        /// Limits with the documented defaults: depth 5, 100 conditions, lists of 1,000 values.
        public init(maxDepth: Int = 5, maxConditions: Int = 100, maxListLength: Int = 1000) {
            self.maxDepth = maxDepth
            self.maxConditions = maxConditions
            self.maxListLength = maxListLength
        }
    }

    /// Every field name the filter mentions, so callers can reject fields they do not support.
    public var fields: Set<String> {
        switch self {
        case .all: []
        case .and(let filters), .or(let filters), .nor(let filters):
            filters.reduce(into: Set<String>()) { $0.formUnion($1.fields) }
        case .condition(let field, _): [field]
        }
    }

    /// Parses a filter in Stream's wire syntax, rejecting anything it would not evaluate exactly.
    ///
    /// - Parameters:
    ///   - json: the filter object.
    ///   - path: where the filter sits in the request; it prefixes every error message
    ///     (`filter_conditions.members: $in needs an array, got string`).
    ///   - limits: bounds on nesting, condition count and list length.
    /// - Throws: ``QueryFilterError`` with a message fit to show to the API client.
    public static func parse(
        _ json: JSONValue, path: String = "filter_conditions", limits: Limits = .init()
    ) throws(QueryFilterError) -> QueryFilter {
        var parser = QueryFilterParser(limits: limits, rootPath: path)
        return try parser.filter(json, path: path, depth: 0)
    }
}

/// A test applied to one field of a document; see ``QueryFilter/matches(_:)`` for the semantics.
public enum QueryCondition: Hashable, Sendable, Codable {
    /// `$eq` (or a plain value): equal, or for an array field, contains / holds the same set.
    case eq(JSONValue)
    /// `$ne`: the negation of `$eq`.
    case ne(JSONValue)
    /// `$in`: the value, or any element of an array field, is one of the list.
    case `in`([JSONValue])
    /// `$nin`: the field is present and neither it nor any of its elements is in the list.
    case nin([JSONValue])
    /// `$gt`: greater than (numbers, strings, RFC 3339 instants, booleans).
    case gt(JSONValue)
    /// `$gte`: greater than or equal.
    case gte(JSONValue)
    /// `$lt`: less than.
    case lt(JSONValue)
    /// `$lte`: less than or equal.
    case lte(JSONValue)
    /// `$exists`: whether the field is present and not null.
    case exists(Bool)
    /// `$autocomplete`: every query word is a case-insensitive prefix of some word of the text.
    case autocomplete(String)
    /// `$q`: every query word occurs as a whole word of the text, case-insensitively.
    case q(String)
    /// `$contains`: the array field holds the value as an element.
    case contains(JSONValue)
}

/// Why a filter or sort was rejected; `message` names the offending path and is shown to clients.
public struct QueryFilterError: Error, Hashable, CustomStringConvertible {
    /// The client-facing explanation, prefixed with the path of the bad part (`sort[1].direction: …`).
    public var message: String

    /// Creates an error with a client-facing message.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// The recursive-descent parser behind ``QueryFilter/parse(_:path:limits:)``; it carries the
/// condition count across the whole tree.
struct QueryFilterParser {
    let limits: QueryFilter.Limits
    let rootPath: String
    private var conditionCount = 0

    static let logicalOperators: Set<String> = ["$and", "$or", "$nor"]
    static let fieldOperators: Set<String> = [
        "$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte", "$exists", "$autocomplete", "$q", "$contains",
    ]

    init(limits: QueryFilter.Limits, rootPath: String) {
        self.limits = limits
        self.rootPath = rootPath
    }

    /// Parses one filter object at `depth` levels of logical operators.
    mutating func filter(_ json: JSONValue, path: String, depth: Int) throws(QueryFilterError) -> QueryFilter {
        guard let members = json.objectValue else {
            throw QueryFilterError("\(path): a filter must be an object, got \(json.typeName)")
        }
        var parts: [QueryFilter] = []
        for key in members.keys.sorted() {
            guard let value = members[key] else { continue }
            parts.append(try member(key, value, path: path, depth: depth))
        }
        switch parts.count {
        case 0: return .all
        case 1: return parts[0]
        default: return .and(parts)
        }
    }

    /// Parses one key of a filter object: a logical operator or a field.
    private mutating func member(
        _ key: String, _ value: JSONValue, path: String, depth: Int
    ) throws(QueryFilterError) -> QueryFilter {
        if Self.logicalOperators.contains(key) {
            return try logical(key, value, path: "\(path).\(key)", depth: depth + 1)
        }
        if Self.fieldOperators.contains(key) {
            throw QueryFilterError("\(path): \(key) must be applied to a field, as in {\"field\": {\"\(key)\": …}}")
        }
        if key.hasPrefix("$") {
            throw QueryFilterError("\(path): unknown operator \(key)")
        }
        if key.isEmpty {
            throw QueryFilterError("\(path): empty field name")
        }
        return try field(key, value, path: "\(path).\(key)")
    }

    /// Parses `$and`/`$or`/`$nor`: a non-empty array of filters one level deeper.
    private mutating func logical(
        _ op: String, _ value: JSONValue, path: String, depth: Int
    ) throws(QueryFilterError) -> QueryFilter {
        guard depth <= limits.maxDepth else {
            throw QueryFilterError("\(path): $and/$or/$nor nested more than \(limits.maxDepth) levels deep")
        }
        guard let elements = value.arrayValue else {
            throw QueryFilterError("\(path): \(op) needs an array of filters, got \(value.typeName)")
        }
        guard !elements.isEmpty else {
            throw QueryFilterError("\(path): \(op) needs at least one filter")
        }
        var filters: [QueryFilter] = []
        for (index, element) in elements.enumerated() {
            filters.append(try filter(element, path: "\(path)[\(index)]", depth: depth))
        }
        switch op {
        case "$and": return .and(filters)
        case "$or": return .or(filters)
        default: return .nor(filters)
        }
    }

    /// Parses a field's value: a plain value (`$eq`) or an object of operators (their AND).
    private mutating func field(_ name: String, _ value: JSONValue, path: String) throws(QueryFilterError) -> QueryFilter {
        guard let operators = value.objectValue, operators.keys.contains(where: { $0.hasPrefix("$") }) else {
            try countCondition()
            return .condition(field: name, .eq(value))
        }
        if let plain = operators.keys.sorted().first(where: { !$0.hasPrefix("$") }) {
            throw QueryFilterError("\(path): cannot mix operators and plain keys (\(plain)) in one object")
        }
        var conditions: [QueryFilter] = []
        for op in operators.keys.sorted() {
            guard let operand = operators[op] else { continue }
            try countCondition()
            conditions.append(.condition(field: name, try condition(op, operand, path: path)))
        }
        return conditions.count == 1 ? conditions[0] : .and(conditions)
    }

    /// Validates one field operator and its operand.
    private func condition(_ op: String, _ operand: JSONValue, path: String) throws(QueryFilterError) -> QueryCondition {
        switch op {
        case "$eq": return .eq(operand)
        case "$ne": return .ne(operand)
        case "$contains": return .contains(operand)
        case "$in": return .in(try list(op, operand, path: path))
        case "$nin": return .nin(try list(op, operand, path: path))
        case "$gt": return .gt(try ordered(op, operand, path: path))
        case "$gte": return .gte(try ordered(op, operand, path: path))
        case "$lt": return .lt(try ordered(op, operand, path: path))
        case "$lte": return .lte(try ordered(op, operand, path: path))
        case "$autocomplete": return .autocomplete(try text(op, operand, path: path))
        case "$q": return .q(try text(op, operand, path: path))
        case "$exists":
            guard let flag = operand.boolValue else {
                throw QueryFilterError("\(path): $exists needs a boolean, got \(operand.typeName)")
            }
            return .exists(flag)
        default:
            throw QueryFilterError("\(path): unknown operator \(op)")
        }
    }

    /// The operand of `$in`/`$nin`: an array no longer than the limit.
    private func list(_ op: String, _ operand: JSONValue, path: String) throws(QueryFilterError) -> [JSONValue] {
        guard let values = operand.arrayValue else {
            throw QueryFilterError("\(path): \(op) needs an array, got \(operand.typeName)")
        }
        guard values.count <= limits.maxListLength else {
            throw QueryFilterError("\(path): \(op) has \(values.count) values, more than \(limits.maxListLength)")
        }
        return values
    }

    /// The operand of a range operator: a value with an order (number, string or boolean).
    private func ordered(_ op: String, _ operand: JSONValue, path: String) throws(QueryFilterError) -> JSONValue {
        switch operand {
        case .number, .string, .bool: return operand
        default: throw QueryFilterError("\(path): \(op) needs a number, string or boolean, got \(operand.typeName)")
        }
    }

    /// The operand of `$autocomplete`/`$q`: a string with at least one word.
    private func text(_ op: String, _ operand: JSONValue, path: String) throws(QueryFilterError) -> String {
        guard let string = operand.stringValue, !string.isEmpty else {
            let got = operand.stringValue == nil ? ", got \(operand.typeName)" : ""
            throw QueryFilterError("\(path): \(op) needs a non-empty string\(got)")
        }
        guard !TextWords.words(of: string).isEmpty else {
            throw QueryFilterError("\(path): \(op) needs at least one letter or digit")
        }
        return string
    }

    /// Counts one field condition against the limit.
    private mutating func countCondition() throws(QueryFilterError) {
        conditionCount += 1
        guard conditionCount <= limits.maxConditions else {
            throw QueryFilterError("\(rootPath): more than \(limits.maxConditions) conditions")
        }
    }
}
