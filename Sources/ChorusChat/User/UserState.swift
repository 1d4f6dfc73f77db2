import ChorusModel

/// Everything a user actor knows, rebuilt by applying ``UserRecord``s in log order.
public struct UserState: Sendable, Codable, Equatable {
    public let id: UserID
    /// `nil` until the user is created.
    public private(set) var profile: UserProfile?
    /// Users this user blocked, in the order they were blocked.
    public private(set) var blocked: [UserID] = []
    /// The latest known membership of each channel the user was ever in, with the channel seq it is as of.
    public private(set) var memberships: [ChannelID: Membership] = [:]
    /// DMs this user's actor is the registry for, by the other user.
    public private(set) var directChannels: [UserID: ChannelInfo] = [:]
    /// Channels the user muted (optional only so snapshots stored before it decode). Expired
    /// mutes stay until unmuted or muted again; readers compare `expires` with their clock.
    public private(set) var channelMutes: [ChannelID: ChannelMute]?
    /// How many records were applied (optional only so snapshots stored before it decode).
    private var seq: UInt64?
    /// The terms of this replica of the user's log (nil: never replicated; docs/replication.md).
    public private(set) var replicaTerms: ReplicaTerms?

    /// Where the user's log ends: the number of records applied. A replica that holds nothing of
    /// the user is at 0.
    public var lastSeq: UInt64 { seq ?? 0 }

    /// Records the replica's terms (they change with the log, and are stored with it).
    public mutating func setReplicaTerms(_ terms: ReplicaTerms) {
        replicaTerms = terms
    }

    /// Membership of one channel as of one channel log position.
    public struct Membership: Sendable, Codable, Equatable {
        public var isMember: Bool
        public var seq: UInt64
    }

    public init(id: UserID) {
        self.id = id
    }

    /// Applies one record.
    public mutating func apply(_ record: UserRecord) {
        seq = lastSeq + 1
        switch record {
        case .upserted(let displayName, let at):
            if profile == nil {
                profile = UserProfile(id: id, displayName: displayName, createdAt: at)
            } else {
                profile?.displayName = displayName
            }
        case .blockAdded(let other, _):
            if !blocked.contains(other) { blocked.append(other) }
        case .blockRemoved(let other, _):
            blocked.removeAll { $0 == other }
        case .membershipChanged(let channel, let isMember, let seq):
            // Updates can arrive out of order; the one with the larger channel seq wins.
            if let known = memberships[channel], known.seq >= seq { return }
            memberships[channel] = Membership(isMember: isMember, seq: seq)
        case .directChannelOpened(let info, let other):
            directChannels[other] = info
        case .channelMuted(let channel, let expires, let at):
            channelMutes = channelMutes ?? [:]
            channelMutes![channel] = ChannelMute(channelID: channel, createdAt: at, expires: expires)
        case .channelUnmuted(let channel, _):
            channelMutes?[channel] = nil
        }
    }

    /// The mutes in force at `now`.
    public func activeMutes(at now: Timestamp) -> [ChannelMute] {
        (channelMutes ?? [:]).values.filter { $0.isActive(at: now) }.sorted { $0.channelID < $1.channelID }
    }

    /// Whether this user exists (was created).
    public var exists: Bool { profile != nil }

    /// How many channels the user is a member of.
    public var channelCount: Int { memberships.values.count(where: \.isMember) }

    /// The channels the user is a member of, ascending by id.
    public var channelIDs: [ChannelID] {
        memberships.filter(\.value.isMember).keys.sorted()
    }
}
