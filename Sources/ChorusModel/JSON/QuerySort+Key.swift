/// Sorting many documents: each document's values for the sort's fields, read and prepared once.
///
/// ``QuerySort/areInIncreasingOrder(_:_:)`` on two documents looks their fields up and parses
/// every string that might be an RFC 3339 timestamp, at each of a sort's n log n comparisons;
/// profiled, that parsing was most of a channel query over many candidates. A key holds what
/// the comparison needs (a timestamp's instant parsed once), and keys order exactly as their
/// documents do (tested against the document comparison).
extension QuerySort {
    public struct Key: Sendable {
        fileprivate var values: [Value]
    }

    fileprivate enum Value: Sendable {
        case absent
        /// A string that is an RFC 3339 timestamp: its instant in microseconds.
        case timestamp(Int64, String)
        case string(String)
        case other(JSONValue)

        var json: JSONValue {
            switch self {
            case .absent: .null
            case .timestamp(_, let text), .string(let text): .string(text)
            case .other(let value): value
            }
        }
    }

    /// The key of the document whose fields `field` reads.
    public func key(_ field: (String) -> JSONValue?) -> Key {
        Key(
            values: fields.map { sortField in
                switch presentValue(field(sortField.name)) {
                case nil: .absent
                case .string(let text)?: RFC3339.microseconds(text).map { .timestamp($0, text) } ?? .string(text)
                case let value?: .other(value)
                }
            })
    }

    /// Whether the document of key `a` sorts before that of `b` (as ``areInIncreasingOrder(_:_:)``).
    public func areInIncreasingOrder(_ a: Key, _ b: Key) -> Bool {
        for (index, field) in fields.enumerated() {
            let order: Int
            switch (a.values[index], b.values[index]) {
            case (.absent, .absent): continue
            case (.absent, _): return false
            case (_, .absent): return true
            case (.timestamp(let x, _), .timestamp(let y, _)): order = x < y ? -1 : (x > y ? 1 : 0)
            case (.timestamp, .string): order = -1
            case (.string, .timestamp): order = 1
            case (.string(let x), .string(let y)): order = x < y ? -1 : (x > y ? 1 : 0)
            case (let x, let y): order = compareJSONForSort(x.json, y.json)
            }
            if order != 0 { return field.ascending ? order < 0 : order > 0 }
        }
        return false
    }

    /// Whether key `a` goes first; `tiebreak` decides between equal keys.
    public func precedes(_ a: Key, _ b: Key, tiebreak: () -> Bool) -> Bool {
        if areInIncreasingOrder(a, b) { return true }
        if areInIncreasingOrder(b, a) { return false }
        return tiebreak()
    }
}
