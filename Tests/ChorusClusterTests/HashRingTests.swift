import ChorusCluster
import Testing

@Suite("HashRing")
struct HashRingTests {
    static let keys = (0..<100_000).map { "channel/\(1_843_000_000_000_000 + $0 * 4096)" }

    func nodes(_ count: Int) -> [String] { (1...count).map { "chorus-\($0)" } }

    @Test("each of 3-10 nodes owns within ±10% of its fair share of 100,000 keys", arguments: 3...10)
    func balance(nodeCount: Int) {
        let ring = HashRing(nodes: nodes(nodeCount))
        var owned: [String: Int] = [:]
        for key in Self.keys { owned[ring.owner(of: key)!, default: 0] += 1 }
        let fair = Double(Self.keys.count) / Double(nodeCount)
        #expect(owned.count == nodeCount)
        for (node, count) in owned {
            #expect(abs(Double(count) - fair) / fair <= 0.10, "\(node): \(count) keys, fair share \(Int(fair))")
        }
        // The shares the dashboard shows are the fractions of keys each node owns (within 1%).
        let shares = ring.shares
        #expect(abs(shares.values.reduce(0, +) - 1) < 1e-9 && Set(shares.keys) == Set(owned.keys))
        for (node, count) in owned {
            let fraction = Double(count) / Double(Self.keys.count)
            #expect(abs(shares[node]! - fraction) < 0.01, "\(node): share \(shares[node]!), owns \(fraction)")
        }
    }

    @Test("shares: one node, none, and two of one point each, exactly")
    func degenerateShares() {
        #expect(HashRing(nodes: ["solo"]).shares == ["solo": 1])
        #expect(HashRing(nodes: [String]()).shares.isEmpty)
        // Two nodes with one point each: each owns the arc that ends at its point.
        let ring = HashRing(nodes: ["a", "b"], virtualNodes: 1)
        let (a, b) = (HashRing.hash("a#0"), HashRing.hash("b#0"))
        #expect(ring.shares["a"] == Double(a &- b) / 0x1p64 && ring.shares["b"] == Double(b &- a) / 0x1p64)
        #expect(ring.owner(of: "a#0") == "a" && ring.owner(of: "b#0") == "b")
    }

    @Test("a join moves only about 1/N of the keys, all of them to the new node; a leave moves only the leaver's", arguments: [3, 5, 9])
    func minimalMovement(nodeCount: Int) {
        let before = HashRing(nodes: nodes(nodeCount))
        let after = before.adding("chorus-new")
        #expect(after.epoch == before.epoch + 1)
        var moved = 0
        for key in Self.keys {
            let old = before.owner(of: key)!
            let new = after.owner(of: key)!
            if old != new {
                moved += 1
                #expect(new == "chorus-new")
            }
        }
        let expected = Double(Self.keys.count) / Double(nodeCount + 1)
        #expect(abs(Double(moved) - expected) / expected <= 0.15, "moved \(moved), expected about \(Int(expected))")
        // Removing it again restores every key's owner.
        let back = after.removing("chorus-new")
        #expect(Self.keys.prefix(10_000).allSatisfy { back.owner(of: $0) == before.owner(of: $0) })
    }

    @Test("preference lists: distinct nodes, owner first, the same on every peer")
    func preferenceLists() {
        let ring = HashRing(nodes: nodes(5))
        let twin = HashRing(nodes: nodes(5).reversed())
        for key in Self.keys.prefix(1000) {
            let list = ring.preferenceList(for: key, count: 3)
            #expect(list.count == 3 && Set(list).count == 3 && list.first == ring.owner(of: key))
            #expect(twin.preferenceList(for: key, count: 3) == list)
        }
        #expect(ring.preferenceList(for: "x", count: 9).count == 5)
        #expect(HashRing(nodes: []).owner(of: "x") == nil)
        #expect(ring.adding("chorus-1") == ring && ring.removing("nope") == ring)
    }

    @Test("the hash is pinned: FNV-1a with the SplitMix64 finalizer")
    func stableHash() {
        // Pinned values (computed independently): changing the hash would move every key in a
        // running cluster, so it must never change by accident.
        #expect(HashRing.hash("a") == 0x02c0_bdbf_4814_20f8)
        #expect(HashRing.hash("channel/1843") == 0x5bdb_8073_3ea1_6efd)
        #expect(HashRing.hash("channel/1") != HashRing.hash("channel/2"))
    }
}
