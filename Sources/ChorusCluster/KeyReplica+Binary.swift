import ChorusModel

// Replication messages cross the cluster in the record layout (``RecordCodable``): a tag byte,
// then the case's fields in declaration order. Through `Codable` they cost tens of microseconds
// each on both nodes, most of it the runtime's look-ups of generic metadata (docs/benchmarks.md,
// "3-node cluster"). Changing this layout changes what nodes send each other
// (``Wire/protocolVersion``).

extension LogPosition: RecordCodable {
    public func write(to writer: inout ByteWriter) {
        writer.writeVarint(logTerm)
        writer.writeVarint(seq)
    }

    public init(from reader: inout ByteReader) throws {
        self.init(logTerm: try reader.readVarint(), seq: try reader.readVarint())
    }
}

extension KeyReplica.Message: RecordCodable where Record: RecordCodable, Snapshot: RecordCodable {
    private enum Tag: UInt8 {
        case probe, state, append, snapshot, accepted, refused, fetch, fetched
    }

    public func write(to writer: inout ByteWriter) {
        switch self {
        case .probe(let term):
            writer.write(Tag.probe.rawValue)
            writer.writeVarint(term)
        case .state(let term, let log):
            writer.write(Tag.state.rawValue)
            writer.writeVarint(term)
            writer.write(log)
        case .append(let term, let expect, let records, let commit, let lineage):
            writer.write(Tag.append.rawValue)
            writer.writeVarint(term)
            writer.write(expect)
            writer.write(records) { $0.write($1) }
            writer.writeVarint(commit)
            writer.write(lineage) { $0.write($1) }
        case .snapshot(let term, let base, let baseSeq, let records, let commit, let lineage):
            writer.write(Tag.snapshot.rawValue)
            writer.writeVarint(term)
            writer.write(base) { $0.write($1) }
            writer.writeVarint(baseSeq)
            writer.write(records) { $0.write($1) }
            writer.writeVarint(commit)
            writer.write(lineage) { $0.write($1) }
        case .accepted(let term, let upTo):
            writer.write(Tag.accepted.rawValue)
            writer.writeVarint(term)
            writer.writeVarint(upTo)
        case .refused(let term):
            writer.write(Tag.refused.rawValue)
            writer.writeVarint(term)
        case .fetch(let term, let after):
            writer.write(Tag.fetch.rawValue)
            writer.writeVarint(term)
            writer.write(after)
        case .fetched(let term, let log, let base, let baseSeq, let records, let lineage):
            writer.write(Tag.fetched.rawValue)
            writer.writeVarint(term)
            writer.write(log)
            writer.write(base) { $0.write($1) }
            writer.writeVarint(baseSeq)
            writer.write(records) { $0.write($1) }
            writer.write(lineage) { $0.write($1) }
        }
    }

    public init(from reader: inout ByteReader) throws {
        guard let tag = Tag(rawValue: try reader.readByte()) else { throw reader.failure("unknown replication message") }
        let term = try reader.readVarint()
        switch tag {
        case .probe:
            self = .probe(term: term)
        case .state:
            self = .state(term: term, log: try reader.read())
        case .append:
            self = .append(
                term: term, expect: try reader.read(), records: try reader.readArray { try $0.read() },
                commit: try reader.readVarint(), lineage: try reader.readArray { try $0.read() })
        case .snapshot:
            self = .snapshot(
                term: term, base: try reader.readOptional { try $0.read() }, baseSeq: try reader.readVarint(),
                records: try reader.readArray { try $0.read() }, commit: try reader.readVarint(),
                lineage: try reader.readArray { try $0.read() })
        case .accepted:
            self = .accepted(term: term, upTo: try reader.readVarint())
        case .refused:
            self = .refused(term: term)
        case .fetch:
            self = .fetch(term: term, after: try reader.read())
        case .fetched:
            self = .fetched(
                term: term, log: try reader.read(), base: try reader.readOptional { try $0.read() },
                baseSeq: try reader.readVarint(), records: try reader.readArray { try $0.read() },
                lineage: try reader.readArray { try $0.read() })
        }
    }
}
