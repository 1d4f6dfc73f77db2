import ChorusModel
import Foundation
import Synchronization

/// Every channel type this node knows: the built-in ones and the app's changes and additions.
/// Each node holds the whole table, so a channel checks its type's settings without a call.
///
/// Changes come from one place per deployment: a single node applies them itself and keeps
/// them in `<data_dir>/channel-types.json`; in a cluster the metadata log decides them and every
/// node applies the committed table (and keeps the same file, so a restart has it before the log
/// catches up). See ``ChatNode/saveChannelType(_:_:)``.
public final class ChannelTypeRegistry: Sendable {
    /// Types the app created or changed, by name (built-ins not in it have their defaults).
    private let stored = Mutex<[String: ChannelTypeSettings]>([:])
    private let defaultMaxMessageLength: Int
    /// Where the table is kept (nil: in memory only).
    private let file: String?
    /// The configured word lists (lower-cased), by name.
    private let blocklists: [String: Set<String>]

    public init(defaultMaxMessageLength: Int, directory: String?, blocklists: [String: [String]] = [:]) {
        self.defaultMaxMessageLength = defaultMaxMessageLength
        self.blocklists = blocklists.mapValues { Set($0.map { $0.lowercased() }) }
        self.file = directory.map { $0 + "/channel-types.json" }
        if let file, let data = FileManager.default.contents(atPath: file),
            let table = try? JSONDecoder().decode([String: ChannelTypeSettings].self, from: data)
        {
            stored.withLock { $0 = table }
        }
    }

    /// The settings of type `name`, or nil when there is no such type.
    public func settings(_ name: String) -> ChannelTypeSettings? {
        stored.withLock { $0[name] } ?? ChannelTypeSettings.builtIn(name, defaultMaxMessageLength: defaultMaxMessageLength)
    }

    /// Whether a word list called `name` is configured.
    public func hasBlocklist(_ name: String) -> Bool { blocklists[name] != nil }

    /// The words of `text` that blocklist `name` holds (none when it is not configured).
    func blockedWords(in text: String, blocklist name: String) -> [String] {
        guard let words = blocklists[name], !words.isEmpty else { return [] }
        return TextWords.words(of: text).map(String.init).filter { words.contains($0) }
    }

    /// Every type, by name.
    public func all() -> [ChannelTypeSettings] {
        let table = stored.withLock { $0 }
        let builtIns = ChannelTypeSettings.builtInNames.filter { table[$0] == nil }.compactMap {
            ChannelTypeSettings.builtIn($0, defaultMaxMessageLength: defaultMaxMessageLength)
        }
        return (Array(table.values) + builtIns).sorted { $0.name < $1.name }
    }

    /// The stored table (what the metadata log carries).
    var table: [String: ChannelTypeSettings] { stored.withLock { $0 } }

    /// Sets (or, with nil, removes) one stored type here and keeps the table (a single node; a
    /// cluster changes types through ``ChatNode/saveChannelType(_:_:)``).
    public func apply(_ name: String, _ settings: ChannelTypeSettings?) throws {
        let table = stored.withLock { table in
            table[name] = settings
            return table
        }
        try save(table)
    }

    /// Replaces the whole table (the metadata log's committed one); returns whether it changed.
    @discardableResult
    public func replace(with table: [String: ChannelTypeSettings]) throws -> Bool {
        let changed = stored.withLock { stored in
            guard stored != table else { return false }
            stored = table
            return true
        }
        if changed { try save(table) }
        return changed
    }

    /// The metadata log's setting key of channel type `name`.
    static func settingKey(_ name: String) -> String { "channel_type/" + name }

    /// Adopts the types among the metadata log's committed settings.
    public func adopt(settings: [String: String]) throws {
        let prefix = Self.settingKey("")
        var table: [String: ChannelTypeSettings] = [:]
        for (key, value) in settings where key.hasPrefix(prefix) {
            table[String(key.dropFirst(prefix.count))] = try JSONDecoder().decode(ChannelTypeSettings.self, from: Data(value.utf8))
        }
        try replace(with: table)
    }

    private func save(_ table: [String: ChannelTypeSettings]) throws {
        guard let file else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try encoder.encode(table).write(to: URL(fileURLWithPath: file), options: .atomic)
    }
}
