import ChorusModel
import ChorusTestSupport
import ChorusWire
import Foundation
import Testing

@testable import ChorusChat

@Suite("RecentSends")
struct RecentSendsTests {
    /// The plain version: an array, oldest first, that drops its first entry past capacity.
    struct Reference {
        var entries: [(sender: UserID, clientID: String, message: MessageID)] = []

        mutating func remember(_ message: MessageID, sentBy sender: UserID, clientID: String) {
            entries.append((sender, clientID, message))
            if entries.count > RecentSends.capacity { entries.removeFirst() }
        }

        func message(sentBy sender: UserID, clientID: String) -> MessageID? {
            entries.last { $0.sender == sender && $0.clientID == clientID }?.message
        }
    }

    @Test("remembers what the plain array remembers, through 3.5 times its capacity of sends with repeated ids, and survives encoding at every wrap")
    func matchesTheReference() throws {
        var random = SeededRandom(seed: 2026_12_05)
        var sends = RecentSends()
        var reference = Reference()
        let users = ["alice", "bob", "carol"].map { UserID($0)! }
        for n in 1...(RecentSends.capacity * 7 / 2) {
            let sender = users[Int(random.next() % 3)]
            let clientID = "k\(random.next() % 2_000)"  // ids repeat, some while still remembered
            sends.remember(MessageID(rawValue: UInt64(n)), sentBy: sender, clientID: clientID)
            reference.remember(MessageID(rawValue: UInt64(n)), sentBy: sender, clientID: clientID)
            for _ in 0..<3 {
                let (user, id) = (users[Int(random.next() % 3)], "k\(random.next() % 2_000)")
                #expect(sends.message(sentBy: user, clientID: id) == reference.message(sentBy: user, clientID: id), "after \(n) sends: \(user) \(id)")
            }
            if n % 777 == 0 {
                // Stored oldest first, whatever the ring's position: the decoded copy is equal and
                // keeps forgetting in the same order.
                let decoded = try JSONDecoder().decode(RecentSends.self, from: try JSONEncoder().encode(sends))
                #expect(decoded == sends)
                let stored = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(sends)) as! [String: String]
                #expect(Self.messages(packed: stored["packed"] ?? "") == reference.entries.map { $0.message.rawValue })
                sends = decoded
            }
        }
    }

    /// The message ids of a packed string, read by following its lengths.
    static func messages(packed: String) -> [UInt64] {
        var rest = Substring(packed)
        var messages: [UInt64] = []
        func skipText() {
            let colon = rest.firstIndex(of: ":")!
            let length = Int(rest[..<colon])!
            rest = Substring(rest.utf8.dropFirst(rest.utf8.distance(from: rest.startIndex, to: colon) + 1 + length))
        }
        while !rest.isEmpty {
            skipText()  // the sender
            skipText()  // the client id
            let comma = rest.firstIndex(of: ",")!
            messages.append(UInt64(rest[..<comma])!)
            rest = rest[rest.index(after: comma)...]
        }
        return messages
    }

    static func filled(_ pairs: [(String, String)]) -> RecentSends {
        var sends = RecentSends()
        for (n, (sender, clientID)) in pairs.enumerated() {
            sends.remember(MessageID(rawValue: UInt64(n) * 1_000_003 + 9_007_199_254_740_993), sentBy: UserID(sender)!, clientID: clientID)
        }
        return sends
    }

    @Test("client ids with separators, digits, quotes and non-ASCII text come back the same, through JSON and the cluster's binary coder")
    func awkwardIDs() throws {
        let sends = Self.filled([
            ("alice", "12:34,56"), ("bob", ""), ("alice", "9"), ("carol", #"a "quoted" \ id"#), ("bob", "über-😀-ключ"),
            ("alice", ","), ("bob", ":"), ("carol", String(repeating: "x", count: 300)), ("alice", "1:a2:bc3,"),
        ])
        let json = try JSONDecoder().decode(RecentSends.self, from: try JSONEncoder().encode(sends))
        let binary = try BinaryDecoder().decode(RecentSends.self, from: try BinaryEncoder().encode(sends))
        #expect(json == sends && binary == sends)
        #expect(json.message(sentBy: UserID("bob")!, clientID: "über-😀-ключ") == sends.message(sentBy: UserID("bob")!, clientID: "über-😀-ключ"))
        #expect(json.message(sentBy: UserID("bob")!, clientID: "über-😀-ключ") != nil)
        #expect(json.message(sentBy: UserID("alice")!, clientID: "1:a2:bc3,") != nil)
    }

    @Test("a channel stored before the packed form (an array of objects) reads the same; the next store writes the packed form")
    func storedBefore() throws {
        let old = #"[{"sender":"alice","clientID":"k1","message":"1001"},{"sender":"bob","clientID":"k1","message":"1002"}]"#
        let decoded = try JSONDecoder().decode(RecentSends.self, from: Data(old.utf8))
        #expect(decoded.message(sentBy: UserID("alice")!, clientID: "k1") == MessageID(rawValue: 1001))
        #expect(decoded.message(sentBy: UserID("bob")!, clientID: "k1") == MessageID(rawValue: 1002))
        #expect(decoded == Self.filled([]).remembering([(1001, "alice", "k1"), (1002, "bob", "k1")]))
        #expect(String(decoding: try JSONEncoder().encode(decoded), as: UTF8.self) == #"{"packed":"5:alice2:k11001,3:bob2:k11002,"}"#)
    }

    @Test("a packed string that is cut short, has a bad length or number, or a sender that is no user id is a decoding error", arguments: [
        "5:alice2:k11001", "5:alice2:k1", "5:alice", "9:alice2:k11001,", "5:alice2:k1x,", "5:alice2:k1,", "x:alice2:k11001,",
        "5:alice2:k199999999999999999999,", "3:a b2:k11001,", ":2:k11001,", "5alice2:k11001,",
    ])
    func corrupt(_ packed: String) throws {
        let json = try JSONEncoder().encode(["packed": packed])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(RecentSends.self, from: json) }
    }
}

extension RecentSends {
    fileprivate func remembering(_ sends: [(UInt64, String, String)]) -> RecentSends {
        var copy = self
        for (message, sender, clientID) in sends { copy.remember(MessageID(rawValue: message), sentBy: UserID(sender)!, clientID: clientID) }
        return copy
    }
}
