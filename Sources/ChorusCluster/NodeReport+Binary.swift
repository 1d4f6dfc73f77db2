import ChorusModel
import ChorusWire

// A node's report crosses the cluster twice in every heartbeat (the call and its reply), each
// peer's every `heartbeat_interval_ms`: through `Codable` it was ~10% of an idle node's CPU
// (docs/benchmarks.md, "3-node cluster"). It travels in the record layout instead; dictionaries
// are written in key order, so equal reports are equal bytes. Part of ``Wire/protocolVersion``.

extension NodeReport: BinaryRepresentable {
    public var binaryRepresentation: [UInt8] {
        var writer = ByteWriter(capacity: 128)
        writer.write(node)
        writer.writeVarint(epoch)
        writer.write(counts: actors)
        writer.writeVarint(incarnation)
        writer.write(replication) { writer, summary in
            writer.write(counts: summary.primaries)
            writer.write(counts: summary.backups)
            writer.writeSigned(Int64(summary.recovering))
            writer.writeVarint(summary.newestTerm)
            writer.writeSigned(Int64(summary.lagging))
            writer.writeVarint(summary.lagRecords)
            writer.writeVarint(summary.maxLagRecords)
        }
        writer.write(counters) { $0.write(counts: $1) }
        writer.write(leading) { $0.writeVarint($1) }
        return writer.bytes
    }

    public init(binaryRepresentation bytes: [UInt8]) throws {
        var reader = ChorusModel.ByteReader(bytes)
        self.init(node: try reader.readString(), epoch: try reader.readVarint(), actors: try reader.readCounts())
        incarnation = try reader.readVarint()
        replication = try reader.readOptional { reader in
            var summary = ReplicationSummary()
            summary.primaries = try reader.readCounts()
            summary.backups = try reader.readCounts()
            summary.recovering = try reader.readInt()
            summary.newestTerm = try reader.readVarint()
            summary.lagging = try reader.readInt()
            summary.lagRecords = try reader.readVarint()
            summary.maxLagRecords = try reader.readVarint()
            return summary
        }
        counters = try reader.readOptional { try $0.readCounts() }
        leading = try reader.readOptional { try $0.readVarint() }
        guard reader.remaining == 0 else { throw reader.failure("\(reader.remaining) stray bytes after the report") }
    }
}

extension ByteWriter {
    /// Counts by name, in name order.
    fileprivate mutating func write(counts: [String: Int]) {
        write(counts.sorted { $0.key < $1.key }) { writer, entry in
            writer.write(entry.key)
            writer.writeSigned(Int64(entry.value))
        }
    }
}

extension ChorusModel.ByteReader {
    fileprivate mutating func readInt() throws -> Int {
        let value = try readSigned()
        guard let int = Int(exactly: value) else { throw failure("integer out of range") }
        return int
    }

    fileprivate mutating func readCounts() throws -> [String: Int] {
        let entries = try readArray { reader in (try reader.readString(), try reader.readInt()) }
        return Dictionary(entries, uniquingKeysWith: { _, last in last })
    }
}
