import ChorusActorSystem
import ChorusModel
import Logging
import ServiceLifecycle

/// Campaigns (docs/stream-api.md, "Campaigns"): kept as app documents; each runs on the node
/// that owns its id on the ring, one batch of users at a time, throttled.
///
/// Exactly once: users go in ascending id order and the runner keeps its cursor and counters
/// (``CampaignProgress``) after each batch, through the metadata log in a cluster. Every message
/// carries the campaign's client message id, so a runner that sends to a user again (it crashed
/// after sending, before keeping its progress; or a failover briefly ran two) gets the first
/// message back from the channel (``RecentSends``) instead of posting a second.
extension ChatNode {
    static func campaignKey(_ id: String) -> String { "campaign/" + id }
    static func progressKey(_ id: String) -> String { "campaign_progress/" + id }

    /// The actor identity a campaign's runner is placed by.
    static func campaignIdentity(_ id: String) -> ActorIdentity { ActorIdentity(kind: "campaign", key: id) }

    public func campaign(_ id: String) throws -> Campaign? {
        try document(Self.campaignKey(id))
    }

    /// Every campaign, oldest first.
    public func campaigns() -> [Campaign] {
        documents(prefix: Self.campaignKey("")).sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    /// How far `campaign` got (nothing yet if the progress kept under its id is another campaign's).
    public func campaignProgress(of campaign: Campaign) throws -> CampaignProgress {
        guard let progress: CampaignProgress = try document(Self.progressKey(campaign.id)), progress.campaignCreatedAt == campaign.createdAt else {
            var fresh = CampaignProgress()
            fresh.campaignCreatedAt = campaign.createdAt
            return fresh
        }
        return progress
    }

    /// Creates or replaces `campaign` on every node, then starts its runner if it is due here.
    public func saveCampaign(_ campaign: Campaign) async throws {
        try await saveDocument(Self.campaignKey(campaign.id), encoding: campaign)
        runCampaigns()
    }

    /// Removes campaign `id` and its progress (a runner stops at its next batch).
    public func deleteCampaign(_ id: String) async throws {
        try await saveDocument(Self.campaignKey(id), nil)
        try await saveDocument(Self.progressKey(id), nil)
    }

    /// Starts a runner for every scheduled campaign this node owns that has none here yet (at
    /// start, after a campaign changes, and every second, which picks up a failed node's).
    public func runCampaigns() {
        for campaign in campaigns() where campaign.intent == .scheduled && ownsCampaign(campaign.id) {
            runningCampaigns.withLock { running in
                guard running[campaign.id] == nil else { return }
                running[campaign.id] = Task {
                    await self.runCampaign(campaign.id)
                    self.runningCampaigns.withLock { $0[campaign.id] = nil }
                }
            }
        }
    }

    /// Cancels every runner of this node (it is stopping); each stops at its next await.
    public func stopCampaignRunners() {
        for runner in runningCampaigns.withLock({ $0.values }) { runner.cancel() }
    }

    private func ownsCampaign(_ id: String) -> Bool {
        cluster.map { $0.owner(of: Self.campaignIdentity(id)) == actorSystem.nodeName } ?? true
    }

    /// Why a run cannot go on until the campaign changes.
    private struct Halt: Error {
        var reason: String
    }

    /// Sends campaign `id` a batch at a time until it completes, is stopped or deleted, or moves
    /// to another node. Batches hold a tenth of a second's messages (10-500), so the throttle
    /// spreads them; progress is kept after a batch at most once a second, and when the campaign
    /// stops or completes. A failure of the cluster or the node is retried with a backoff; a
    /// user's own failure (the channel refuses the message) counts as `failed`; a missing
    /// segment or sender halts the run until the campaign is resumed.
    func runCampaign(_ id: String) async {
        let rate = max(1, configuration.campaignMessagesPerSecond)
        let batch = min(max(rate / 10, 10), 500)
        var (failures, unsaved, lastSave) = (0, CampaignProgress?.none, clock.now())
        func keep(_ progress: CampaignProgress) async throws {
            try await saveDocument(Self.progressKey(id), encoding: progress)
            (unsaved, lastSave) = (nil, clock.now())
        }
        while !Task.isCancelled {
            var progress: CampaignProgress?
            do {
                guard ownsCampaign(id), let campaign = try campaign(id) else { return }
                // What this runner did but has not kept yet, if it is this campaign's.
                let pending = unsaved.flatMap { $0.campaignCreatedAt == campaign.createdAt ? $0 : nil }
                progress = try pending ?? campaignProgress(of: campaign)
                guard campaign.intent == .scheduled else {
                    if let pending { try await keep(pending) }  // stopped: its counters are exact
                    return
                }
                guard var next = progress, next.completedAt == nil, !campaign.isHalted(next) else { return }
                let started = clock.now()
                if let due = campaign.scheduledFor, started < due {
                    // Wakes at least every second to see a new schedule.
                    try await clock.sleep(until: min(due, started.advanced(by: .seconds(1))))
                    continue
                }
                let count = try await sendBatch(of: campaign, size: batch, progress: &next, at: started)
                try Task.checkCancellation()
                if next.completedAt != nil || next.updatedAt! >= lastSave.advanced(by: .seconds(1)) {
                    try await keep(next)
                } else {
                    unsaved = next
                }
                if next.completedAt != nil {
                    logger.info("campaign completed", metadata: ["campaign": "\(id)", "sent": "\(next.sent)", "failed": "\(next.failed)"])
                    return
                }
                failures = 0
                try await clock.sleep(until: started.advanced(by: .seconds(Double(count) / Double(rate))))
            } catch let halt as Halt {
                logger.warning("a campaign halted until it is resumed", metadata: ["campaign": "\(id)", "reason": "\(halt.reason)"])
                guard var progress else { return }
                progress.haltedAt = clock.now()
                progress.error = halt.reason
                try? await keep(progress)
                return
            } catch is CancellationError {
                return
            } catch {
                failures += 1
                logger.warning("a campaign batch failed; retrying", metadata: ["campaign": "\(id)", "error": "\(error)"])
                try? await clock.sleep(for: .seconds(min(1 << min(failures, 4), 10)))
            }
        }
    }

    /// Sends `campaign` to the next `size` users of its segment after `progress`'s cursor and
    /// counts them in `progress` (completed when there were fewer); returns how many there were.
    private func sendBatch(of campaign: Campaign, size: Int, progress: inout CampaignProgress, at started: Timestamp) async throws -> Int {
        guard let segment = try segment(campaign.segmentID) else { throw Halt(reason: "segment \(campaign.segmentID) no longer exists") }
        let filter = try Segment.parse(segment.filter)
        let sender: UserProfile
        do {
            sender = try await profile(of: campaign.senderID)
        } catch let error as ChatError where error.code == .userNotFound {
            throw Halt(reason: "sender \(campaign.senderID) no longer exists")
        }
        if progress.startedAt == nil {
            progress.startedAt = started
            progress.targeted = try await countUsers(matching: filter)
        }
        let users = try await users(matching: filter, after: progress.cursor, limit: size)
        let failed = try await deliver(campaign, to: users, from: sender)
        progress.sent += users.count - failed
        progress.failed += failed
        progress.cursor = users.last?.id ?? progress.cursor
        let now = clock.now()
        if users.count < size {
            progress.completedAt = now
            progress.targeted = progress.sent + progress.failed
        }
        progress.updatedAt = now
        return users.count
    }

    /// ``deliver(_:to:from:clientMessageID:)`` to each of `users`, up to 16 at a time (each send
    /// waits for its own durable write; different channels' writes share the WAL's group commit);
    /// returns how many failed. Any throw fails the whole batch, which is then sent again.
    private func deliver(_ campaign: Campaign, to users: [UserProfile], from sender: UserProfile) async throws -> Int {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            var (pending, failed) = (users[...], 0)
            func startNext() {
                guard let user = pending.popFirst() else { return }
                group.addTask { try await self.deliver(campaign, to: user, from: sender, clientMessageID: campaign.clientMessageID) != nil }
            }
            for _ in 0..<16 { startNext() }
            while let refused = try await group.next() {
                if refused { failed += 1 }
                startNext()
            }
            return failed
        }
    }

