import ChorusActorSystem
import Distributed
import Testing

distributed actor Probe {
    typealias ActorSystem = ClusterActorSystem
    var count = 0

    distributed func increment() -> Int {
        count += 1
        return count
    }
}

@Suite("ClusterActorSystem")
struct ClusterActorSystemTests {
    @Test("actors get the logical identity they are created with and resolve locally")
    func logicalIdentity() async throws {
        let system = ClusterActorSystem(nodeName: "test")
        let id = ActorIdentity(kind: "probe", key: "42")
        let probe = system.withIdentity(id) { Probe(actorSystem: system) }
        #expect(probe.id == id)
        #expect(probe.id.description == "probe/42")
        let resolved = try Probe.resolve(id: id, using: system)
        #expect(try await resolved.increment() == 1)
        #expect(try await probe.increment() == 2)  // the same instance
        #expect(system.liveActorCount == 1)
    }

    @Test("actors created outside withIdentity get unique anonymous ids")
    func anonymousIDs() {
        let system = ClusterActorSystem(nodeName: "test")
        let a = Probe(actorSystem: system)
        let b = Probe(actorSystem: system)
        #expect(a.id.kind == "anonymous")
        #expect(a.id != b.id)
    }

    @Test("resolving an id with no live actor fails with actorNotFound, also after deallocation")
    func resolveMissing() throws {
        let system = ClusterActorSystem(nodeName: "test")
        let id = ActorIdentity(kind: "probe", key: "gone")
        #expect(throws: RemoteCallError.self) { try Probe.resolve(id: id, using: system) }
        do {
            let probe = system.withIdentity(id) { Probe(actorSystem: system) }
            _ = probe
        }
        #expect(system.liveActorCount == 0)
        do {
            _ = try Probe.resolve(id: id, using: system)
            Issue.record("resolve should have thrown")
        } catch let error as RemoteCallError {
            #expect(error.code == .actorNotFound)
        }
        // The id can be activated again once the old actor is gone.
        let again = system.withIdentity(id) { Probe(actorSystem: system) }
        #expect(again.id == id)
    }
}
