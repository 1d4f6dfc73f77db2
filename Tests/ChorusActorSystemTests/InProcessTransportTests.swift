import ChorusActorSystem
import ChorusTestSupport
import Distributed
import Synchronization
import Testing

/// Actor systems over an ``InProcessNetwork``: the same calls as over TCP, no sockets, and faults
/// (cut links, a node that goes away) injected by the test.
@Suite("In-process transport")
struct InProcessTransportTests {
    /// Nodes `a` and `b` on one network, `echo/1` on `b`: `body` gets the network, both systems,
    /// the actor on `b` and `a`'s proxy of it. The default call timeout is long: these tests check
    /// values and order (tests of deadlines set their own), and in CI every suite runs at once,
    /// so a call can wait tens of seconds for a thread of the saturated cooperative pool (500
    /// calls timed out at 30 s there twice).
    func withPair(
        callTimeout: Duration = .seconds(300), _ body: (InProcessNetwork, ClusterActorSystem, ClusterActorSystem, Echo, Echo) async throws -> Void
    ) async throws {
        let network = InProcessNetwork()
        var systems: [ClusterActorSystem] = []
        for name in ["a", "b"] {
            let system = ClusterActorSystem(nodeName: name)
            system.register(errorType: EchoError.self)
            let placement = StaticPlacement(node: name, owners: [TransportTests.echoID: "b", TransportTests.ghostID: "b", Self.absentOnA: "a"])
            placement.system = system
            try await system.startTransport(network.transport(for: name, callTimeout: callTimeout), placement: placement)
            systems.append(system)
        }
        let (a, b) = (systems[0], systems[1])
        let local = b.withIdentity(TransportTests.echoID) { Echo(actorSystem: b) }
        defer { withExtendedLifetime(local) {} }
        try await body(network, a, b, local, try Echo.resolve(id: TransportTests.echoID, using: a))
        for system in systems { await system.shutdownTransport() }
    }

    /// An echo placed on `a` that is never made there.
    static let absentOnA = ActorIdentity(kind: "echo", key: "absent-on-a")

    @Test("a one-way call runs on the callee in order with calls; the callee's own calls to peers are not one-way (they see their replies)")
    func oneWay() async throws {
        try await withPair { _, a, _, local, remote in
            // The in-process transport starts the callee from the caller's task: it must not inherit one-way.
            try await ClusterActorSystem.$oneWay.withValue(true) {
                try await remote.append(7)
                try await remote.relayCrash(toKey: Self.absentOnA.key)
            }
            // The relay waits for its own call (the actor may run other calls meanwhile).
            try await eventuallyAsync("the relay is done") { try await remote.appended().count == 2 }
            #expect(try await remote.appended() == [7, 1], "1: the relayed call's failure reached the callee")
            #expect(a.callStats.totals.oneWay == 2)
            withExtendedLifetime(local) {}
        }
    }

    @Test("values, typed errors and unknown actors cross as over TCP; one caller's calls run in order")
    func roundTrip() async throws {
        try await withPair { network, a, b, local, remote in
            #expect(__isRemoteActor(remote))
            #expect(try await remote.echo("hi") == "echo: hi")
            await #expect(throws: EchoError(reason: "not a member of channel 7")) { try await remote.fail() }
            await #expect(throws: RemoteCallError.self) { try await Echo.resolve(id: TransportTests.ghostID, using: a).echo("boo") }
            let tasks = (0..<500).map { i in Task.immediate { try await remote.append(i) } }
            for task in tasks { try await task.value }
            #expect(try await local.appended() == Array(0..<500))
            #expect(a.connectedPeers == ["b"] && b.connectedPeers == ["a"])
        }
    }

    @Test("a cut link fails the call in flight and new calls with unreachable; healed, calls go through")
    func cutAndHeal() async throws {
        try await withPair { network, a, b, local, remote in
            let pending = Task { try await remote.slow() }
            while try await local.appended() != [-1] { await Task.yield() }
            network.cut("a", "b")
            await #expect(throws: RemoteCallError(.unreachable, "the link to b was cut")) { try await pending.value }
            do {
                _ = try await remote.echo("anyone?")
                Issue.record("should fail")
            } catch let error as RemoteCallError {
                #expect(error.code == .unreachable)
            }
            #expect(a.connectedPeers == [])
            network.heal("a", "b")
            #expect(try await remote.echo("back") == "echo: back")
        }
    }

    @Test("a node that shuts down fails the calls to it; a call past its deadline times out")
    func goneAndTimeout() async throws {
        try await withPair { network, a, b, local, remote in
            do {
                _ = try await ClusterActorSystem.$callTimeout.withValue(.milliseconds(50)) { try await remote.slow() }
                Issue.record("should time out")
            } catch let error as RemoteCallError {
                #expect(error.code == .timeout, "\(error)")
            }
            let pending = Task { try await remote.slow() }
            while try await local.appended() != [-1, -1] { await Task.yield() }
            await b.shutdownTransport()
            do {
                _ = try await pending.value
                Issue.record("should fail")
            } catch let error as RemoteCallError {
                #expect(error.code == .unreachable, "\(error)")
            }
        }
    }

    @Test("after a cut, the reply of a call cut off in flight never reaches a newer call with the same id")
    func staleReplyAfterHeal() async throws {
        try await withPair { network, a, b, local, remote in
            let cutOff = Task { try await remote.held(1) }
            try await eventually("the first call waits on b") { heldCalls.count == 1 }
            network.cut("a", "b")
            await #expect(throws: RemoteCallError.self) { try await cutOff.value }
            network.heal("a", "b")
            // The first call on the new link: over a fresh call table it gets the first id again.
            let fresh = Task { try await remote.held(2) }
            try await eventually("the second call waits on b") { heldCalls.count == 2 }
            heldCalls.releaseOldest()  // b answers the cut-off call now: a must not take it for the new one
            heldCalls.releaseOldest()
            #expect(try await fresh.value == 2)
        }
    }

    @Test("what a remote call returns is freed on the callee once the reply is sent, and on the caller once dropped")
    func returnedValuesAreFreed() async throws {
        try await withPair { _, _, _, _, remote in
            for _ in 0..<200 { _ = try await remote.tracked() }
            // The callee frees its copy after handing the reply on, so the last call's copy may
            // still be alive when its reply arrives; a leak would keep all 200.
            #expect(Tracked.alive.load(ordering: .relaxed) <= 1)
            // A generic target runs through the standard library's `executeDistributedTarget`.
            for _ in 0..<200 { _ = try await remote.twice(Tracked()) }
            #expect(Tracked.alive.load(ordering: .relaxed) <= 3)
        }
    }
}
