import ChorusModel
import Foundation
import Synchronization

/// One logged change: a record of one channel or one user, or a batch of a channel's replicated
/// log that a replica accepted.
///
/// A frame's payload is the record format's version byte (``RecordFormat/version``), then the
/// key (channel or user id) and the record in the binary record format (``RecordCodable``).
/// Logs written before that format hold JSON payloads (they start with `{`); they are still
/// read, and the next checkpoint retires them (docs/operations.md, "The record format").
public enum JournalEntry: Hashable, Sendable {
    case channel(ChannelID, ChannelRecord)
    case user(UserID, UserRecord)
    case replica(ChannelID, ReplicaBatch<ChannelRecord>)
    case userReplica(UserID, ReplicaBatch<UserRecord>)

    /// The entry as a WAL frame (the frame type says which kind).
    public func frame() -> WALFrame {
        var writer = ByteWriter(capacity: 128)
        writer.write(RecordFormat.version)
        switch self {
        case .channel(let id, let record):
            writer.write(id)
            writer.write(record)
            return WALFrame(kind: .channel, payload: writer.bytes)
        case .user(let id, let record):
            writer.write(id)
            writer.write(record)
            return WALFrame(kind: .user, payload: writer.bytes)
        case .replica(let id, let batch):
            writer.write(id)
            batch.write(to: &writer)
            return WALFrame(kind: .replica, payload: writer.bytes)
        case .userReplica(let id, let batch):
            writer.write(id)
            batch.write(to: &writer)
            return WALFrame(kind: .userReplica, payload: writer.bytes)
        }
    }

    /// Decodes an entry from a frame written by ``frame()`` (or by an older, JSON-writing node).
    public init(frame: WALFrame) throws {
        switch frame.payload.first {
        case RecordFormat.version:
            var reader = ByteReader(frame.payload, offset: 1)
            do {
                switch frame.kind {
                case .channel: self = .channel(try reader.read(), try reader.read())
                case .user: self = .user(try reader.read(), try reader.read())
                case .replica: self = .replica(try reader.read(), try ReplicaBatch(from: &reader))
                case .userReplica: self = .userReplica(try reader.read(), try ReplicaBatch(from: &reader))
                }
            } catch let error as RecordDecodingError {
                throw WALError(.corrupt, "undecodable \(frame.kind) record: \(error)")
            }
            guard reader.remaining == 0 else { throw WALError(.corrupt, "\(reader.remaining) stray bytes after a \(frame.kind) record") }
        case UInt8(ascii: "{"):
            self = try Self.decodeJSON(frame)
        case let version:
            throw WALError(
                .corrupt,
                "record format version \(version.map(String.init) ?? "none") is unknown to this build (it reads \(RecordFormat.version) and JSON); "
                    + "was the log written by a newer Chorus?")
        }
    }

    private struct ChannelPayload: Codable {
        var channel: ChannelID
        var record: ChannelRecord
    }

    private struct UserPayload: Codable {
        var user: UserID
        var record: UserRecord
    }

    /// The entry as the JSON frame that nodes wrote before the binary format (for tests of
    /// reading old logs, and for benchmarks that compare the two).
    public func legacyJSONFrame() throws -> WALFrame {
        let encoder = JSONEncoder()
        switch self {
        case .channel(let id, let record):
            return WALFrame(kind: .channel, payload: Array(try encoder.encode(ChannelPayload(channel: id, record: record))))
        case .user(let id, let record):
            return WALFrame(kind: .user, payload: Array(try encoder.encode(UserPayload(user: id, record: record))))
        case .replica, .userReplica:
            throw WALError(.corrupt, "replica batches were never written as JSON")
        }
    }

    private static func decodeJSON(_ frame: WALFrame) throws -> JournalEntry {
        let decoder = JSONDecoder()
        switch frame.kind {
        case .channel:
            let payload = try decoder.decode(ChannelPayload.self, from: Data(frame.payload))
            return .channel(payload.channel, payload.record)
        case .user:
            let payload = try decoder.decode(UserPayload.self, from: Data(frame.payload))
            return .user(payload.user, payload.record)
        case .replica, .userReplica:
            throw WALError(.corrupt, "a replica batch in JSON (they are only written in the binary format)")
        }
    }
}

/// Where actors log their records before acknowledging a change.
///
/// `append` is synchronous so an actor logs in its own order within one turn; `waitDurable`
/// then suspends until the record is acknowledged under the fsync policy.
public protocol Journal: Sendable {
    /// Logs `entry`; returns its LSN. Never blocks on I/O.
    func append(_ entry: JournalEntry) throws -> UInt64
    /// Returns once the record `lsn` is durable (per the fsync policy).
    func waitDurable(_ lsn: UInt64) async throws
    /// The LSN the next entry gets.
    var nextLSN: UInt64 { get }
}

extension WriteAheadLog: Journal {
    public func append(_ entry: JournalEntry) throws -> UInt64 {
        try append(entry.frame())
    }
}

/// A journal that keeps nothing: for nodes whose state lives only in memory (tests, benchmarks).
public final class MemoryJournal: Journal {
    private let lastLSN = Mutex<UInt64>(0)

    public init() {}

    public func append(_ entry: JournalEntry) throws -> UInt64 {
        lastLSN.withLock { $0 += 1; return $0 }
    }

    public func waitDurable(_ lsn: UInt64) async throws {}

    public var nextLSN: UInt64 { lastLSN.withLock { $0 + 1 } }
}

/// What a replica of a channel or user logs when it accepts records from the key's primary (or a
/// promise, or its log's switch to a newer term): one frame, so a torn tail loses whole batches,
/// never terms without their records (docs/replication.md).
///
/// `records` are the key's records at `from...`; `logTerm` is the log's term once they are in
/// (the term of the primary whose log this one is a prefix of), `promisedTerm` the newest term the
/// replica promised. A batch without records changes only the terms.
public struct ReplicaBatch<Record: RecordCodable & Hashable & Sendable>: Hashable, Sendable {
    public var promisedTerm: UInt64
    public var logTerm: UInt64
    public var from: UInt64
    public var records: [Record]

    public init(promisedTerm: UInt64, logTerm: UInt64, from: UInt64, records: [Record]) {
        self.promisedTerm = promisedTerm
        self.logTerm = logTerm
        self.from = from
        self.records = records
    }

    func write(to writer: inout ByteWriter) {
        writer.writeVarint(promisedTerm)
        writer.writeVarint(logTerm)
        writer.writeVarint(from)
        writer.write(records) { $0.write($1) }
    }

    init(from reader: inout ByteReader) throws {
        promisedTerm = try reader.readVarint()
        logTerm = try reader.readVarint()
        from = try reader.readVarint()
        records = try reader.readArray { try $0.read() }
    }
}
