import ChorusModel
import Foundation
import Testing

/// `JSONValue.parse`, the direct parser (JSONValue+Parsing.swift), against Foundation's decoder.
@Suite("JSON parsing")
struct JSONValueParsingTests {
    func foundation(_ text: String) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test("valid texts parse to what Foundation's decoder gives")
    func valid() throws {
        let texts = [
            "{}", "[]", "0", "-0", "1", "-12", "3.25", "1e3", "-2.5E-3", "1E+2", "123456789012345678901", "9007199254740993",
            "true", "false", "null", #""""#, #""plain""#, #""esc \" \\ \/ \b \f \n \r \t""#, #""\u00e9\u4e2d\ud83d\ude00""#,
            "\"é中😀\"", #"{"a": [1, {"b": null}], "c": "d", "a2": {"x": true}}"#, " \n\t[ 1 , 2 ]\r\n ",
            #"{"dup": 1, "dup": 2}"#, #"[[[[[[]]]]]]"#,
        ]
        for text in texts {
            let parsed = try JSONValue.parse(Array(text.utf8))
            #expect(parsed == foundation(text), "\(text)")
        }
    }

    @Test("invalid texts are refused with the byte offset (RFC 8259: stricter than Foundation on two)")
    func invalid() {
        let texts = [
            "", " ", "{", "[1,]", "[1 2]", #"{"a" 1}"#, #"{"a":}"#, "{1: 2}", "01", "1.", ".5", "+1", "-", "1e", "tru", "nul",
            #""unterminated"#, "\"tab\there\"", #""\x""#, #""\u12""#, #""\ud800""#, #""\udc00x""#, "[1] 2", "NaN", "1e999",
        ]
        for text in texts {
            #expect(throws: JSONParseError.self, "\(text)") { try JSONValue.parse(Array(text.utf8)) }
            // Foundation is lenient with a trailing comma and reads 1e999 as infinity; RFC 8259 is not.
            #expect(foundation(text) == nil || ["1e999", "[1,]"].contains(text), "Foundation accepts \(text)")
        }
        #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22, 0xFF, 0x22]) }  // invalid UTF-8
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(Array(deep.utf8)) }
        do {
            _ = try JSONValue.parse(Array("[1, x]".utf8))
        } catch {
            #expect(error.offset == 4)
        }
    }

    @Test("random documents round-trip through the encoder and the parser")
    func roundTrip() throws {
        var random = SplitMix(seed: 7)
        func value(_ depth: Int) -> JSONValue {
            switch random.next() % (depth > 3 ? 4 : 6) {
            case 0: return .null
            case 1: return .bool(random.next() % 2 == 0)
            case 2: return .number(random.next() % 2 == 0 ? Double(Int64(bitPattern: random.next()) >> 20) : Double(random.next() % 100_000) / 64)
            case 3:
                let scalars = (0..<(random.next() % 8)).map { _ in ["a", "é", "\"", "\\", "\n", "😀", "\u{1}", "/", " "][Int(random.next() % 9)] }
                return .string(scalars.joined())
            case 4: return .array((0..<(random.next() % 4)).map { _ in value(depth + 1) })
            default:
                return .object(Dictionary((0..<(random.next() % 4)).map { _ in ("k\(random.next() % 10)", value(depth + 1)) }) { _, last in last })
            }
        }
        for _ in 0..<500 {
            let original = value(0)
            let data = try JSONEncoder().encode(original)
            #expect(try JSONValue.parse(data) == original, "\(String(decoding: data, as: UTF8.self))")
        }
    }
}

/// A small deterministic generator (SplitMix64).
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
