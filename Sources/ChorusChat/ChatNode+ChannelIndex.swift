import ChorusModel
import ChorusStorage
import Foundation

extension ChannelView {
    /// The last change a client can see: the newest message, else creation (Stream's `updated_at`).
    public var updatedAt: Timestamp { max(lastMessageAt ?? info.createdAt, info.createdAt) }

    /// The fields of the channel that the Stream API's query filters and sorts read, as `viewer`
    /// sees it (`nil`: a server): the built-in ones, then custom data.
    public func queryDocument(viewer: UserID?) -> [String: JSONValue] {
        var fields = profile?.custom ?? [:]
        let viewerState = viewer.flatMap { viewer in members.first { $0.member.userID == viewer } }
        let builtIn: [String: JSONValue] = [
            "cid": .string(address.cid), "id": .string(address.id), "type": .string(address.type), "name": .string(info.name),
            "members": .array(members.map { .string($0.member.userID.rawValue) }),
            "created_by_id": (profile?.createdBy ?? info.ownerID).map { .string($0.rawValue) } ?? .null,
            "created_at": .string(info.createdAt.rfc3339), "updated_at": .string(updatedAt.rfc3339),
            "last_message_at": lastMessageAt.map { .string($0.rfc3339) } ?? .null, "member_count": .number(Double(members.count)),
            "hidden": .bool(viewerState?.hidden ?? false), "frozen": false, "disabled": false, "joined": .bool(viewerState != nil),
        ]
        fields.merge(builtIn) { _, builtIn in builtIn }
        return fields
    }
}

extension ChannelState {
    /// The channel as a server sees it, without messages.
    var serverView: ChannelView {
        ChannelView(
            info: info, profile: profile, members: memberOrder.compactMap { members[$0] }, messages: MessagePage(messages: [], hasMore: false),
            lastMessageAt: lastMessageAt, unreadCount: nil)
    }

    /// This channel's row of the store's channel index.
    func indexEntry() throws -> ChannelIndexEntry {
        let view = serverView
        return ChannelIndexEntry(
            type: view.address.type, createdAt: info.createdAt, updatedAt: view.updatedAt, live: deletedAt == nil,
            document: try JSONEncoder().encode(view.queryDocument(viewer: nil)))
    }
}

/// One channel a query over all channels found: its id and its filter document.
public struct IndexedChannel: Sendable, Codable, Equatable {
    public var id: ChannelID
    public var document: [String: JSONValue]

    public init(id: ChannelID, document: [String: JSONValue]) {
        self.id = id
        self.document = document
    }
}

extension ChatNode {
    /// The first `limit` channels of the whole cluster that match `filter`, in `sort` order (ties:
    /// the newer channel id first), as a server sees them: every node answers for the channels it
    /// owns, in parallel, and the answers are merged here (docs/stream-api.md, "Query cost").
    public func queryChannels(_ filter: QueryFilter, sort: QuerySort, limit: Int) async throws -> [IndexedChannel] {
        var found = try await localQueryChannels(filter, sort: sort, limit: limit)
        try await withThrowingTaskGroup(of: [IndexedChannel].self) { group in
            for peer in cluster?.peers ?? [] {
                let actor = try chatNodeActor(on: peer)
                group.addTask { try await actor.queryChannels(filter, sort: sort, limit: limit) }
            }
            for try await more in group { found += more }
        }
        return Self.first(limit, of: found, sort: sort)
    }

    /// ``queryChannels(_:sort:limit:)`` on this node. Channels changed since the last checkpoint
    /// (active and dirty) are read from their actors; the rest from the store's channel index,
    /// narrowed by `type` when the filter requires one, and visited in the sort's order when the
    /// sort is one of `created_at` and `updated_at` (then the scan stops after `limit` matches).
    func localQueryChannels(_ filter: QueryFilter, sort: QuerySort, limit: Int) async throws -> [IndexedChannel] {
        let owned = { (id: ChannelID) in self.cluster?.remoteOwner(of: ChannelActor.identity(of: id)) == nil }
        let fresh = directory.withEntries { entries in
            entries.channels.compactMap { id, entry in store == nil || !entry.isClean ? id : nil }
        }.filter(owned)
        var found = await withTaskGroup(of: IndexedChannel?.self) { group in
            for id in fresh {
                group.addTask {
                    // A deleted channel's view throws: it is left out.
                    guard let view = try? await self.withLocalChannel(id, { try await $0.view(for: nil, messages: .latest(limit: 0)) }) else {
                        return nil
                    }
                    let document = view.queryDocument(viewer: nil)
                    return filter.matches { document[$0] } ? IndexedChannel(id: id, document: document) : nil
                }
            }
            var found: [IndexedChannel] = []
            for await channel in group { if let channel { found.append(channel) } }
            return found
        }
        guard let store else { return Self.first(limit, of: found, sort: sort) }
        let skipped = Set(fresh)
        let types = filter.named("type").compactMap(\.stringValue)
        let order = Self.indexOrder(for: sort)
        var matched = 0
        // In sort order, a few times `limit` rows usually hold `limit` matches; else the pages grow.
        let firstPage = order == nil ? 4096 : min(4096, max(64, limit * 4))
        try store.scanChannelIndex(types: types.isEmpty ? nil : types, order: order ?? .id, firstPage: firstPage) { page in
            for (id, data) in page where !skipped.contains(id) && owned(id) {
                // Visited in the sort's order: the first `limit` matches are all the index can add.
                if order != nil, matched == limit { return false }
                guard case .object(let document)? = try? JSONValue.parse(data), filter.matches({ document[$0] }) else { continue }
                found.append(IndexedChannel(id: id, document: document))
                matched += 1
            }
            return order == nil || matched < limit
        }
        return Self.first(limit, of: found, sort: sort)
    }

    /// The index order that is `sort`'s own, if there is one.
    static func indexOrder(for sort: QuerySort) -> ChannelIndexOrder? {
        guard sort.fields.count == 1, let field = sort.fields.first else { return nil }
        switch field.name {
        case "created_at": return .createdAt(descending: !field.ascending)
        case "updated_at": return .updatedAt(descending: !field.ascending)
        default: return nil
        }
    }

    /// The first `limit` of `channels` in `sort` order, each channel once.
    static func first(_ limit: Int, of channels: [IndexedChannel], sort: QuerySort) -> [IndexedChannel] {
        var seen = Set<ChannelID>()
        let unique = channels.filter { seen.insert($0.id).inserted }
        // Each channel's sort values are read (and timestamps parsed) once, not at every comparison.
        let keyed = unique.map { channel in (channel, sort.key { channel.document[$0] }) }
        return keyed.sorted { a, b in sort.precedes(a.1, b.1) { a.0.id > b.0.id } }.prefix(limit).map(\.0)
    }
}
