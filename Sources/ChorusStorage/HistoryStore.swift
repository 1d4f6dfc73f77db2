import ChorusModel
import Foundation
import GRDB

/// The materialized store (SQLite through GRDB): every message of every channel, and each actor's
/// snapshot, as of the last checkpoint.
///
/// Written only by checkpoints, one transaction each, which also records the checkpoint's covered
/// LSN; so the store is always a consistent cut, and recovery replays the WAL from that LSN.
/// Channel actors keep a bounded window of recent messages in memory and read older history here.
public final class HistoryStore: Sendable {
    let pool: DatabasePool

    /// Opens (creating if needed) the store at `path`.
    ///
    /// `durable` (the default) makes every transaction durable at its commit (`PRAGMA synchronous
    /// = FULL` on the writer): a checkpoint's transaction is followed by the deletion of the WAL
    /// segments it covers, so an OS crash or power loss that undid a committed checkpoint would
    /// lose what those segments held. GRDB opens a pool at `NORMAL`, which in WAL mode leaves
    /// commits to SQLite's own checkpoints to sync. A node whose WAL does not sync (`fsync:
    /// none`) keeps `NORMAL`: it promises nothing across an OS crash.
    public init(path: String, durable: Bool = true) throws {
        var configuration = Configuration()
        configuration.label = "chorus.store"
        pool = try DatabasePool(path: path, configuration: configuration)
        if durable {
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        }
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE message (
                        channel INTEGER NOT NULL, id INTEGER NOT NULL, sender TEXT NOT NULL, deleted INTEGER NOT NULL,
                        json BLOB NOT NULL, PRIMARY KEY (channel, id)) WITHOUT ROWID;
                    CREATE TABLE channel (id INTEGER PRIMARY KEY, snapshot BLOB NOT NULL, applied_lsn INTEGER NOT NULL);
                    CREATE TABLE user (id TEXT PRIMARY KEY, snapshot BLOB NOT NULL, applied_lsn INTEGER NOT NULL);
                    CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                    """)
        }
        migrator.registerMigration("v2-search") { db in
            // Full-text search over message text (docs/stream-api.md, "Search"): one row per
            // live stored message, its rowid the message id (ids are unique across channels).
            // `channel` is an indexed token (`c` + the id in hex), so a search of one channel
            // intersects two posting lists instead of filtering every match.
            try db.execute(
                sql: """
                    CREATE VIRTUAL TABLE message_text USING fts5(body, channel, tokenize = 'unicode61 remove_diacritics 0');
                    INSERT INTO message_text (rowid, body, channel)
                        SELECT id, json_extract(json, '$.body'), 'c' || printf('%x', channel) FROM message WHERE deleted = 0;
                    """)
        }
        migrator.registerMigration("v3-locate") { db in
            // Finding a message without its channel (the Stream API's /messages/{id}).
            try db.execute(
                sql: """
                    CREATE INDEX message_by_id ON message (id);
                    CREATE INDEX message_by_client_id ON message (json_extract(json, '$.clientMessageID'))
                        WHERE json_extract(json, '$.clientMessageID') IS NOT NULL;
                    """)
        }
        migrator.registerMigration("v4-channel-index") { db in
            // Rows for channels stored before it are written by the node at start-up (HistoryStore+ChannelIndex.swift).
            try Self.createChannelIndex(db)
        }
        try migrator.migrate(pool)
    }

    /// The channel and engine id of the stored message whose engine id is `key` in decimal, else
    /// whose client id is `key`.
    public func locate(_ key: String) throws -> (ChannelID, MessageID)? {
        try pool.read { db in
            var row: Row?
            if let id = MessageID(key) {
                row = try Row.fetchOne(db, sql: "SELECT channel, id FROM message WHERE id = ? LIMIT 1", arguments: [Int64(bitPattern: id.rawValue)])
            }
            if row == nil {
                row = try Row.fetchOne(
                    db, sql: "SELECT channel, id FROM message WHERE json_extract(json, '$.clientMessageID') = ? LIMIT 1", arguments: [key])
            }
            return row.map { (ChannelID(rawValue: UInt64(bitPattern: $0[0])), MessageID(rawValue: UInt64(bitPattern: $0[1]))) }
        }
    }

    /// The search token of `channel` in `message_text`.
    static func searchToken(_ channel: ChannelID) -> String {
        "c" + String(channel.rawValue, radix: 16)
    }

    // MARK: Checkpoints

    /// What one checkpoint writes.
    public struct Batch: Sendable {
        /// Channel snapshots (opaque to the store) with the LSN each includes.
        public var channels: [(ChannelID, any StoredSnapshot, UInt64)] = []
        /// User snapshots with the LSN each includes.
        public var users: [(UserID, any StoredSnapshot, UInt64)] = []
        /// Messages created or changed since the last checkpoint.
        public var messages: [Message] = []
        /// Stored messages to delete, by channel: every one up to the id (hard truncates and deletes).
        public var erasures: [(ChannelID, MessageID)] = []
        /// The channel index's rows of the channels in `channels` (HistoryStore+ChannelIndex.swift).
        public var channelIndex: [(ChannelID, ChannelIndexEntry)] = []
        /// Every WAL record below this LSN is in the store after the batch.
        public var coveredLSN: UInt64

        public init(coveredLSN: UInt64) {
            self.coveredLSN = coveredLSN
        }
    }

    /// Writes `batch` in one transaction.
    public func write(_ batch: Batch) async throws {
        try await writeRows(batch, covered: batch.coveredLSN)
    }

    /// Writes the rows of `batch`, and the covered LSN if given, in one transaction (after
    /// deleting the messages of `replaced`, if given).
    private func writeRows(_ batch: Batch, covered: UInt64?, replacingMessagesOf replaced: ChannelID? = nil) async throws {
        // A checkpoint's messages come channel by channel, the channels in no order. The message
        // table's rows go in its key order (channel, id), so each B-tree page is visited once. The
        // search index's rows go in rowid (id) order: FTS5 writes its pending terms out as a new
        // segment whenever a rowid is not above the one before, which channel by channel meant a
        // segment per channel for the index to merge later (together ~20% of a checkpoint's CPU:
        // `chorus-benchmarks store`, docs/benchmarks.md).
        //
        // Both happen in the write's closure, on the store's writer thread, as do the snapshots'
        // encodings (``StoredSnapshot``): for a checkpoint of a busy minute they are tens of
        // milliseconds of CPU, which on the caller's thread held one of the cooperative pool's
        // threads (two on two cores) from every request meanwhile.
        try await pool.write { db in
            let rows = batch.messages.sorted { ($0.channelID, $0.id) < ($1.channelID, $1.id) }.map { ($0, $0.storedJSON) }
            let texts = batch.messages.sorted { $0.id < $1.id }
            if let replaced {
                let channel = Int64(bitPattern: replaced.rawValue)
                try db.execute(sql: "DELETE FROM message_text WHERE rowid IN (SELECT id FROM message WHERE channel = ?)", arguments: [channel])
                try db.execute(sql: "DELETE FROM message WHERE channel = ?", arguments: [channel])
            }
            for (channel, through) in batch.erasures {
                let arguments: StatementArguments = [Int64(bitPattern: channel.rawValue), Int64(bitPattern: through.rawValue)]
                try db.execute(sql: "DELETE FROM message_text WHERE rowid IN (SELECT id FROM message WHERE channel = ? AND id <= ?)", arguments: arguments)
                try db.execute(sql: "DELETE FROM message WHERE channel = ? AND id <= ?", arguments: arguments)
            }
            let insertMessage = try db.cachedStatement(sql: "INSERT OR REPLACE INTO message (channel, id, sender, deleted, json) VALUES (?, ?, ?, ?, ?)")
            let indexText = try db.cachedStatement(sql: "INSERT OR REPLACE INTO message_text (rowid, body, channel) VALUES (?, ?, ?)")
            let unindexText = try db.cachedStatement(sql: "DELETE FROM message_text WHERE rowid = ?")
            for (message, json) in rows {
                try insertMessage.execute(
                    arguments: [Int64(bitPattern: message.channelID.rawValue), Int64(bitPattern: message.id.rawValue), message.senderID.rawValue, message.deleted, json])
            }
            for message in texts {
                let id = Int64(bitPattern: message.id.rawValue)
                if message.deleted {
                    try unindexText.execute(arguments: [id])
                } else {
                    try indexText.execute(arguments: [id, message.body, Self.searchToken(message.channelID)])
                }
            }
            for (id, snapshot, lsn) in batch.channels {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO channel (id, snapshot, applied_lsn) VALUES (?, ?, ?)",
                    arguments: [Int64(bitPattern: id.rawValue), try snapshot.storedBytes(), Int64(bitPattern: lsn)])
            }
            try Self.writeIndex(batch.channelIndex, in: db)
            for (id, snapshot, lsn) in batch.users {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO user (id, snapshot, applied_lsn) VALUES (?, ?, ?)",
                    arguments: [id.rawValue, try snapshot.storedBytes(), Int64(bitPattern: lsn)])
            }
            if let covered {
                try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('covered_lsn', ?)", arguments: [Int64(bitPattern: covered)])
            }
        }
    }

    // MARK: Handoff

    /// Stores messages of a channel this node is adopting from another node (one transaction).
    public func importMessages(_ messages: [Message]) async throws {
        var batch = Batch(coveredLSN: 0)
        batch.messages = messages
        try await writeRows(batch, covered: nil)
    }

    /// Stores the snapshot of an adopted channel (after its messages), as of `appliedLSN` of this
    /// node's WAL: older records of the channel in this WAL are from an earlier ownership and
    /// must not be replayed over it.
    public func importChannel(_ id: ChannelID, snapshot: Data, index: ChannelIndexEntry?, appliedLSN: UInt64) async throws {
        var batch = Batch(coveredLSN: 0)
        batch.channels = [(id, snapshot, appliedLSN)]
        batch.channelIndex = index.map { [(id, $0)] } ?? []
        try await writeRows(batch, covered: nil)
    }

    /// Replaces everything stored of channel `id` with `snapshot` and `messages`, in one
    /// transaction, as of `appliedLSN` of this node's WAL (a replica installing the whole log of
    /// the channel's primary: messages it had that the primary's log does not are gone).
    public func replaceChannel(_ id: ChannelID, snapshot: Data, index: ChannelIndexEntry?, messages: [Message], appliedLSN: UInt64) async throws {
        var batch = Batch(coveredLSN: 0)
        batch.messages = messages
        batch.channels = [(id, snapshot, appliedLSN)]
        batch.channelIndex = index.map { [(id, $0)] } ?? []
        try await writeRows(batch, covered: nil, replacingMessagesOf: id)
    }

    /// Stores the snapshot of an adopted user, as of `appliedLSN` of this node's WAL.
    public func importUser(_ id: UserID, snapshot: Data, appliedLSN: UInt64) async throws {
        var batch = Batch(coveredLSN: 0)
        batch.users = [(id, snapshot, appliedLSN)]
        try await writeRows(batch, covered: nil)
    }

    /// The ids of every stored channel.
    public func channelIDs() throws -> [ChannelID] {
        try pool.read { db in
            try Int64.fetchAll(db, sql: "SELECT id FROM channel ORDER BY id").map { ChannelID(rawValue: UInt64(bitPattern: $0)) }
        }
    }

    /// The covered LSN of the last checkpoint (1 if there was none: replay everything).
    public func coveredLSN() throws -> UInt64 {
        try pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'covered_lsn'").map { UInt64(bitPattern: $0) } ?? 1
        }
    }

    /// One channel's stored snapshot and the LSN it includes.
    public func channelSnapshot(_ id: ChannelID) throws -> (snapshot: Data, appliedLSN: UInt64)? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT snapshot, applied_lsn FROM channel WHERE id = ?", arguments: [Int64(bitPattern: id.rawValue)])
                .map { ($0[0], UInt64(bitPattern: $0[1])) }
        }
    }

    /// The largest stored channel id (new ids must stay above it).
    public func maxChannelID() throws -> ChannelID? {
        try pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM channel").map { ChannelID(rawValue: UInt64(bitPattern: $0)) }
        }
    }

    /// Every channel snapshot, with the LSN it includes.
    public func channelSnapshots() throws -> [(ChannelID, Data, UInt64)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, snapshot, applied_lsn FROM channel").map { row in
                (ChannelID(rawValue: UInt64(bitPattern: row[0])), row[1], UInt64(bitPattern: row[2]))
            }
        }
    }

    /// Every user snapshot, with the LSN it includes.
    public func userSnapshots() throws -> [(UserID, Data, UInt64)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, snapshot, applied_lsn FROM user").compactMap { row in
                UserID(row[0] as String).map { ($0, row[1], UInt64(bitPattern: row[2])) }
            }
        }
    }

    // MARK: History

    /// Messages of `channel` with ids strictly between `after` and `before` (either may be open),
    /// ascending; at most `limit`, taken from the newest end (`fromNewest`) or the oldest.
    public func messages(
        in channel: ChannelID, after: MessageID? = nil, before: MessageID? = nil, limit: Int, fromNewest: Bool
    ) throws -> [Message] {
        let lower = Int64(bitPattern: after?.rawValue ?? 0)
        let upper = before.map { Int64(bitPattern: $0.rawValue) } ?? Int64.max
        let order = fromNewest ? "DESC" : "ASC"
        let rows = try pool.read { db in
            try Data.fetchAll(
                db, sql: "SELECT json FROM message WHERE channel = ? AND id > ? AND id < ? ORDER BY id \(order) LIMIT ?",
                arguments: [Int64(bitPattern: channel.rawValue), after == nil ? -1 : lower, upper, limit])
        }
        let decoder = JSONDecoder()
        let messages = try rows.map { try decoder.decode(Message.self, from: $0) }
        return fromNewest ? messages.reversed() : messages
    }

    /// Message `id` of `channel`, if stored.
    public func message(_ id: MessageID, in channel: ChannelID) throws -> Message? {
        let row = try pool.read { db in
            try Data.fetchOne(
                db, sql: "SELECT json FROM message WHERE channel = ? AND id = ?",
                arguments: [Int64(bitPattern: channel.rawValue), Int64(bitPattern: id.rawValue)])
        }
        return try row.map { try JSONDecoder().decode(Message.self, from: $0) }
    }

    /// The newest `limit` stored, live messages of `channel` whose text has every one of `words`
    /// as a whole word (case-insensitive), newest first.
    public func search(in channel: ChannelID, words: [String], limit: Int) throws -> [Message] {
        guard !words.isEmpty, limit > 0 else { return [] }
        // Each word a quoted phrase (quotes doubled), so no word is read as FTS5 syntax.
        let terms = words.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }.joined(separator: " AND ")
        let match = "channel:\(Self.searchToken(channel)) AND body:(\(terms))"
        let rows = try pool.read { db in
            try Data.fetchAll(
                db,
                sql: """
                    SELECT message.json FROM message_text JOIN message ON message.channel = ? AND message.id = message_text.rowid
                    WHERE message_text MATCH ? ORDER BY message_text.rowid DESC LIMIT ?
                    """,
                arguments: [Int64(bitPattern: channel.rawValue), match, limit])
        }
        let decoder = JSONDecoder()
        return try rows.map { try decoder.decode(Message.self, from: $0) }
    }

    /// Stored messages of `channel` below `before` that `rule` counts as unread, except those in
    /// `excluded` (messages whose newer version is in memory). The SQL conditions are
    /// ``UnreadRule/counts(_:)``'s: after the cursor, not deleted, not the user's own.
    public func unreadCount(in channel: ChannelID, by rule: UnreadRule, before: MessageID, excluding excluded: [MessageID]) throws -> Int {
        let (after, user) = (rule.after, rule.user)
        let placeholders = excluded.isEmpty ? "" : " AND id NOT IN (" + excluded.map { _ in "?" }.joined(separator: ",") + ")"
        var arguments: StatementArguments = [
            Int64(bitPattern: channel.rawValue), after.map { Int64(bitPattern: $0.rawValue) } ?? -1, Int64(bitPattern: before.rawValue), user.rawValue,
        ]
        for id in excluded { _ = arguments.append(contentsOf: [Int64(bitPattern: id.rawValue)]) }
        let finalArguments = arguments
        return try pool.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM message WHERE channel = ? AND id > ? AND id < ? AND deleted = 0 AND sender != ?" + placeholders,
                arguments: finalArguments) ?? 0
        }
    }
}

/// A channel's or user's snapshot as the store keeps it: bytes the store asks for inside its
/// write, on its writer thread, so a checkpoint of many channels does not encode them on the
/// caller's (the cooperative pool's) thread. Bytes already made are one.
public protocol StoredSnapshot: Sendable {
    func storedBytes() throws -> Data
}

extension Data: StoredSnapshot {
    public func storedBytes() -> Data { self }
}
