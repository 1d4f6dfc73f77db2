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
    private let stored: KeptTable<ChannelTypeSettings>
    /// The configured word lists (lower-cased), by name.
    private let blocklists: [String: Set<String>]
    /// The built-in types' defaults, made once.
    private let builtIns: [String: ChannelTypeSettings]
    /// Raised by every change, so that readers may keep what they looked up until it moves.
    private let changes = Atomic<UInt64>(0)

    /// A table in memory only.
    public init(defaultMaxMessageLength: Int, blocklists: [String: [String]] = [:]) {
        self.blocklists = blocklists.mapValues { Set($0.map { $0.lowercased() }) }
        self.builtIns = Self.builtIns(defaultMaxMessageLength)
        self.stored = KeptTable()
    }

    private static func builtIns(_ defaultMaxMessageLength: Int) -> [String: ChannelTypeSettings] {
        Dictionary(uniqueKeysWithValues: ChannelTypeSettings.builtInNames.compactMap { name in
            ChannelTypeSettings.builtIn(name, defaultMaxMessageLength: defaultMaxMessageLength).map { (name, $0) }
        })
    }

    /// Changes so far: a reader that looked a type up at this generation may keep its answer
    /// until it moves.
    public var generation: UInt64 { changes.load(ordering: .acquiring) }

    /// The table kept in `directory` (`channel-types.json`; empty until the first change); a
    /// file that cannot be read is an error, not an empty table (the next change would overwrite
    /// the types it holds).
    public init(defaultMaxMessageLength: Int, directory: String, blocklists: [String: [String]] = [:]) throws {
        self.blocklists = blocklists.mapValues { Set($0.map { $0.lowercased() }) }
        self.builtIns = Self.builtIns(defaultMaxMessageLength)
        self.stored = try KeptTable(file: directory + "/channel-types.json", field: "types")
    }

    /// The settings of type `name`, or nil when there is no such type.
    public func settings(_ name: String) -> ChannelTypeSettings? {
        stored.value(name) ?? builtIns[name]
    }

    /// Every type, by name.
    public func all() -> [ChannelTypeSettings] {
        let table = stored.values
        return (Array(table.values) + builtIns.values.filter { table[$0.name] == nil }).sorted { $0.name < $1.name }
    }

    /// Whether a word list called `name` is configured.
    public func hasBlocklist(_ name: String) -> Bool { blocklists[name] != nil }

    /// The words of `text` that blocklist `name` holds (none when it is not configured).
    func blockedWords(in text: String, blocklist name: String) -> [String] {
        guard let words = blocklists[name], !words.isEmpty else { return [] }
        return TextWords.words(of: text).map(String.init).filter { words.contains($0) }
    }

    /// Sets (or, with nil, removes) one stored type here and keeps the table (a single node; a
    /// cluster changes types through ``ChatNode/saveChannelType(_:_:)``).
    public func apply(_ name: String, _ settings: ChannelTypeSettings?) throws {
        try stored.set(name, settings)
        changes.add(1, ordering: .releasing)
    }

    /// The metadata log's setting key of channel type `name`.
    static func settingKey(_ name: String) -> String { "channel_type/" + name }

    /// Adopts the types among the metadata log's committed settings as of `version`, unless a
    /// newer version was adopted already (the log's observers may be told out of order).
    public func adopt(settings: [String: String], version: UInt64) throws {
        let prefix = Self.settingKey("")
        var table: [String: ChannelTypeSettings] = [:]
        for (key, value) in settings where key.hasPrefix(prefix) {
            table[String(key.dropFirst(prefix.count))] = try JSONDecoder().decode(ChannelTypeSettings.self, from: Data(value.utf8))
        }
        if try stored.adopt(table, version: version) { changes.add(1, ordering: .releasing) }
    }
}
