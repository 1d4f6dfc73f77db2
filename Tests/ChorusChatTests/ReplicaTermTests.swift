@testable import ChorusChat
import Testing

/// When a replica starts a new term to serve its key (``ReplicatedActor/needsNewTerm(role:replicas:serving:recoveringFor:deadline:)``).
@Suite("Replica terms")
struct ReplicaTermTests {
    let deadline = Duration.seconds(5)

    func needsTerm(_ role: ChannelActor.ReplicaRole, _ replicas: Set<String>, serving: Set<String>, for elapsed: Duration? = .zero) -> Bool {
        ChannelActor.needsNewTerm(role: role, replicas: replicas, serving: serving, recoveringFor: elapsed, deadline: deadline)
    }

    @Test("a backup whose node owns the key always starts a term")
    func backup() {
        #expect(needsTerm(.backup, ["a", "b", "c"], serving: []))
        #expect(needsTerm(.backup, ["a"], serving: ["a"]))
    }

    @Test("a primary starts a term when the ring adds a replica, and keeps its own when replicas only leave (its calls in flight stay)")
    func primary() {
        #expect(needsTerm(.primary(term: 3), ["a", "b", "c"], serving: ["a", "b"]))
        #expect(!needsTerm(.primary(term: 3), ["a", "b"], serving: ["a", "b", "c"]))
        #expect(!needsTerm(.primary(term: 3), ["a", "b", "c"], serving: ["a", "b", "c"], for: .seconds(60)))
    }

    @Test("a recovering replica starts again when a replica leaves the ring (it may be the one it fetches the best log from) or when recovery has taken the deadline")
    func recovering() {
        #expect(!needsTerm(.recovering(term: 3), ["a", "b", "c"], serving: ["a", "b", "c"], for: .seconds(1)))
        #expect(needsTerm(.recovering(term: 3), ["a", "b"], serving: ["a", "b", "c"], for: .milliseconds(10)))
        #expect(needsTerm(.recovering(term: 3), ["a", "b", "c"], serving: ["a", "b"]))
        #expect(needsTerm(.recovering(term: 3), ["a", "b", "c"], serving: ["a", "b", "c"], for: .seconds(5)))
        #expect(!needsTerm(.recovering(term: 3), ["a", "b", "c"], serving: ["a", "b", "c"], for: nil))
    }
}
