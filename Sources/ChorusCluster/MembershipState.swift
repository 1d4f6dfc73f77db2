import ChorusModel

/// One node's membership protocol as a pure state machine: heartbeats, failure detection and
/// ring gossip. It does no I/O and reads no clock; every input carries `now`, and every output
/// is an ``Action`` for the shell (the `Membership` service over the cluster transport, or the
/// ``ClusterSimulator``) to carry out.
///
/// - Every ``tick(now:)`` heartbeats each other node of the current ring, carrying this node's
///   ring epoch, and re-evaluates the ``FailureDetector``. One round trip a round tells both
///   nodes of a pair what a second would (each hears the other, each learns the other's epoch), so
///   a node skips a peer that comes before it in name order and whose heartbeat arrived since its
///   last round. The peer that stops sending (paused, cut off, or with this node off its ring)
///   is heartbeated again from the next round.
/// - Any message from a peer counts as hearing from it. A heartbeat is answered with this node's
///   epoch. A peer that shows a newer epoch is asked for its ring, and a newer ring is adopted.
/// - Rings only move forward: a ring is adopted only if its epoch is higher than the current one.
///   A node's own ring changes (a hand-off on leave or join) come in through ``adopt(_:)``.
public struct MembershipState: Sendable {
    /// What nodes say to each other.
    public enum Message: Equatable, Sendable {
        case heartbeat(epoch: UInt64)
        case heartbeatReply(epoch: UInt64)
        case ringRequest
        case ring(HashRing)
    }

    /// What the shell does.
    public enum Action: Equatable, Sendable {
        case send(Message, to: String)
        /// A newer ring was adopted: persist it and move subscriptions.
        case adopted(HashRing)
        /// A peer's status changed: log it.
        case status(FailureDetector.Change)
    }

    public let me: String
    public private(set) var ring: HashRing
    public private(set) var detector: FailureDetector
    /// Peers asked for their ring in this heartbeat round (one request a round per peer).
    private var asked: Set<String> = []
    /// Peers whose heartbeat arrived since the last round.
    private var heartbeatsHeard: Set<String> = []

    /// `peers` are every other configured node; all are `down` until first heard from.
    public init(me: String, peers: some Sequence<String>, ring: HashRing, suspectAfter: Duration, downAfter: Duration) {
        self.me = me
        self.ring = ring
        self.detector = FailureDetector(peers: peers.filter { $0 != me }, suspectAfter: suspectAfter, downAfter: downAfter)
    }

    /// One heartbeat round at `now`. (Ring requests still unanswered are forgotten: a lost one
    /// is asked again at the next heartbeat that shows the newer epoch.)
    public mutating func tick(now: Timestamp) -> [Action] {
        asked = []
        let answered = heartbeatsHeard.filter { $0 < me }
        heartbeatsHeard = []
        var actions: [Action] = ring.nodes.filter { $0 != me && !answered.contains($0) }.map { .send(.heartbeat(epoch: ring.epoch), to: $0) }
        actions += detector.tick(now: now).map(Action.status)
        return actions
    }

    /// The transport last received something from `peer` at `time` (a keepalive, or any frame),
    /// seen at `now`: the peer counts as heard then, if that is recent enough to keep it up.
    /// (An older time changes nothing, so a silent peer's status does not flap.)
    public mutating func traffic(from peer: String, at time: Timestamp, now: Timestamp) -> [Action] {
        guard peer != me, time.advanced(by: detector.suspectAfter) > now else { return [] }
        return detector.heard(from: peer, at: time).map { [.status($0)] } ?? []
    }

    /// `message` arrived from `peer` at `now`.
    public mutating func receive(_ message: Message, from peer: String, now: Timestamp) -> [Action] {
        var actions: [Action] = detector.heard(from: peer, at: now).map { [.status($0)] } ?? []
        switch message {
        case .heartbeat(let epoch):
            heartbeatsHeard.insert(peer)
            actions.append(.send(.heartbeatReply(epoch: ring.epoch), to: peer))
            actions += askIfNewer(epoch, peer)
        case .heartbeatReply(let epoch):
            actions += askIfNewer(epoch, peer)
        case .ringRequest:
            actions.append(.send(.ring(ring), to: peer))
        case .ring(let newer):
            asked.remove(peer)
            actions += adopt(newer, now: now)
        }
        return actions
    }

    /// Adopts `newer` if its epoch is higher than the current ring's (a ring heard from a peer, or
    /// this node's own hand-off); an older or equal epoch changes nothing.
    ///
    /// A node the newer ring adds has just joined, which it does by talking to every node of the
    /// ring: it counts as heard from at `now` (else a detector that still holds it down from
    /// before its restart could have it taken off the ring again at once).
    public mutating func adopt(_ newer: HashRing, now: Timestamp) -> [Action] {
        guard newer.epoch > ring.epoch else { return [] }
        let joined = newer.nodes.filter { $0 != me && !ring.nodes.contains($0) }
        ring = newer
        return [.adopted(newer)] + joined.compactMap { detector.heard(from: $0, at: now).map(Action.status) }
    }

    private mutating func askIfNewer(_ epoch: UInt64, _ peer: String) -> [Action] {
        guard epoch > ring.epoch, asked.insert(peer).inserted else { return [] }
        return [.send(.ringRequest, to: peer)]
    }
}
