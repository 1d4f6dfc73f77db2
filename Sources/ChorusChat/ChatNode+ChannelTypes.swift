import ChorusCluster
import ChorusModel
import Foundation

/// Channel types (docs/stream-api.md, "Channel types") and app documents: tables held whole by
/// every node (``ChannelTypeRegistry``, ``AppDocuments``), changed by one node or the metadata log.
extension ChatNode {
    /// Creates or changes type `name` (nil: removes it). A single node applies it at once; in a
    /// cluster the metadata log commits it and every node applies it, this one before it returns.
    /// Fails with 503 `CLUSTER_UNAVAILABLE` when no majority commits it in time.
    public func saveChannelType(_ name: String, _ settings: ChannelTypeSettings?) async throws {
        let value = try settings.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        try await commitSetting(ChannelTypeRegistry.settingKey(name), value, what: "channel type \(name)") {
            try channelTypes.apply(name, settings)
        }
    }

    /// Sets (nil: removes) app document `key` (``AppDocuments``), as ``saveChannelType(_:_:)``.
    public func saveDocument(_ key: String, _ value: String?) async throws {
        try await commitSetting(key, value, what: key) { try documents.apply(key, value) }
    }

    /// Commits cluster-wide setting `key` through the metadata log and adopts the committed
    /// settings here before returning; a single node runs `local` instead.
    private func commitSetting(_ key: String, _ value: String?, what: String, local: () throws -> Void) async throws {
        guard let member = clusterMember, let log = member.metadataLog else {
            try local()
            return
        }
        do {
            try await member.setThroughLog(key: key, value: value)
        } catch {
            throw ChatError(.clusterUnavailable, "the cluster did not commit \(what) in time; retry")
        }
        let metadata = log.metadata
        try channelTypes.adopt(settings: metadata.settings, version: metadata.version)
        try documents.adopt(settings: metadata.settings, version: metadata.version)
    }

    /// The type a channel has: its Stream type, else its v1 kind.
    static func typeName(of state: ChannelState) -> String {
        state.profile?.address.type ?? state.info.kind.rawValue
    }
}
