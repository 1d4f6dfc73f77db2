import ChorusCluster
import ChorusTestSupport
import struct ChorusWire.BinaryDecoder
import struct ChorusWire.BinaryEncoder
import Testing

/// A heartbeat's node report crosses the cluster in its own layout: every field comes back, equal
/// reports are equal bytes whatever their dictionaries' order, and damaged bytes are errors.
@Suite("Node reports in their binary layout")
struct NodeReportCodingTests {
    static var full: NodeReport {
        var report = NodeReport(node: "chorus-2 ✨", epoch: .max, actors: ["channel": 12, "user": 0, "": -1])
        report.incarnation = 0xDEAD_BEEF_F00D
        var summary = ReplicationSummary()
        summary.primaries = ["channel": 4, "user": 7]
        summary.backups = ["channel": 9]
        summary.recovering = 2
        summary.newestTerm = 5 << 32 | 3
        summary.lagging = 1
        summary.lagRecords = 1_000_000
        summary.maxLagRecords = 999
        report.replication = summary
        report.counters = ["messages": 42, "deliveries": Int.max, "sessions": 0, "wal_records": Int.min]
        report.leading = 3
        return report
    }

    @Test("a full report and a bare one round-trip, also through the remote-call coder")
    func roundTrips() throws {
        for report in [Self.full, NodeReport(node: "", epoch: 0, actors: [:])] {
            #expect(try NodeReport(binaryRepresentation: report.binaryRepresentation) == report)
            let carried = try BinaryEncoder().encode(report)
            #expect(carried == report.binaryRepresentation)
            #expect(try BinaryDecoder().decode(NodeReport.self, from: carried) == report)
        }
    }

    @Test("dictionaries are written in key order: equal reports are equal bytes")
    func stableBytes() {
        var reordered = Self.full
        reordered.actors = Dictionary(uniqueKeysWithValues: Self.full.actors.reversed().map { ($0.key, $0.value) })
        #expect(reordered.binaryRepresentation == Self.full.binaryRepresentation)
    }

    @Test("every truncation and a stray byte are errors; random damage never traps")
    func damagedBytes() {
        let bytes = Self.full.binaryRepresentation
        for length in 0..<bytes.count {
            #expect(throws: (any Error).self) { _ = try NodeReport(binaryRepresentation: Array(bytes.prefix(length))) }
        }
        #expect(throws: (any Error).self) { _ = try NodeReport(binaryRepresentation: bytes + [0]) }
        var random = SeededRandom(seed: 7)
        for _ in 0..<2_000 {
            var damaged = bytes
            damaged[Int(random.next() % UInt64(damaged.count))] = UInt8(truncatingIfNeeded: random.next())
            _ = try? NodeReport(binaryRepresentation: damaged)
        }
    }
}
