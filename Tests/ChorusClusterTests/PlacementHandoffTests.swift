import ChorusActorSystem
import ChorusCluster
import ChorusModel
import Synchronization
import Testing

/// The hand-off gate's shell: one hand-off at a time, and a hand-off waiting for running calls
/// ends when the ring it aims at (or a newer one) is adopted meanwhile, or at its deadline.
@Suite("Hand-off gate in the placement")
struct PlacementHandoffTests {
    /// Node `a` of a two-node ring, the ring without it, a key `a` owns, and a call on that key
    /// that runs until `release` is finished.
    struct Setup {
        let clock = ManualTimeSource()
        let placement: ClusterPlacement
        let target: HashRing
        let id: ActorIdentity
        let call: Task<Void, any Error>
        let release: AsyncStream<Void>.Continuation

        init() async throws {
            placement = ClusterPlacement(nodeName: "a", ring: HashRing(nodes: ["a", "b"], virtualNodes: 16, epoch: 1), clock: clock)
            target = placement.ring.removing("a")
            let placement = self.placement
            id = try #require((1...500).lazy.map { ActorIdentity(kind: "channel", key: "\($0)") }.first { placement.owner(of: $0) == "a" })
            let (released, release) = AsyncStream<Void>.makeStream()
            let (started, startedContinuation) = AsyncStream<Void>.makeStream()
            call = Task { [id] in
                try await placement.gate.track(id) {
                    startedContinuation.yield()
                    for await _ in released {}
                }
            }
            self.release = release
            for await _ in started { break }
        }
    }

    @Test("a second hand-off is refused while one waits; adopting the target ends the wait with an error")
    func waitingHandoff() async throws {
        let setup = try await Setup()
        let (placement, target, id) = (setup.placement, setup.target, setup.id)
        let first = Task { try await placement.gate.beginHandoff(to: target, deadline: .seconds(60)) }
        while !placement.gate.isMoving(id) { await Task.yield() }
        await #expect(throws: RemoteCallError.self) { try await placement.gate.beginHandoff(to: target, deadline: .seconds(60)) }
        placement.adopt(RingDescription(target))
        await #expect(throws: RemoteCallError.self) { try await first.value }
        setup.release.finish()
        try await setup.call.value
        // The ring moved on: the key is another node's now, no longer "moving" here.
        #expect(!placement.gate.isMoving(id))
    }

    @Test("a hand-off whose calls do not finish in time is aborted, and the keys are served again")
    func deadline() async throws {
        let setup = try await Setup()
        let (placement, target, id) = (setup.placement, setup.target, setup.id)
        // The deadline runs on the placement's clock: no real time passes.
        let handoff = Task { try await placement.gate.beginHandoff(to: target, deadline: .seconds(30)) }
        while !placement.gate.isMoving(id) || setup.clock.sleeperCount == 0 { await Task.yield() }
        setup.clock.advance(by: .seconds(29))
        #expect(placement.gate.isMoving(id), "not before the deadline")
        setup.clock.advance(by: .seconds(1))
        await #expect(throws: RemoteCallError.self) { try await handoff.value }
        #expect(!placement.gate.isMoving(id))
        setup.release.finish()
        try await setup.call.value
        // With nothing running, the next hand-off proceeds at once.
        try await placement.gate.beginHandoff(to: target, deadline: .seconds(60))
        #expect(placement.gate.isMoving(id))
    }
}

/// The hand-off target is durable: persisted when a hand-off begins, forgotten when it ends, and
/// restored (keys refused) after a restart.
@Suite("Durable hand-off target")
struct DurableHandoffTargetTests {
    final class Saved: Sendable {
        let values = Mutex<[HashRing?]>([])
    }

    @Test("begin persists the target before anything moves; adoption and abort clear it")
    func persisted() async throws {
        let ring = HashRing(nodes: ["a", "b"], virtualNodes: 16, epoch: 1)
        let gate = CallGate(me: "a", clock: ManualTimeSource())
        let saved = Saved()
        gate.persistTarget { target in saved.values.withLock { $0.append(target) } }
        let target = ring.removing("a")
        try await gate.beginHandoff(to: target, deadline: .seconds(30))
        #expect(saved.values.withLock { $0 } == [target])
        gate.adopted(epoch: target.epoch)
        #expect(saved.values.withLock { $0 } == [target, nil])
        try await gate.beginHandoff(to: target, deadline: .seconds(30))
        gate.abortHandoff(epoch: target.epoch)
        #expect(saved.values.withLock { $0 } == [target, nil, target, nil])
    }

    @Test("a restored target refuses the keys it moves; the same target may begin again, another may not")
    func restored() async throws {
        let ring = HashRing(nodes: ["a", "b"], virtualNodes: 16, epoch: 1)
        let target = ring.removing("a")
        let gate = CallGate(me: "a", clock: ManualTimeSource())
        gate.restore(target: target)
        let key = ActorIdentity(kind: "channel", key: "1")
        #expect(gate.isMoving(key))
        await #expect(throws: RemoteCallError.self) { try await gate.track(key) {} }
        await #expect(throws: RemoteCallError.self) { try await gate.beginHandoff(to: HashRing(nodes: ["b"], virtualNodes: 16, epoch: 9), deadline: .seconds(1)) }
        try await gate.beginHandoff(to: target, deadline: .seconds(30))
        gate.adopted(epoch: target.epoch)
        #expect(!gate.isMoving(key) && gate.target == nil)
    }

    @Test("a hand-off whose target cannot be saved does not begin: nothing is refused")
    func unsaved() async throws {
        struct DiskFull: Error {}
        let gate = CallGate(me: "a", clock: ManualTimeSource())
        gate.persistTarget { target in if target != nil { throw DiskFull() } }
        let target = HashRing(nodes: ["a", "b"], virtualNodes: 16, epoch: 1).removing("a")
        await #expect(throws: RemoteCallError.self) { try await gate.beginHandoff(to: target, deadline: .seconds(30)) }
        #expect(gate.target == nil && !gate.isMoving(ActorIdentity(kind: "channel", key: "1")))
    }
}
