import ChorusCluster
import Foundation
import Synchronization

/// A table of values by key that every node holds whole — channel types, app documents — with
/// the metadata log's version it is as of (0 on a single node), kept in a JSON file
/// (`{"<field>": {key: value}, "version": N}`) that is written and synced (``DurableFile``) before
/// a change is visible, so it never falls behind memory, an OS crash included.
///
/// A single node changes it with ``set(_:_:)``; in a cluster the metadata log decides it and
/// every node ``adopt(_:version:)``s the committed table (observers may be told out of order: an
/// older version is ignored).
final class KeptTable<Value: Codable & Equatable & Sendable>: Sendable {
    private let state = Mutex<(values: [String: Value], version: UInt64)>(([:], 0))
    /// Where the table is kept (nil: in memory only), and the name of its values in the file.
    private let file: String?
    private let field: String

    /// A table in memory only.
    init() {
        file = nil
        field = ""
    }

    /// The table kept in `file` (empty until the first change). A file that cannot be read is an
    /// error, not an empty table: the next change would overwrite it.
    init(file: String, field: String) throws {
        self.file = file
        self.field = field
        guard let data = FileManager.default.contents(atPath: file) else { return }
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let version = (object["version"] as? NSNumber)?.uint64Value
        else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSFilePathErrorKey: file])
        }
        let values = try JSONDecoder().decode([String: Value].self, from: JSONSerialization.data(withJSONObject: object[field] ?? [:]))
        state.withLock { $0 = (values, version) }
    }

    var values: [String: Value] { state.withLock { $0.values } }

    func value(_ key: String) -> Value? { state.withLock { $0.values[key] } }

    /// Sets (nil: removes) one value here (a single node).
    func set(_ key: String, _ value: Value?) throws {
        try state.withLock { state in
            var values = state.values
            values[key] = value
            try save(values, version: state.version)
            state.values = values
        }
    }

    /// Adopts `values` as of the metadata log's `version`, unless a newer version was adopted
    /// already; returns whether the values changed.
    @discardableResult
    func adopt(_ values: [String: Value], version: UInt64) throws -> Bool {
        try state.withLock { state in
            guard version > state.version else { return false }
            let changed = values != state.values
            if changed { try save(values, version: version) }
            state = (values, version)
            return changed
        }
    }

    private func save(_ values: [String: Value], version: UInt64) throws {
        guard let file else { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let encoded = try JSONSerialization.jsonObject(with: encoder.encode(values))
        let data = try JSONSerialization.data(withJSONObject: [field: encoded, "version": version], options: .sortedKeys)
        try DurableFile.write(data, to: file, in: (file as NSString).deletingLastPathComponent)
    }
}
