import ChorusModel
import Foundation
import GRDB

/// The channel index: one row per stored channel with what queries over all channels read (the
/// Stream API's server-side query channels; docs/stream-api.md, "Query cost"). Written with the
/// channel's snapshot, in the same transaction, so it is exactly as fresh as the store; channels
/// changed since (active and dirty on their node) are read from their actors instead.
public struct ChannelIndexEntry: Sendable, Equatable {
    /// The channel's Stream type (`messaging`, `group`, …).
    public var type: String
    public var createdAt: Timestamp
    /// The newest of creation and the last message (Stream's `updated_at`, the default sort).
    public var updatedAt: Timestamp
    /// `false` once the channel is deleted (queries leave it out).
    public var live: Bool
    /// The channel's filter document (JSON object), as queries evaluate it.
    public var document: Data

    public init(type: String, createdAt: Timestamp, updatedAt: Timestamp, live: Bool, document: Data) {
        self.type = type
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.live = live
        self.document = document
    }
}

/// The order an index scan visits channels in.
public enum ChannelIndexOrder: Sendable, Equatable {
    /// By id (any order will do: the caller sorts).
    case id
    /// By creation time; equal times newest id first (the query API's tiebreak).
    case createdAt(descending: Bool)
    /// By `updated_at`; equal times newest id first.
    case updatedAt(descending: Bool)
}

extension HistoryStore {
    /// The index's key of a channel: its id with the top bit flipped, so SQLite's signed order of
    /// keys is the unsigned order of ids (hashed ids have the top bit set), and ties in a sort
    /// break as the query API breaks them.
    static func indexKey(_ id: ChannelID) -> Int64 { Int64(bitPattern: id.rawValue ^ (1 << 63)) }

    static func channelID(indexKey key: Int64) -> ChannelID { ChannelID(rawValue: UInt64(bitPattern: key) ^ (1 << 63)) }

    static func createChannelIndex(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE channel_index (
                    key INTEGER PRIMARY KEY, type TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
                    live INTEGER NOT NULL, document BLOB NOT NULL);
                CREATE INDEX channel_index_by_updated ON channel_index (live, updated_at, key);
                CREATE INDEX channel_index_by_created ON channel_index (live, created_at, key);
                CREATE INDEX channel_index_by_type ON channel_index (type, live, updated_at, key);
                CREATE INDEX channel_index_by_type_created ON channel_index (type, live, created_at, key);
                """)
    }

    static func writeIndex(_ entries: [(ChannelID, ChannelIndexEntry)], in db: Database) throws {
        let statement = try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO channel_index (key, type, created_at, updated_at, live, document) VALUES (?, ?, ?, ?, ?, ?)")
        for (id, entry) in entries {
            try statement.execute(arguments: [
                indexKey(id), entry.type, entry.createdAt.milliseconds, entry.updatedAt.milliseconds, entry.live,
                entry.document,
            ])
        }
    }

    /// Visits the live indexed channels (of `types`, if given) in `order`, each with its document,
    /// until `visit` returns `false` or none is left: `firstPage` rows at first, then pages twice as
    /// large each time, up to 4,096 (a caller that stops early reads little; a full scan, few pages).
    /// Pages continue from the last row seen (keyset paging), so each costs only its own rows.
    public func scanChannelIndex(
        types: [String]? = nil, order: ChannelIndexOrder, firstPage: Int = 4096, _ visit: ([(ChannelID, Data)]) throws -> Bool
    ) throws {
        let typeCondition = types.map { " AND type IN (\($0.map { _ in "?" }.joined(separator: ", ")))" } ?? ""
        let typeArguments: [any DatabaseValueConvertible] = types ?? []
        // The column the order follows (with the id descending on ties), and whether it descends.
        let (column, descending): (String?, Bool) =
            switch order {
            case .id: (nil, false)
            case .createdAt(let descending): ("created_at", descending)
            case .updatedAt(let descending): ("updated_at", descending)
            }
        var last: (value: Int64, key: Int64)?
        var pageSize = max(1, firstPage)
        while true {
            var sql: String
            var arguments = typeArguments
            if let column {
                sql = "SELECT key, document, \(column) FROM channel_index WHERE live = 1" + typeCondition
                if let last {
                    sql += " AND (\(column) \(descending ? "<" : ">") ? OR (\(column) = ? AND key < ?))"
                    arguments += [last.value, last.value, last.key]
                }
                sql += " ORDER BY \(column) \(descending ? "DESC" : "ASC"), key DESC LIMIT ?"
            } else {
                // By rowid: SQLite would otherwise sort every row through an index on `live`.
                sql = "SELECT key, document, 0 FROM channel_index NOT INDEXED WHERE live = 1" + typeCondition
                if let last {
                    sql += " AND key > ?"
                    arguments.append(last.key)
                }
                sql += " ORDER BY key LIMIT ?"
            }
            arguments.append(pageSize)
            let rows = try pool.read { db in
                try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments)).map { row in
                    (key: row[0] as Int64, document: row[1] as Data, value: row[2] as Int64)
                }
            }
            guard try visit(rows.map { (Self.channelID(indexKey: $0.key), $0.document) }), rows.count == pageSize, let end = rows.last else {
                return
            }
            last = (end.value, end.key)
            pageSize = min(pageSize * 2, max(4096, firstPage))
        }
    }

    /// The stored channels that have no index row (a store written before the index existed), with
    /// their snapshots, so the node can index them.
    public func unindexedChannels() throws -> [(ChannelID, Data)] {
        try pool.read { db in
            let indexed = Set(try Int64.fetchAll(db, sql: "SELECT key FROM channel_index"))
            let missing = try Int64.fetchAll(db, sql: "SELECT id FROM channel").filter {
                !indexed.contains(Self.indexKey(ChannelID(rawValue: UInt64(bitPattern: $0))))
            }
            return try missing.compactMap { id in
                try Data.fetchOne(db, sql: "SELECT snapshot FROM channel WHERE id = ?", arguments: [id]).map {
                    (ChannelID(rawValue: UInt64(bitPattern: id)), $0)
                }
            }
        }
    }

    /// Writes index rows outside a checkpoint (for ``unindexedChannels()``).
    public func index(_ entries: [(ChannelID, ChannelIndexEntry)]) throws {
        try pool.write { db in try Self.writeIndex(entries, in: db) }
    }
}
