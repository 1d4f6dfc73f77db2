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
    static func createChannelIndex(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE channel_index (
                    id INTEGER PRIMARY KEY, type TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
                    live INTEGER NOT NULL, document BLOB NOT NULL);
                CREATE INDEX channel_index_by_updated ON channel_index (live, updated_at, id);
                CREATE INDEX channel_index_by_created ON channel_index (live, created_at, id);
                CREATE INDEX channel_index_by_type ON channel_index (type, live, updated_at, id);
                """)
    }

    static func writeIndex(_ entries: [(ChannelID, ChannelIndexEntry)], in db: Database) throws {
        let statement = try db.cachedStatement(
            sql: "INSERT OR REPLACE INTO channel_index (id, type, created_at, updated_at, live, document) VALUES (?, ?, ?, ?, ?, ?)")
        for (id, entry) in entries {
            try statement.execute(arguments: [
                Int64(bitPattern: id.rawValue), entry.type, entry.createdAt.milliseconds, entry.updatedAt.milliseconds, entry.live,
                entry.document,
            ])
        }
    }

    /// Visits the live indexed channels (of `types`, if given) in `order`, each with its document,
    /// until `visit` returns `false` or none is left: `firstPage` rows at first, then pages twice as
    /// large each time, up to 4,096 (a caller that stops early reads little; a full scan, few pages).
    public func scanChannelIndex(
        types: [String]? = nil, order: ChannelIndexOrder, firstPage: Int = 4096, _ visit: ([(ChannelID, Data)]) throws -> Bool
    ) throws {
        var sql = "SELECT id, document FROM channel_index WHERE live = 1"
        var arguments: [any DatabaseValueConvertible] = []
        if let types {
            sql += " AND type IN (\(types.map { _ in "?" }.joined(separator: ", ")))"
            arguments += types
        }
        let orderBy =
            switch order {
            case .id: " ORDER BY id"
            case .createdAt(let descending): descending ? " ORDER BY created_at DESC, id DESC" : " ORDER BY created_at, id DESC"
            case .updatedAt(let descending): descending ? " ORDER BY updated_at DESC, id DESC" : " ORDER BY updated_at, id DESC"
            }
        sql += orderBy + " LIMIT ? OFFSET ?"
        var offset = 0
        var pageSize = max(1, firstPage)
        while true {
            let page = try pool.read { db in
                try Row.fetchAll(db, sql: sql, arguments: StatementArguments(arguments + [pageSize, offset])).map { row in
                    (ChannelID(rawValue: UInt64(bitPattern: row[0])), row[1] as Data)
                }
            }
            offset += page.count
            guard try visit(page), page.count == pageSize else { return }
            pageSize = min(pageSize * 2, max(4096, firstPage))
        }
    }

    /// The stored channels that have no index row (a store written before the index existed), with
    /// their snapshots, so the node can index them.
    public func unindexedChannels() throws -> [(ChannelID, Data)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, snapshot FROM channel WHERE id NOT IN (SELECT id FROM channel_index)").map { row in
                (ChannelID(rawValue: UInt64(bitPattern: row[0])), row[1] as Data)
            }
        }
    }

    /// Writes index rows outside a checkpoint (for ``unindexedChannels()``).
    public func index(_ entries: [(ChannelID, ChannelIndexEntry)]) throws {
        try pool.write { db in try Self.writeIndex(entries, in: db) }
    }
}
