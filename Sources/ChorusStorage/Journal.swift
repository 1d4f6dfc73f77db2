import ChorusModel
import Foundation
import Synchronization

/// One logged change: a record of one channel or one user.
public enum JournalEntry: Hashable, Sendable {
    case channel(ChannelID, ChannelRecord)
    case user(UserID, UserRecord)

    private struct ChannelPayload: Codable {
        var channel: ChannelID
        var record: ChannelRecord
    }

    private struct UserPayload: Codable {
        var user: UserID
        var record: UserRecord
    }

    /// The entry as a WAL frame (JSON payload; the frame type says which kind).
    public func frame() throws -> WALFrame {
        let encoder = JSONEncoder()
        switch self {
        case .channel(let id, let record):
            return WALFrame(kind: .channel, payload: Array(try encoder.encode(ChannelPayload(channel: id, record: record))))
        case .user(let id, let record):
            return WALFrame(kind: .user, payload: Array(try encoder.encode(UserPayload(user: id, record: record))))
        }
    }

    /// Decodes an entry from a frame written by ``frame()``.
    public init(frame: WALFrame) throws {
        let decoder = JSONDecoder()
        switch frame.kind {
        case .channel:
            let payload = try decoder.decode(ChannelPayload.self, from: Data(frame.payload))
            self = .channel(payload.channel, payload.record)
        case .user:
            let payload = try decoder.decode(UserPayload.self, from: Data(frame.payload))
            self = .user(payload.user, payload.record)
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
        try append(try entry.frame())
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