    /// Sends `campaign`'s message from `sender` to `user` in the channel of the two of them
    /// (created if missing); returns nil once sent, or why the channel refused it. A failure of
    /// the cluster or the node throws (the batch is retried).
    func deliver(_ campaign: Campaign, to user: UserProfile, from sender: UserProfile, clientMessageID: String?) async throws -> String? {
        guard user.id != sender.id else { return "the sender is not sent their own campaign" }
        guard let address = ChannelAddress(type: campaign.channelType, id: ChannelAddress.membersID([sender.id, user.id])) else {
            return "channel type \(campaign.channelType) is not valid"
        }
        let text = CampaignTemplate.render(campaign.text, user: user, sender: sender, defaults: campaign.defaults)
        do {
            let creation = ChannelCreation(createdBy: sender.id, name: "", custom: [:], members: [user.id])
            let (channel, _) = try await openChannel(address, creating: creation)
            _ = try await withChannel(channel) { channel in
                try await channel.send(
                    MessageDraft(body: text, attachments: campaign.attachments), from: sender.id, senderName: sender.displayName,
                    clientMessageID: clientMessageID, asServer: true)
            }
            return nil
        } catch let error as ChatError where !Self.transientCodes.contains(error.code) {
            return error.message
        }
    }

    /// Errors that say nothing about the user: the batch is retried. (A channel that is not
    /// found was deleted: that user's failure.)
    private static let transientCodes: Set<ChatError.Code> = [.clusterUnavailable, .rateLimited, .historyUnavailable]

    /// Sends `campaign`'s message to `users` now (each a new message, not counted in its
    /// progress): each user's outcome, `sent` or why not.
    public func testCampaign(_ campaign: Campaign, users: [UserID]) async throws -> [UserID: String] {
        let sender = try await profile(of: campaign.senderID)
        var results: [UserID: String] = [:]
        for id in users {
            do {
                let user = try await profile(of: id)
                results[id] = try await deliver(campaign, to: user, from: sender, clientMessageID: nil) ?? "sent"
            } catch let error as ChatError where error.code == .userNotFound {
                results[id] = error.message
            }
        }
        return results
    }
}

/// Every second of the node's clock, starts the runners of the campaigns this node owns
/// (``ChatNode/runCampaigns()``): after a start, and after a ring change moved one here.
public struct CampaignService: Service {
    let node: ChatNode

    public init(node: ChatNode) {
        self.node = node
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            node.runCampaigns()
            try? await cancelWhenGracefulShutdown { try await node.clock.sleep(for: .seconds(1)) }
        }
        node.stopCampaignRunners()
    }
}
