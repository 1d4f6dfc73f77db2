import ChorusActorSystem
import ChorusCluster
import ChorusModel
import Distributed

/// The router: every call on a channel or user goes to the actor on the node that owns its key.
/// Here, the actor is activated if needed (a channel from the store) and the call is counted in
/// the ``CallGate`` while it runs, so neither passivation nor a hand-off can take the actor away
/// under it; on a peer, the call goes to a proxy. A peer that answers `wrongOwner` has a
/// different ring: the newer one wins on both nodes and the call is retried (it was refused
/// before it ran). A call refused because its key is moving (a hand-off) is retried, after short
/// pauses, until the move is over and the key's new owner answers, for up to
/// ``ChatNode/Configuration/movingRetryDeadline``: clients see a pause, not an error.
extension ChatNode {
    /// Runs `body` with the actor of channel `id`, here or on its owner;
    /// `CHAT_CHANNEL_NOT_FOUND` if no such channel exists. `body` may run again when its call is
    /// refused because the key is moving: do everything that can happen only once (reading the
    /// request body) before.
    public func withChannel<Result>(_ id: ChannelID, _ body: (ChannelActor) async throws -> Result) async throws -> Result {
        try await retryingWhileMoving { try await routeChannel(id, body) }
    }

    /// Runs `body` on user `id`'s actor, here or on its owner; `CHAT_USER_NOT_FOUND` if there is none.
    public func withUser<Result>(_ id: UserID, _ body: (UserActor) async throws -> Result) async throws -> Result {
        try await retryingWhileMoving { try await routeUser(id, body) }
    }

    /// Runs `call` again while it is refused with `moving`, pausing 5 ms, then twice as long each
    /// time up to 100 ms, until the deadline. The refusal comes before the call ran, so a retry
    /// cannot apply a change twice.
    func retryingWhileMoving<Result>(_ call: () async throws -> Result) async throws -> Result {
        let deadline = ContinuousClock.now + configuration.movingRetryDeadline
        var pause = Duration.milliseconds(5)
        while true {
            do {
                return try await call()
            } catch let error as RemoteCallError where error.code == .moving {
                guard ContinuousClock.now + pause < deadline else { throw error }
                try await Task.sleep(for: pause)
                pause = min(pause * 2, .milliseconds(100))
            }
        }
    }

    private func routeChannel<Result>(_ id: ChannelID, _ body: (ChannelActor) async throws -> Result) async throws -> Result {
        let identity = ChannelActor.identity(of: id)
        var attempt = 0
        while true {
            guard let cluster else { return try await withLocalChannel(id, body) }
            let routedBy = cluster.epoch
            guard let owner = cluster.remoteOwner(of: identity) else { return try await withLocalChannel(id, body) }
            guard let proxy = try? ChannelActor.resolve(id: identity, using: actorSystem) else { throw ChatError.channelNotFound(id) }
            do {
                return try await body(proxy)
            } catch let error as RemoteCallError where error.code == .actorNotFound {
                throw ChatError.channelNotFound(id)
            } catch let error as RemoteCallError where error.code == .wrongOwner {
                guard try await refreshRing(after: error, from: owner, routedBy: routedBy, attempt: attempt) else { throw error }
                attempt += 1
            }
        }
    }

    private func routeUser<Result>(_ id: UserID, _ body: (UserActor) async throws -> Result) async throws -> Result {
        let identity = UserActor.identity(of: id)
        var attempt = 0
        while true {
            guard let cluster else { return try await withLocalUser(id, body) }
            let routedBy = cluster.epoch
            guard let owner = cluster.remoteOwner(of: identity) else { return try await withLocalUser(id, body) }
            do {
                return try await body(try user(id))
            } catch let error as RemoteCallError where error.code == .actorNotFound {
                throw ChatError.userNotFound(id)
            } catch let error as RemoteCallError where error.code == .wrongOwner {
                guard try await refreshRing(after: error, from: owner, routedBy: routedBy, attempt: attempt) else { throw error }
                attempt += 1
            }
        }
    }

    /// After `wrongOwner` from `peer` for a call routed by ring `routedBy`, whether to retry
    /// (``RingRefresh``): this node's ring changed meanwhile, or the two rings differ and the newer
    /// one wins. If the peer's is newer, this node adopts it; if it is older (a ring change is still
    /// spreading), this node gives the peer its own, as gossip would a moment later. Either way the
    /// retry needs no waiting. Gives up after a few attempts.
    private func refreshRing(after error: RemoteCallError, from peer: String, routedBy: UInt64, attempt: Int) async throws -> Bool {
        guard let cluster, attempt < 5 else { return false }
        switch RingRefresh(routedBy: routedBy, ours: cluster.epoch, theirs: error.epoch) {
        case .retry:
            return true
        case .giveUp:
            return false
        case .offerOurs:
            try await ClusterNodeActor.on(peer, using: actorSystem).adoptRing(cluster.description)
            return true
        case .adoptTheirs:
            let description = try await ClusterNodeActor.on(peer, using: actorSystem).ring()
            if cluster.adopt(description) {
                logger.info("ring refreshed", metadata: ["cluster.epoch": "\(description.epoch)", "cluster.from": "\(peer)"])
            }
            // Adopted, or our ring moved on by itself meanwhile: either way not the one refused.
            return cluster.epoch != routedBy
        }
    }

