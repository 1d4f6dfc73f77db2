import ChorusCluster
import ChorusModel
import Foundation

/// Channel types (docs/stream-api.md, "Channel types"): one table per deployment, held whole by
/// every node (``ChannelTypeRegistry``).
extension ChatNode {
    /// Creates or changes type `name` (nil: removes it). A single node applies it at once; in a
    /// cluster the metadata log commits it and every node applies it, this one before it returns.
    /// Fails with 503 `CLUSTER_UNAVAILABLE` when no majority commits it in time.
    public func saveChannelType(_ name: String, _ settings: ChannelTypeSettings?) async throws {
        guard let member = clusterMember, let log = member.metadataLog else {
            try channelTypes.apply(name, settings)
            return
        }
        let value = try settings.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        do {
            try await member.setThroughLog(key: ChannelTypeRegistry.settingKey(name), value: value)
        } catch {
            throw ChatError(.clusterUnavailable, "the cluster did not commit channel type \(name) in time; retry")
        }
        let metadata = log.metadata
        try channelTypes.adopt(settings: metadata.settings, version: metadata.version)
    }

    /// The type a channel has: its Stream type, else its v1 kind.
    static func typeName(of state: ChannelState) -> String {
        state.profile?.address.type ?? state.info.kind.rawValue
    }
}
