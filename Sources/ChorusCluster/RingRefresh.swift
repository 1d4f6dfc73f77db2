/// What a caller told `wrongOwner` does next, decided from three ring epochs: the one it routed
/// the call by, its own now, and the refusing peer's.
///
/// The call was refused before it ran, so any retry is safe; what matters is whether a retry can
/// go anywhere new. While rings change (a node declared down, a join), this node's ring may move
/// on between sending the call and reading the refusal, by the metadata log or a heartbeat: the
/// peer's epoch then equals ours, yet our ring is no longer the one the call was routed by.
public enum RingRefresh: Equatable, Sendable {
    /// This node's ring changed while the call was out: route the call again by the new one.
    case retry
    /// The peer's ring is older (a change still spreading): give it ours, then retry.
    case offerOurs
    /// The peer's ring is newer: fetch and adopt it, then retry if our ring moved past `routedBy`.
    case adoptTheirs
    /// Both nodes hold the ring the call was routed by, and still disagree (or the peer sent no
    /// epoch): a retry would be refused the same way.
    case giveUp

    public init(routedBy: UInt64, ours: UInt64, theirs: UInt64?) {
        guard let theirs else { self = .giveUp; return }
        if ours != routedBy {
            self = .retry
        } else if theirs < ours {
            self = .offerOurs
        } else if theirs > ours {
            self = .adoptTheirs
        } else {
            self = .giveUp
        }
    }
}
