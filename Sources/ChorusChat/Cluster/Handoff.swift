import ChorusActorSystem
import ChorusCluster
import ChorusModel
import ChorusStorage
import Foundation
import ServiceLifecycle

/// Handing keys to their new owners when the ring changes: a node that leaves gives away
/// everything; when a node joins, each node gives it the keys that move to it.
///
/// The giving node first refuses calls on the moving keys (503, never acknowledged) and waits for
/// the ones already running, then checkpoints, so its store holds every acknowledged change. It
/// sends each moving channel's messages in pages and then its metadata, and each moving user's
/// state, to the key's owner under the new ring, which stores them durably before answering.
/// Only then is the new ring adopted everywhere; until then the moving keys stay refused. A
/// channel's event log does not move: resumes from before the move get `resume_failed`.
extension ChatNode {
    /// Messages per adoption call.
    static let handoffPage = 500

    /// Gives every key this node owns now but not under `target` to its owner under `target`;
    /// returns how many channels and users moved. The moving keys stay refused until `target`
    /// (or a newer ring) is adopted.
    public func handOff(to target: HashRing) async throws -> (channels: Int, users: Int) {
        guard let cluster, let store else {
            throw RemoteCallError(.unreachable, "only a clustered node with a store can hand keys over")
        }
        let me = cluster.nodeName
        func moves(_ id: ActorIdentity) -> String? {
            guard cluster.owner(of: id) == me, let owner = target.owner(of: id.description), owner != me else { return nil }
            return owner
        }
        try await cluster.beginHandoff(to: target, deadline: Self.handoffDrainDeadline)
        do {
            return try await sendKeys(moving: moves, to: target, store: store)
        } catch {
            // Nothing was adopted: serve the keys again rather than refuse them until a newer ring.
            cluster.abortHandoff(epoch: target.epoch)
            logger.error("hand-off failed; serving the keys here again", metadata: ["cluster.epoch": "\(target.epoch)", "error": "\(error)"])
            throw error
        }
    }

    /// How long a hand-off waits for running calls on the moving keys before it gives up.
    static let handoffDrainDeadline = Duration.seconds(30)
    /// How long a joining node waits for one peer's whole hand-off (the drain, then every page).
    static let handoffCallTimeout = Duration.seconds(600)

    private func sendKeys(moving moves: (ActorIdentity) -> String?, to target: HashRing, store: HistoryStore) async throws -> (channels: Int, users: Int) {
        _ = try await checkpoint(into: store)
        var channels = 0
        for id in try store.channelIDs() {
            guard let owner = moves(ChannelActor.identity(of: id)), let (data, _) = try store.channelSnapshot(id) else { continue }
            let receiver = try nodeActor(on: owner)
            var after: MessageID?
            while true {
                let page = try store.messages(in: id, after: after, limit: Self.handoffPage, fromNewest: false)
                guard let last = page.last else { break }
                try await receiver.adoptMessages(page)
                after = last.id
            }
            try await receiver.adoptChannel(try JSONDecoder().decode(ChannelState.self, from: data))
            channels += 1
        }
        var users = 0
        for (id, data, _) in try store.userSnapshots() {
            guard let owner = moves(UserActor.identity(of: id)) else { continue }
            try await nodeActor(on: owner).adoptUser(try JSONDecoder().decode(UserState.self, from: data))
            users += 1
        }
        logger.info("handed keys over", metadata: ["cluster.epoch": "\(target.epoch)", "cluster.channels": "\(channels)", "cluster.users": "\(users)"])
        return (channels, users)
    }

    /// Stores messages of a channel handed to this node.
    func adoptMessages(_ messages: [Message]) async throws {
        guard let store else { throw RemoteCallError(.unreachable, "this node has no store to adopt into") }
        try await store.importMessages(messages)
    }

    /// Takes over a channel handed to this node (its messages are stored already): stores its
    /// metadata as of this node's current LSN and drops any stale local actor of it.
    func adoptChannel(_ metadata: ChannelState) async throws {
        guard let store else { throw RemoteCallError(.unreachable, "this node has no store to adopt into") }
        let lsn = journal.nextLSN - 1
        try await store.importChannel(metadata.info.id, snapshot: try JSONEncoder().encode(metadata.metadata), appliedLSN: lsn)
        directory.withLock { _ = $0.channels.removeValue(forKey: metadata.info.id) }
        snowflakes.withLock { $0.advance(past: metadata.info.id.rawValue) }
    }

