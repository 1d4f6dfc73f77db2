import Foundation
import NIOCore
import Testing

@testable import ChorusGateway

/// A send's body is read by `JSONBody.fast` exactly as `JSONDecoder` reads it, or declined.
@Suite("Send bodies read without JSONDecoder")
struct SendBodyTests {
    /// What each reads from `json`: the fast path's fields (`nil` if it declined) and JSONDecoder's (`nil` if it threw).
    static func both(_ json: [UInt8]) -> (fast: [String?]?, decoder: [String?]?) {
        let buffer = ByteBuffer(bytes: json)
        let fast = JSONBody.fast(SendMessageRequest.self, from: buffer)
        let decoded = try? JSONDecoder().decode(SendMessageRequest.self, from: Data(json))
        func fields(_ request: SendMessageRequest) -> [String?] {
            [request.body, request.clientMessageID, request.attachments == nil ? nil : "attachments", request.inlineEmotes == nil ? nil : "emotes"]
        }
        return (fast.map(fields), decoded.map(fields))
    }

    @Test("bodies of the flat shape are read, the same as JSONDecoder reads them", arguments: [
        #"{"body":"hello"}"#,
        #"{}"#,
        " \t\r\n{ \"body\" : \"spaced\" , \"client_message_id\" : \"c-1\" } \n",
        #"{"body":null,"client_message_id":null,"attachments":null,"inline_emotes":null}"#,
        #"{"body":"quotes \" and \\ and \/ slashes","client_message_id":"x"}"#,
        #"{"body":"controls \b\f\n\r\t and \u0000 and \u001f"}"#,
        #"{"body":"\u00e9\u4e2d\ud83d\ude00 escaped, é中😀 raw"}"#,
        #"{"b\u006fdy":"an escaped key"}"#,
        #"{"body":"unknown keys are ignored","extra":"x","other":null}"#,
        #"{"body":"first","body":"second"}"#,  // a repeated key: the first, as Foundation keeps
        #"{"body":""}"#,
    ])
    func read(_ json: String) {
        let (fast, decoder) = Self.both(Array(json.utf8))
        #expect(fast != nil)
        #expect(fast == decoder)
    }

    @Test("anything else is left to JSONDecoder, which reads it or words the error as before", arguments: [
        #"{"body":"hi","attachments":[]}"#,  // a nested value
        #"{"body":"hi","inline_emotes":"x"}"#,  // a string where an array belongs: JSONDecoder's error
        #"{"body":5}"#, #"{"body":true}"#, #"{"extra":1.5,"body":"x"}"#,
        #"{"body":"lone \ud83d surrogate"}"#, #"{"body":"lone \ude00 low"}"#,
        "{\"body\":\"raw\ncontrol\"}",
        #"{"body":"x"} trailing"#, #"{"body":"x",}"#, #"{"body":"x""#, #"{'body':'x'}"#, #"["body"]"#, "", "null",
        #"{"body":"bad \x escape"}"#, #"{"body":"short \u12"}"#,
    ])
    func declined(_ json: String) {
        let (fast, _) = Self.both(Array(json.utf8))
        #expect(fast == nil)
    }

    @Test("bytes that are not UTF-8 are declined")
    func invalidUTF8() {
        for bytes: [UInt8] in [[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80]] {
            let json = Array(#"{"body":""#.utf8) + bytes + Array(#""}"#.utf8)
            #expect(Self.both(json).fast == nil, "\(bytes)")
        }
    }

    @Test("500 random bodies: where the fast path reads one, JSONDecoder reads the same")
    func random() throws {
        var generator = SystemRandomNumberGenerator()
        let scalars: [ClosedRange<UInt32>] = [0...0x7F, 0x80...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFF, 0x10000...0x10FFFF]
        func text() -> String {
            var text = ""
            for _ in 0..<Int.random(in: 0...20, using: &generator) {
                let range = scalars.randomElement(using: &generator)!
                text.unicodeScalars.append(Unicode.Scalar(UInt32.random(in: range, using: &generator))!)
            }
            return text
        }
        var read = 0
        for _ in 0..<500 {
            var object: [String: Any] = [:]
            for key in ["body", "client_message_id", "attachments", "extra"] where Bool.random(using: &generator) {
                let null = key == "attachments" || Int.random(in: 0..<5, using: &generator) == 0
                object[key] = null ? NSNull() as Any : text() as Any
            }
            let json = try JSONSerialization.data(withJSONObject: object, options: Bool.random(using: &generator) ? [.prettyPrinted] : [])
            let (fast, decoder) = Self.both(Array(json))
            #expect(fast != nil, "\(String(decoding: json, as: UTF8.self))")
            #expect(fast == decoder, "\(String(decoding: json, as: UTF8.self))")
            if fast != nil { read += 1 }
        }
        #expect(read == 500)
    }

    @Test("read receipts and reactions: a string id is read as JSONDecoder reads it; anything else (a nested member too) is left to it", arguments: [
        #"{"last_read_message_id":"123456789"}"#, #"{"last_read_message_id":"123","extra":[1,{}]}"#,
        #"{"last_read_message_id":123}"#, #"{"last_read_message_id":"-1"}"#, #"{"last_read_message_id":" 1"}"#,
        #"{"last_read_message_id":"18446744073709551616"}"#, #"{"last_read_message_id":null}"#, #"{}"#,
        #"{"emote_asset_id":"party-parrot"}"#, #"{"emote_asset_id":"a/b"}"#, #"{"emote_asset_id":""}"#, #"{"emote_asset_id":42}"#,
    ])
    func ids(_ json: String) {
        let buffer = ByteBuffer(string: json)
        let read = JSONBody.fast(MarkReadRequest.self, from: buffer).map { $0.lastReadMessageID.description }
        let decodedRead = (try? JSONDecoder().decode(MarkReadRequest.self, from: Data(json.utf8))).map { $0.lastReadMessageID.description }
        if let read { #expect(read == decodedRead) }
        let reaction = JSONBody.fast(AddReactionRequest.self, from: buffer).map { $0.emoteAssetID.rawValue }
        let decodedReaction = (try? JSONDecoder().decode(AddReactionRequest.self, from: Data(json.utf8))).map { $0.emoteAssetID.rawValue }
        if let reaction { #expect(reaction == decodedReaction) }
        // The plain string forms are taken by the fast path.
        #expect((read != nil) == (json == #"{"last_read_message_id":"123456789"}"#))
        #expect((reaction != nil) == (json == #"{"emote_asset_id":"party-parrot"}"#))
    }
}

