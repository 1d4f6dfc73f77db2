extension QueryFilter {
    /// Whether a document satisfies the filter.
    ///
    /// The document is a field lookup: `nil` means the field is missing. These are the semantics,
    /// deliberately fixed so the facade answers the same way on every node:
    ///
    /// - **Absent values.** A missing field and a `null` field are the same. On them only
    ///   `$exists: false`, `$eq: null` and `$ne: <non-null>` match; every other operator
    ///   (including `$in` and `$nin`) does not.
    /// - **Equality** (`$eq`, the plain shorthand, `$in`): numbers by value, strings exactly
    ///   (case-sensitive, and timestamps too: use ranges to compare instants), objects and nested
    ///   arrays structurally. `$ne` is exactly the negation of `$eq`.
    /// - **Array fields** (e.g. `members = ["alice", "bob"]`): `$eq` with a non-array matches if
    ///   the array contains it, `$eq` with an array if both hold the same set of elements (order
    ///   and repeats ignored); `$in` matches if any element is in the list, `$nin` if none is;
    ///   `$contains` if the array holds the value. On a non-array field `$contains` never matches.
    /// - **Ranges** (`$gt`, `$gte`, `$lt`, `$lte`): number with number, string with string, bool
    ///   with bool (false < true). Two strings that are both RFC 3339 timestamps compare as
    ///   instants, across offsets and precisions; otherwise strings compare lexically. Mismatched
    ///   types, and array or object fields, never match.
    /// - **Text** (`$autocomplete`, `$q`, string fields only): the text is lower-cased and split
    ///   into words at every character that is neither a letter nor a number (Unicode-aware).
    ///   `$autocomplete` matches if every query word is a prefix of some word of the text; `$q` if
    ///   every query word is a whole word of the text (`hello` does not match `helloworld`).
    public func matches(_ field: (String) -> JSONValue?) -> Bool {
        switch self {
        case .all: true
        case .and(let filters): filters.allSatisfy { $0.matches(field) }
        case .or(let filters): filters.contains { $0.matches(field) }
        case .nor(let filters): !filters.contains { $0.matches(field) }
        case .condition(let name, let condition):
            condition.matches(presentValue(field(name)))
        }
    }
}

extension QueryCondition {
    /// Evaluates the condition on a field value; `nil` is a missing or null field.
    func matches(_ value: JSONValue?) -> Bool {
        switch self {
        case .eq(let operand): return Self.equals(value, operand)
        case .ne(let operand): return !Self.equals(value, operand)
        case .exists(let flag): return (value != nil) == flag
        default: break
        }
        guard let value else { return false }
        switch self {
        case .in(let list): return Self.isIn(value, list)
        case .nin(let list): return !Self.isIn(value, list)
        case .gt(let operand): return compareJSON(value, operand).map { $0 > 0 } ?? false
        case .gte(let operand): return compareJSON(value, operand).map { $0 >= 0 } ?? false
        case .lt(let operand): return compareJSON(value, operand).map { $0 < 0 } ?? false
        case .lte(let operand): return compareJSON(value, operand).map { $0 <= 0 } ?? false
        case .contains(let operand): return value.arrayValue?.contains(operand) ?? false
        case .autocomplete(let query): return value.stringValue.map { TextWords.prefixMatch(query, in: $0) } ?? false
        case .q(let query): return value.stringValue.map { TextWords.wordMatch(query, in: $0) } ?? false
        case .eq, .ne, .exists: return false  // handled above
        }
    }

    /// `$eq` on a possibly absent value, with the array-field rules.
    private static func equals(_ value: JSONValue?, _ operand: JSONValue) -> Bool {
        guard let value else { return operand == .null }
        switch (value, operand) {
        case (.array(let elements), .array(let wanted)): return Set(elements) == Set(wanted)
        case (.array(let elements), _): return elements.contains(operand)
        default: return value == operand
        }
    }

    /// `$in` on a present value: it, or for an array any of its elements, is in the list.
    private static func isIn(_ value: JSONValue, _ list: [JSONValue]) -> Bool {
        guard let elements = value.arrayValue else { return list.contains(value) }
        let wanted = Set(list)
        return elements.contains { wanted.contains($0) }
    }
}

/// Case-insensitive word splitting shared by `$autocomplete`, `$q` and message search.
public enum TextWords {
    /// The lower-cased words of `text`: maximal runs of letters and numbers.
    public static func words(of text: String) -> [Substring] {
        text.lowercased().split { !($0.isLetter || $0.isNumber) }
    }

    /// Whether every word of `query` is a prefix of some word of `text`.
    static func prefixMatch(_ query: String, in text: String) -> Bool {
        let textWords = words(of: text)
        return words(of: query).allSatisfy { prefix in textWords.contains { $0.hasPrefix(prefix) } }
    }

    /// Whether every word of `query` is a whole word of `text`.
    public static func wordMatch(_ query: String, in text: String) -> Bool {
        let textWords = Set(words(of: text).map(String.init))
        return words(of: query).allSatisfy { textWords.contains(String($0)) }
    }
}
