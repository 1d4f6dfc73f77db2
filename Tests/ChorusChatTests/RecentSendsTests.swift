import ChorusModel
import ChorusTestSupport
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
                let stored = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(sends)) as! [[String: Any]]
                #expect(stored.compactMap { ($0["message"] as? String).flatMap { UInt64($0) } } == reference.entries.map { $0.message.rawValue })
                sends = decoded
            }
        }
    }
}
