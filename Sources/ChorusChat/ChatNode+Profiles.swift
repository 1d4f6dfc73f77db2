import ChorusModel

/// What creating a channel at an address needs (the Stream-compatible API's get-or-create).
public struct ChannelCreation: Sendable {
    public var createdBy: UserID
    public var name: String
    public var custom: [String: JSONValue]
    /// Members besides the creator (who is the owner).
    public var members: [UserID]

    public init(createdBy: UserID, name: String, custom: [String: JSONValue], members: [UserID]) {
        self.createdBy = createdBy
        self.name = name
        self.custom = custom
        self.members = members
    }
}

extension ChatNode {
    /// The engine id of the channel at `address`, creating it from `creation` when it does not
    /// exist yet (`created == true`). Channels of the v1 types (`dm`, `group`, `room`) are never
    /// created here: their ids are the v1 API's decimal ids.
    ///
    /// A `livestream` channel is a room (anyone may read and join it); every other type is a
    /// group (members are added by its owner or moderators). docs/stream-api.md, "One engine".
    public func openChannel(_ address: ChannelAddress, creating creation: ChannelCreation?) async throws -> (id: ChannelID, created: Bool) {
        guard let id = address.channelID else {
            throw ChatError(.invalidRequest, "channels of type \(address.type) are v1 channels: their id is a decimal channel id")
        }
        guard let creation, address.v1Kind == nil else { return (id, false) }
        if try await channelExists(id) { return (id, false) }
        guard channelTypes.settings(address.type) != nil else {
            throw ChatError(.invalidRequest, "channel type \(address.type) does not exist: create it with POST /channeltypes")
        }
        let others = Array(Set(creation.members).subtracting([creation.createdBy])).sorted()
        guard others.count < limits.maxMembersPerChannel else {
            throw ChatError(.invalidRequest, "a channel may have at most \(limits.maxMembersPerChannel) members (limits.max_members_per_channel)")
        }
        for user in [creation.createdBy] + others {
            try await checkCanJoin(user)
        }
        let now = clock.now()
        let members = [Member(userID: creation.createdBy, role: .owner, joinedAt: now)] + others.map { Member(userID: $0, role: .member, joinedAt: now) }
        let info = ChannelInfo(
            id: id, kind: address.type == "livestream" ? .room : .group, name: creation.name, ownerID: creation.createdBy, createdAt: now)
        let profile = ChannelProfile(address: address, createdBy: creation.createdBy, custom: creation.custom)
        do {
            try await createChannel(info, members: members, profile: profile)
        } catch let error as ChatError where error.code == .channelExists {
            return (id, false)  // a concurrent get-or-create won
        }
        try await announceMembers(of: id, members)
        return (id, true)
    }

    /// Whether channel `id` exists (here or on its owner).
    func channelExists(_ id: ChannelID) async throws -> Bool {
        do {
            _ = try await withChannel(id) { try await $0.address() }
            return true
        } catch let error as ChatError where error.code == .channelNotFound {
            return false
        }
    }
}

extension ChatNode {
    /// The channels `user` is a member of (none for a user that does not exist).
    public func channelIDs(of user: UserID) async throws -> [ChannelID] {
        do {
            return try await withUser(user) { try await $0.channelIDs() }
        } catch let error as ChatError where error.code == .userNotFound {
            return []
        }
    }

    /// Every channel of every node (asked in parallel): a scan, for queries no index narrows yet.
    public func allChannelIDs() async throws -> [ChannelID] {
        var ids = Set(try localChannelIDs())
        try await withThrowingTaskGroup(of: [ChannelID].self) { group in
            for peer in cluster?.peers ?? [] {
                let actor = try chatNodeActor(on: peer)
                group.addTask { try await actor.localChannelIDs() }
            }
            for try await peerIDs in group { ids.formUnion(peerIDs) }
        }
        return Array(ids)
    }

    /// The channels this node holds: active ones and stored ones.
    func localChannelIDs() throws -> [ChannelID] {
        let active = directory.withEntries { Array($0.channels.keys) }
        return Array(Set(active).union(try store?.channelIDs() ?? []))
    }
}

extension QueryFilter {
    /// The values a condition on `field` at the top level (or in a top-level `$and`) requires
    /// the field to hold one of (`$eq`, `$in`, `$contains`); empty when the filter does not
    /// restrict `field` that way. A query can read only the channels these values name.
    public func named(_ field: String) -> [JSONValue] {
        switch self {
        case .condition(field: field, let condition):
            switch condition {
            case .eq(.array(let values)): values
            case .eq(let value), .contains(let value): [value]
            case .in(let values): values
            default: []
            }
        case .and(let filters):
            filters.lazy.map { $0.named(field) }.first { !$0.isEmpty } ?? []
        default:
            []
        }
    }
}

extension ChatNode {
    /// The channel and engine id of the message the Stream API calls `key` (its sender's own id,
    /// or the engine id in decimal): looked up on this node, then on every peer; `nil` if none knows it.
    public func locateMessage(_ key: String) async throws -> (channel: ChannelID, message: MessageID)? {
        if let found = try locateLocalMessage(key) { return found }
        // Every peer in parallel; the first that knows the message answers.
        return try await withThrowingTaskGroup(of: MessageLocation?.self) { group in
            for peer in cluster?.peers ?? [] {
                let actor = try chatNodeActor(on: peer)
                group.addTask { try await actor.locateMessage(key) }
            }
            for try await found in group {
                if let found {
                    group.cancelAll()
                    return (found.channel, found.message)
                }
            }
            return nil
        }
    }

    /// ``locateMessage(_:)`` on this node alone: messages since the last checkpoint, then the store.
    func locateLocalMessage(_ key: String) throws -> (channel: ChannelID, message: MessageID)? {
        if let found = directory.messages.locate(key) { return found }
        return try store?.locate(key)
    }
}

/// Where a message is, as a node answers a peer.
public struct MessageLocation: Sendable, Codable, Equatable {
    public var channel: ChannelID
    public var message: MessageID
}
