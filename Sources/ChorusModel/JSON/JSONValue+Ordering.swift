/// The value of a field unless it is missing or `null`: filters and sorts treat both alike.
func presentValue(_ value: JSONValue?) -> JSONValue? {
    // Spelled out: `JSONValue` is nil-literal-expressible, so a bare `nil` in a closure can mean `.null`.
    guard let value, value != .null else { return Optional.none }
    return value
}

/// The value order shared by query filters (`$gt`, `$gte`, `$lt`, `$lte`) and sorts.
///
/// Numbers compare by value, booleans with false < true, strings lexically, except that two
/// strings that are both RFC 3339 timestamps compare as the instants they name, so
/// `"2026-12-01T12:00:00+02:00"` equals `"2026-12-01T10:00:00Z"` and precisions mix freely.
///
/// - Returns: a negative number, zero or a positive number as `a` is below, equal to or above `b`;
///   `nil` when the two are not comparable (different types, arrays, objects, nulls).
func compareJSON(_ a: JSONValue, _ b: JSONValue) -> Int? {
    switch (a, b) {
    case (.number(let x), .number(let y)): threeWay(x, y)
    case (.bool(let x), .bool(let y)): threeWay(x ? 1 : 0, y ? 1 : 0)
    case (.string(let x), .string(let y)): compareStrings(x, y, timestampsFirst: false)
    default: nil
    }
}

/// A total order on present JSON values for sorting, extending ``compareJSON(_:_:)`` so that
/// every pair compares and the order stays transitive (a sort that pages by offset needs that):
///
/// - values of different types order by type: booleans, numbers, strings, arrays, objects;
/// - among strings, RFC 3339 timestamps come before other strings (mixing the instant order with
///   the lexical one could form cycles), each group in its own order;
/// - arrays compare equal to each other, as do objects (they have no natural order).
func compareJSONForSort(_ a: JSONValue, _ b: JSONValue) -> Int {
    if case .string(let x) = a, case .string(let y) = b {
        return compareStrings(x, y, timestampsFirst: true)
    }
    return compareJSON(a, b) ?? threeWay(typeRank(a), typeRank(b))
}

/// Strings by instant when both are RFC 3339 timestamps; otherwise lexically, or with timestamps
/// first when `timestampsFirst` is set and exactly one is a timestamp.
private func compareStrings(_ x: String, _ y: String, timestampsFirst: Bool) -> Int {
    let instants = (RFC3339.microseconds(x), RFC3339.microseconds(y))
    switch instants {
    case (.some(let tx), .some(let ty)): return threeWay(tx, ty)
    case (.some, nil) where timestampsFirst: return -1
    case (nil, .some) where timestampsFirst: return 1
    default: return threeWay(x, y)
    }
}

/// The position of a value's type in the sort order of mixed types.
private func typeRank(_ value: JSONValue) -> Int {
    switch value {
    case .null: 0
    case .bool: 1
    case .number: 2
    case .string: 3
    case .array: 4
    case .object: 5
    }
}

/// -1, 0 or 1 as `x` is below, equal to or above `y`.
private func threeWay<T: Comparable>(_ x: T, _ y: T) -> Int {
    x < y ? -1 : (x == y ? 0 : 1)
}

/// A strict parser of RFC 3339 date-times, for comparing timestamps sent as strings.
enum RFC3339 {
    /// Microseconds since 1970-01-01T00:00:00Z named by `text`, or `nil` if it is not an RFC 3339
    /// date-time (`2026-12-01T10:00:00Z`, `2026-12-01T10:00:00.123456+02:00`; `t` and `z` may be
    /// lower-case). Fractions beyond microseconds are truncated; a leap second (`:60`) counts as
    /// the first second of the next minute.
    static func microseconds(_ text: String) -> Int64? {
        var scanner = Scanner(bytes: Array(text.utf8))
        guard let year = scanner.number(4), scanner.skip("-"), let month = scanner.number(2), scanner.skip("-"),
            let day = scanner.number(2), scanner.skip("T", "t"), let hour = scanner.number(2), scanner.skip(":"),
            let minute = scanner.number(2), scanner.skip(":"), let second = scanner.number(2)
        else { return nil }
        let fraction = scanner.fraction()
        guard let offset = scanner.offset(), scanner.atEnd,
            (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day),
            hour < 24, minute < 60, second <= 60
        else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offset)
        return seconds * 1_000_000 + Int64(fraction)
    }

    /// Reads the fields of a date-time left to right.
    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        var atEnd: Bool { index == bytes.count }

        /// Exactly `count` ASCII digits as a number.
        mutating func number(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<(index + count)] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            index += count
            return value
        }

        /// Consumes one of `characters` (ASCII), reporting whether it was there.
        mutating func skip(_ characters: Unicode.Scalar...) -> Bool {
            guard index < bytes.count, characters.contains(where: { UInt8(ascii: $0) == bytes[index] }) else {
                return false
            }
            index += 1
            return true
        }

        /// An optional `.digits` fraction as microseconds (0 when absent or malformed; a malformed
        /// one leaves the `.` unread, so the offset that must follow fails).
        mutating func fraction() -> Int {
            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "."), isDigit(bytes[index + 1]) else { return 0 }
            index += 1
            var micros = 0
            var digits = 0
            while index < bytes.count, isDigit(bytes[index]) {
                if digits < 6 { micros = micros * 10 + Int(bytes[index] - UInt8(ascii: "0")) }
                digits += 1
                index += 1
            }
            while digits < 6 {
                micros *= 10
                digits += 1
            }
            return micros
        }

        /// The zone: `Z` or `±HH:MM`, as seconds east of UTC.
        mutating func offset() -> Int? {
            if skip("Z", "z") { return 0 }
            let sign: Int
            if skip("+") { sign = 1 } else if skip("-") { sign = -1 } else { return nil }
            guard let hours = number(2), skip(":"), let minutes = number(2), hours < 24, minutes < 60 else { return nil }
            return sign * (hours * 3600 + minutes * 60)
        }

        private func isDigit(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
    }

    /// The number of days in a month of the proleptic Gregorian calendar.
    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to a civil date (Howard Hinnant's `days_from_civil`).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let monthFromMarch = Int64((month + 9) % 12)
        let dayOfYear = (153 * monthFromMarch + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
