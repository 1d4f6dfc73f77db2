import Foundation
import Synchronization

/// Small app-wide documents that every node holds whole: segments, campaigns and their progress
/// (docs/stream-api.md, "Segments", "Campaigns"). Each is a JSON text under a key
/// (`segment/<id>`, `campaign/<id>`, `campaign_progress/<id>`).
///
/// Like channel types (``ChannelTypeRegistry``), changes come from one place per deployment: a
/// single node applies them itself and keeps them in `<data_dir>/documents.json`; in a cluster
/// the metadata log commits them and every node adopts the committed table (and keeps the same
/// file, so a restart has it before the log catches up). See ``ChatNode/saveDocument(_:_:)``.
public final class AppDocuments: Sendable {
    /// The key prefixes kept here (the metadata log's other settings belong to other tables).
    static let prefixes = ["segment/", "campaign/", "campaign_progress/"]

    private let stored = Mutex<Kept>(Kept(documents: [:], version: 0))
    /// Where the table is kept (nil: in memory only).
    private let file: String?

    /// The file's content: the documents, and the metadata log's version they are as of (0 on a single node).
    private struct Kept: Codable {
        var documents: [String: String]
        var version: UInt64
    }

    /// A table in memory only.
    public init() {
        file = nil
    }

    /// The table kept in `directory`; a file that cannot be read is an error, not an empty table
    /// (the next change would overwrite what it holds).
    public init(directory: String) throws {
        let file = directory + "/documents.json"
        self.file = file
        guard let data = FileManager.default.contents(atPath: file) else { return }
        let kept = try JSONDecoder().decode(Kept.self, from: data)
        stored.withLock { $0 = kept }
    }

    /// The document at `key`.
    public func document(_ key: String) -> String? {
        stored.withLock { $0.documents[key] }
    }

    /// Every document whose key starts with `prefix`, by the rest of its key.
    public func documents(prefix: String) -> [String: String] {
        stored.withLock { kept in
            var found: [String: String] = [:]
            for (key, value) in kept.documents where key.hasPrefix(prefix) { found[String(key.dropFirst(prefix.count))] = value }
            return found
        }
    }

    /// Sets (nil: removes) one document here and keeps the table (a single node). The file is
    /// written before the change is visible, under the lock, so it never falls behind memory.
    func apply(_ key: String, _ value: String?) throws {
        try stored.withLock { kept in
            var changed = kept
            changed.documents[key] = value
            try save(changed)
            kept = changed
        }
    }

    /// Adopts the documents among the metadata log's committed settings as of `version`, unless
    /// a newer version was adopted already (the log's observers may be told out of order).
    public func adopt(settings: [String: String], version: UInt64) throws {
        let documents = settings.filter { key, _ in Self.prefixes.contains { key.hasPrefix($0) } }
        try stored.withLock { kept in
            guard version > kept.version else { return }
            let adopted = Kept(documents: documents, version: version)
            if documents != kept.documents { try save(adopted) }
            kept = adopted
        }
    }

    private func save(_ kept: Kept) throws {
        guard let file else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try encoder.encode(kept).write(to: URL(fileURLWithPath: file), options: .atomic)
    }
}