    /// Takes over a user handed to this node.
    func adoptUser(_ state: UserState) async throws {
        guard let store else { throw RemoteCallError(.unreachable, "this node has no store to adopt into") }
        let lsn = journal.nextLSN - 1
        try await store.importUser(state.id, snapshot: try JSONEncoder().encode(state), appliedLSN: lsn)
        let existing = directory.withLock { directory -> UserActor? in
            if let actor = directory.users[state.id] { return actor }
            directory.users[state.id] = actorSystem.withIdentity(UserActor.identity(of: state.id)) {
                UserActor(actorSystem: actorSystem, state: state, appliedLSN: lsn, storedLSN: lsn, node: self)
            }
            return nil
        }
        await existing?.whenLocal { $0.adopt(state, storedAt: lsn) }
    }

    /// The newest ring any reachable peer has (or this node's own).
    public func newestRing() async -> RingDescription? {
        guard let cluster else { return nil }
        var newest = cluster.description
        await withTaskGroup(of: RingDescription?.self) { group in
            for peer in cluster.ring.nodes where peer != cluster.nodeName {
                group.addTask {
                    guard let actor = try? self.nodeActor(on: peer) else { return nil }
                    return try? await ClusterActorSystem.$callTimeout.withValue(.seconds(2)) { try await actor.ring() } ?? nil
                }
            }
            for await ring in group { if let ring, ring.epoch > newest.epoch { newest = ring } }
        }
        return newest
    }

    /// Leaves the cluster gracefully: hands everything over, then makes every peer adopt the ring
    /// without this node. Returns how many channels and users moved.
    public func leaveCluster() async throws -> (channels: Int, users: Int) {
        guard let cluster else { return (0, 0) }
        // Leave from the newest ring a peer has, not a local one that may have missed a change.
        if let newest = await newestRing() { cluster.adopt(newest) }
        let target = cluster.ring.removing(cluster.nodeName)
        let moved = try await handOff(to: target)
        let description = RingDescription(nodes: target.nodes, virtualNodes: target.virtualNodes, epoch: target.epoch)
        for peer in target.nodes {
            try await nodeActor(on: peer).adoptRing(description)
        }
        cluster.adopt(description)
        return moved
    }

    /// Joins the cluster if the newest ring does not have this node: every node hands over the
    /// keys that move here, then every node adopts the ring with this node. Returns whether it joined.
    @discardableResult
    public func joinClusterIfNeeded() async throws -> Bool {
        guard let cluster, let newest = await newestRing() else { return false }
        cluster.adopt(newest)
        guard !newest.nodes.contains(cluster.nodeName) else { return false }
        let target = HashRing(nodes: newest.nodes, virtualNodes: newest.virtualNodes, epoch: newest.epoch).adding(cluster.nodeName)
        let description = RingDescription(nodes: target.nodes, virtualNodes: target.virtualNodes, epoch: target.epoch)
        var asked: [String] = []
        do {
            for peer in newest.nodes {
                // Counted before the call: a peer whose call failed may still be handing over.
                asked.append(peer)
                try await ClusterActorSystem.$callTimeout.withValue(Self.handoffCallTimeout) {
                    try await nodeActor(on: peer).handOff(description)
                }
            }
        } catch {
            // The peers asked refuse the moving keys until told otherwise: tell them.
            for peer in asked { try? await nodeActor(on: peer).abortHandoff(epoch: description.epoch) }
            throw error
        }
        for peer in newest.nodes {
            try await nodeActor(on: peer).adoptRing(description)
        }
        cluster.adopt(description)
        logger.info("joined the cluster", metadata: ["cluster.epoch": "\(description.epoch)"])
        return true
    }
}

/// Leaves the cluster gracefully when the node stops: runs after the gateway has finished its
/// requests (it comes before it in the service group) and before the last checkpoint.
public struct LeaveOnStopService: Service {
    let node: ChatNode

    public init(node: ChatNode) {
        self.node = node
    }

    public func run() async throws {
        try? await gracefulShutdown()
        do {
            let moved = try await node.leaveCluster()
            node.logger.info("left the cluster", metadata: ["cluster.channels": "\(moved.channels)", "cluster.users": "\(moved.users)"])
        } catch {
            node.logger.error("leaving the cluster failed; this node's keys stay here until it is back", metadata: ["error": "\(error)"])
        }
    }
}

/// Keeps the ring in `<data dir>/ring.json`, so a restarted node knows the newest ring it saw.
public enum RingFile {
    public static func load(from directory: String) -> RingDescription? {
        guard let data = FileManager.default.contents(atPath: directory + "/ring.json") else { return nil }
        return try? JSONDecoder().decode(RingDescription.self, from: data)
    }

    public static func save(_ ring: HashRing, to directory: String) {
        let description = RingDescription(nodes: ring.nodes, virtualNodes: ring.virtualNodes, epoch: ring.epoch)
        guard let data = try? JSONEncoder().encode(description) else { return }
        _ = FileManager.default.createFile(atPath: directory + "/ring.json", contents: data)
    }
}
