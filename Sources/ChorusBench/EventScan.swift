/// The fields the load generator reads from a Chorus JSON frame, found without decoding the whole frame.
///
/// A real JSON walker (strings with escapes, nesting, numbers, literals), but one that only keeps the
/// top-level `type` and `seq` and `data.body`, so the subscribers of one event loop can read tens of
/// thousands of frames a second. Malformed JSON gives nil, never a crash.
public struct ScannedFrame: Equatable, Sendable {
    public var type: String?
    public var seq: UInt64?
    /// `data.body`, if it is a string without escapes (the benchmark payload always is).
    public var body: [UInt8]?

    public init(type: String? = nil, seq: UInt64? = nil, body: [UInt8]? = nil) {
        self.type = type
        self.seq = seq
        self.body = body
    }

    /// Scans one frame; nil if it is not a JSON object.
    public static func scan(_ bytes: UnsafeRawBufferPointer) -> ScannedFrame? {
        var scanner = JSONScanner(bytes: bytes)
        var frame = ScannedFrame()
        let ok = scanner.object { key, scanner in
            switch key {
            // A frame whose type is not a string, or whose seq is not a whole number, is not one of ours.
            case "type":
                guard let type = scanner.string() else { return false }
                frame.type = String(decoding: type, as: UTF8.self)
            case "seq":
                guard let seq = scanner.unsignedInteger() else { return false }
                frame.seq = seq
            case "data":
                guard scanner.peek() == UInt8(ascii: "{") else { return scanner.skipValue() }
                return scanner.object { key, scanner in
                    if key == "body", let body = scanner.string() { frame.body = body; return true }
                    return scanner.skipValue()
                }
            default: return scanner.skipValue()
            }
            return true
        }
        return ok ? frame : nil
    }

    /// Scans the bytes of an array (tests and small callers).
    public static func scan(_ bytes: [UInt8]) -> ScannedFrame? {
        bytes.withUnsafeBytes { scan($0) }
    }
}

/// A forward-only JSON reader over raw bytes.
struct JSONScanner {
    let bytes: UnsafeRawBufferPointer
    var index = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
    }

    mutating func peek() -> UInt8? {
        skipSpace()
        return index < bytes.count ? bytes[index] : nil
    }

    mutating func consume(_ byte: UInt8) -> Bool {
        guard peek() == byte else { return false }
        index += 1
        return true
    }

    /// Reads `{ "key": value, … }`, calling `member` positioned at each value; it must consume the value.
    mutating func object(_ member: (String, inout JSONScanner) -> Bool) -> Bool {
        guard consume(UInt8(ascii: "{")) else { return false }
        if consume(UInt8(ascii: "}")) { return true }
        repeat {
            guard let key = string(), consume(UInt8(ascii: ":")) else { return false }
            guard member(String(decoding: key, as: UTF8.self), &self) else { return false }
        } while consume(UInt8(ascii: ","))
        return consume(UInt8(ascii: "}"))
    }

    /// A string's raw bytes (escapes left as written); nil if this is not a complete string.
    mutating func string() -> [UInt8]? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "\""):
                defer { index += 1 }
                return Array(bytes[start..<index])
            case UInt8(ascii: "\\"): index += 2
            default: index += 1
            }
        }
        return nil
    }

    /// A non-negative integer without fraction or exponent; nil otherwise.
    mutating func unsignedInteger() -> UInt64? {
        skipSpace()
        var value: UInt64 = 0
        let start = index
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(bytes[index] - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
            index += 1
        }
        guard index > start else { return nil }
        if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) { return nil }
        return value
    }

    /// Skips any value; false on malformed input. Nesting is bounded so hostile input cannot overflow the stack.
    mutating func skipValue(depth: Int = 0) -> Bool {
        guard depth < 64, let first = peek() else { return false }
        switch first {
        case UInt8(ascii: "\""): return string() != nil
        case UInt8(ascii: "{"): return object { _, scanner in scanner.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            index += 1
            if consume(UInt8(ascii: "]")) { return true }
            repeat {
                guard skipValue(depth: depth + 1) else { return false }
            } while consume(UInt8(ascii: ","))
            return consume(UInt8(ascii: "]"))
        default:
            let start = index
            while index < bytes.count, !",}] \n\r\t".utf8.contains(bytes[index]) { index += 1 }
            return index > start
        }
    }
}
