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

    private let table: KeptTable<String>

    /// A table in memory only.
    public init() {
        table = KeptTable()
    }

    /// The table kept in `directory`; a file that cannot be read is an error.
    public init(directory: String) throws {
        table = try KeptTable(file: directory + "/documents.json", field: "documents")
    }

    /// The document at `key`.
    public func document(_ key: String) -> String? {
        table.value(key)
    }

    /// Every document whose key starts with `prefix`, by the rest of its key.
    public func documents(prefix: String) -> [String: String] {
        var found: [String: String] = [:]
        for (key, value) in table.values where key.hasPrefix(prefix) { found[String(key.dropFirst(prefix.count))] = value }
        return found
    }

    /// Sets (nil: removes) one document here and keeps the table (a single node).
    func apply(_ key: String, _ value: String?) throws {
        try table.set(key, value)
    }

    /// Adopts the documents among the metadata log's committed settings as of `version`.
    public func adopt(settings: [String: String], version: UInt64) throws {
        try table.adopt(settings.filter { key, _ in Self.prefixes.contains { key.hasPrefix($0) } }, version: version)
    }
}