    /// ``withChannel(_:_:)`` for a channel this node owns: counted while `body` runs. A
    /// replicated channel is served once its replica here has recovered as primary.
    func withLocalChannel<Result>(_ id: ChannelID, _ body: (ChannelActor) async throws -> Result) async throws -> Result {
        try await directory.gate.track(ChannelActor.identity(of: id)) {
            guard replication != nil else { return try await body(try activateChannel(id)) }
            let actor = try replicaActor(id)
            try await actor.whenLocal { try await $0.ensureServing() }
            return try await body(actor)
        }
    }

    /// ``withUser(_:_:)`` for a user this node owns, counted while `body` runs; `creating`: the
    /// user may be new (created here by `body`). A replicated user is served once the replica
    /// here has recovered as primary; a replica that holds nothing of them starts empty.
    func withLocalUser<Result>(_ id: UserID, creating: Bool = false, _ body: (UserActor) async throws -> Result) async throws -> Result {
        try await directory.gate.track(UserActor.identity(of: id)) {
            guard replication != nil else { return try await body(creating ? activateUser(id) : try user(id)) }
            let actor = activateUser(id)
            try await actor.whenLocal { try await $0.ensureServing(creating: creating) }
            return try await body(actor)
        }
    }

    /// The actor of channel `id` as a replica: active, activated from the store, or a placeholder
    /// for a channel this node holds nothing of yet.
    func replicaActor(_ id: ChannelID) throws -> ChannelActor {
        do {
            return try activateChannel(id)
        } catch let error as ChatError where error.code == .channelNotFound {
            return directory.withEntries { entries in
                if let entry = entries.channels[id] { return entry.actor }
                let actor = makeChannelActor(ChannelState(placeholder: id), appliedLSN: 0)
                entries.channels[id] = ActorDirectory.ChannelEntry(actor: actor, lastUsed: clock.now(), committedLSN: 0, storedLSN: 0)
                return actor
            }
        }
    }

    /// Hands replication messages from `peer` to the replicas here, in order.
    func receiveReplicas(_ envelopes: [ReplicaEnvelope], from peer: String) async {
        guard replication != nil else { return }
        for envelope in envelopes {
            switch envelope {
            case .channel(let id, let message, let copy):
                do {
                    try await replicaActor(id).whenLocal { $0.enqueueReplica(message, copy: copy, from: peer) }
                } catch {
                    logger.warning("a replication message was dropped", metadata: ["channel.id": "\(id)", "error": "\(error)"])
                }
            case .user(let id, let message, let copy):
                await activateUser(id).whenLocal { $0.enqueueReplica(message, copy: copy, from: peer) }
            }
        }
    }

    /// The active actor of channel `id`, activating it from the store if it was passivated.
    func activateChannel(_ id: ChannelID) throws -> ChannelActor {
        let now = clock.now()
        if let actor = directory.useChannel(id, at: now) { return actor }
        // Not active: load it from the store (outside the lock), then activate it unless another
        // call did meanwhile.
        guard let store, let snapshot = try store.channelSnapshot(id, window: configuration.messageWindow) else { throw ChatError.channelNotFound(id) }
        return directory.withEntries { entries in
            if entries.channels[id] == nil {
                let actor = makeChannelActor(snapshot.state, appliedLSN: snapshot.appliedLSN, storedLSN: snapshot.appliedLSN)
                entries.channels[id] = ActorDirectory.ChannelEntry(
                    actor: actor, lastUsed: now, committedLSN: snapshot.appliedLSN, storedLSN: snapshot.appliedLSN)
            }
            entries.channels[id]!.lastUsed = now
            return entries.channels[id]!.actor
        }
    }

    /// The active actor of channel `id` (not activating it); for tests and tools that do not race
    /// with passivation. Servers use ``withChannel(_:_:)``.
    public func channel(_ id: ChannelID) throws(ChatError) -> ChannelActor {
        guard let actor = directory.channel(id) else { throw ChatError.channelNotFound(id) }
        return actor
    }

    /// The actor of user `id` (a proxy when a peer owns it); `CHAT_USER_NOT_FOUND` if the user was
    /// never created here. Calls on a proxy of a user that does not exist fail the same way through
    /// ``withUser(_:_:)``.
    public func user(_ id: UserID) throws(ChatError) -> UserActor {
        if cluster?.remoteOwner(of: UserActor.identity(of: id)) != nil {
            guard let proxy = try? UserActor.resolve(id: UserActor.identity(of: id), using: actorSystem) else { throw ChatError.userNotFound(id) }
            return proxy
        }
        guard let actor = directory.user(id) else { throw ChatError.userNotFound(id) }
        return actor
    }

    /// The actor of user `id` here, created (with an empty state) if new.
    func activateUser(_ id: UserID) -> UserActor {
        directory.withEntries { entries in
            if let actor = entries.users[id] { return actor }
            let actor = makeUserActor(UserState(id: id), appliedLSN: 0)
            entries.users[id] = actor
            return actor
        }
    }

    /// Evicts channel actors that are idle for `idle`, have no call running, no subscribed edge
    /// and nothing the store lacks; they are activated again from the store on next use. Returns how many.
    @discardableResult
    ///
    /// Replicated channels are not passivated yet: a replica applies its primary's batches outside
    /// any call, so an evicted actor could still be changing (docs/replication.md, "Not yet").
    public func passivateIdleChannels(idleFor idle: Duration) -> Int {
        guard store != nil, replication == nil else { return 0 }
        return directory.passivateChannels(idleSince: clock.now().advanced(by: .zero - idle))
    }

    /// The ids of the active channel and user actors.
    public var activeActorIDs: (channels: [ChannelID], users: [UserID]) { directory.activeIDs }

    /// How many channel and user actors are active.
    public var activeActorCounts: (channels: Int, users: Int) { directory.counts }
}
