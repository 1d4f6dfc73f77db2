import ChorusActorSystem
import Logging

/// Joining the ring (again) and leaving it: through the metadata log with replication, by a
/// planned hand-off without; and giving up a leave that no node adopted.
extension ClusterMember {
    /// Joins the cluster if the newest ring does not have this node. With replication, the
    /// metadata log decides the ring with this node (``joinThroughLog(_:)``); without, every node
    /// hands over the keys that move here, then every node adopts the ring with this node.
    /// Returns whether it joined.
    @discardableResult
    public func joinIfNeeded() async throws -> Bool {
        let newest = await newestRing()
        placement.adopt(newest)
        guard !newest.nodes.contains(placement.nodeName) else {
            await abandonUnfinishedLeave()
            return false
        }
        if let log = metadataLog, log.decidesRingChanges {
            try await changeRingThroughLog(joining: true, from: newest)
            return true
        }
        let target = RingDescription(newest.ring.adding(placement.nodeName))
        var asked: [String] = []
        do {
            for peer in newest.nodes {
                // Counted before the call: a peer whose call failed may still be handing over.
                asked.append(peer)
                try await ClusterActorSystem.$callTimeout.withValue(Self.handoffCallTimeout) {
                    try await nodeActor(on: peer).handOff(target)
                }
            }
        } catch {
            // The peers asked refuse the moving keys until told otherwise: tell them.
            for peer in asked { try? await nodeActor(on: peer).abortHandoff(epoch: target.epoch) }
            throw error
        }
        for peer in newest.nodes {
            try await nodeActor(on: peer).adoptRing(target)
        }
        placement.adopt(target)
        logger.info("joined the cluster", metadata: ["cluster.epoch": "\(target.epoch)"])
        return true
    }

    /// How long a join or leave through the metadata log keeps asking before it fails (its caller retries).
    static let ringRequestDeadline = Duration.seconds(10)

    /// Asks the metadata log's leader to add this node to the ring (`joining`) or take it off, and
    /// waits until this node applies a ring that does (as every node does, from the log). Any
    /// peer is asked first; one that does not lead names the leader it knows, which is asked next.
    /// No keys are handed over: each key that moves recovers from a majority of its replicas (of
    /// the ring before and after) when it is first served by its new owner (or by that node's
    /// restore pass), in a term above its old primary's.
    func changeRingThroughLog(joining: Bool, from newest: RingDescription) async throws {
        let me = placement.nodeName
        let change = joining ? "add" : "remove"
        let deadline = ContinuousClock.now + Self.ringRequestDeadline
        var next = newest.nodes.sorted()
        while ContinuousClock.now < deadline {
            var leader: String?
            // This node may lead the log itself (it is one of the configured members).
            if let log = metadataLog, log.status.role == .leader { _ = joining ? log.proposeJoin(me) : log.proposeLeave(me) }
            (_, leader) = await askLeader(among: next.filter { $0 != me }) { node in
                joining ? try await node.requestJoin(me) : try await node.requestLeave(me)
            }
            // Give the commit a moment to reach this node (it is a member of the log's group).
            let wait = ContinuousClock.now + .milliseconds(500)
            while ContinuousClock.now < wait {
                if placement.ring.nodes.contains(me) == joining {
                    logger.info(
                        joining ? "joined the cluster" : "left the cluster",
                        metadata: ["cluster.epoch": "\(placement.epoch)", "cluster.through": "metadata log"])
                    return
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            next = (leader.map { [$0] } ?? []) + newest.nodes.sorted()
        }
        throw RemoteCallError(.unreachable, "no metadata-log leader would \(change) \(me) within \(Self.ringRequestDeadline)")
    }

    /// Sets a cluster-wide setting through the metadata log: asks its leader (as
    /// ``changeRingThroughLog(joining:from:)`` does) and returns once this node applied the value.
    /// A proposal a leader took is made again only under a newer term (the old one may have been
    /// dropped with its leader): proposing it again in the same term could commit it after a
    /// later write of the same key and undo that one.
    public func setThroughLog(key: String, value: String?) async throws {
        guard let log = metadataLog else { throw RemoteCallError(.unreachable, "this node has no metadata log") }
        let others = log.members.filter { $0 != placement.nodeName }
        let deadline = ContinuousClock.now + Self.ringRequestDeadline
        var next = others
        var proposedInTerm: UInt64?
        while ContinuousClock.now < deadline {
            if log.metadata.settings[key] == value { return }
            let term = log.status.term
            var leader: String?
            if proposedInTerm.map({ term > $0 }) ?? true {
                if log.proposeSetting(key: key, value: value) {
                    proposedInTerm = term
                } else {
                    let (proposed, named) = await askLeader(among: next) { try await $0.requestSetting(key: key, value: value) }
                    if proposed { proposedInTerm = term }
                    leader = named
                }
            }
            let wait = ContinuousClock.now + .milliseconds(500)
            while ContinuousClock.now < wait {
                if log.metadata.settings[key] == value { return }
                try await Task.sleep(for: .milliseconds(5))
            }
            next = (leader.map { [$0] } ?? []) + others
        }
        throw RemoteCallError(.unreachable, "no metadata-log leader committed \(key) within \(Self.ringRequestDeadline)")
    }

    /// Asks `peers` in turn (1 s each) to have the metadata log's leader propose a change, until
    /// one did; returns whether one did, and the leader the others named (to ask first next time).
    private func askLeader(
        among peers: [String], _ request: @escaping @Sendable (ClusterNodeActor) async throws -> ClusterNodeActor.RingRequestAnswer
    ) async -> (proposed: Bool, leader: String?) {
        var leader: String?
        for peer in peers {
            let answer = try? await ClusterActorSystem.$callTimeout.withValue(.seconds(1)) { try await request(try nodeActor(on: peer)) }
            if answer?.proposed == true { return (true, leader) }
            leader = answer?.leader ?? leader
        }
        return (false, leader)
    }

    /// A leave of this node's own that stopped before any node adopted its ring (the node died
    /// between the transfers and the adoption, and restarted with the hand-off target it had
    /// saved) is over: this node is still a member, so it serves its keys again. Only when every
    /// node of that ring answers with an older one; if any cannot be asked, or has it, the keys
    /// stay refused (serving them could make two owners).
    func abandonUnfinishedLeave() async {
        let me = placement.nodeName
        guard let target = placement.gate.target, !target.nodes.contains(me), target.epoch > placement.epoch else { return }
        for peer in target.nodes {
            guard let ring = try? await ClusterActorSystem.$callTimeout.withValue(.seconds(2), operation: { try await nodeActor(on: peer).ring() }),
                ring.epoch < target.epoch
            else { return }
        }
        placement.gate.abortHandoff(epoch: target.epoch)
        logger.notice("an unfinished leave was abandoned: no node adopted its ring; serving this node's keys again", metadata: ["cluster.epoch": "\(target.epoch)"])
    }
}
