import ChorusActorSystem
import ChorusModel
import Testing

@testable import ChorusChat

@Suite("Profiles remembered by the node that authenticates requests")
struct ProfileCacheTests {
    let alice = UserID("alice")!

    @Test("a rename made elsewhere is seen after the TTL; one made through this node at once")
    func renames() async throws {
        let clock = ManualTimeSource()
        let node = ChatNode(actorSystem: ClusterActorSystem(), clock: clock)
        #expect(try await node.ensureUser(alice, displayName: "Alice").displayName == "Alice")
        // As another node's rename would: straight to the user's actor, not through this node.
        _ = try await node.user(alice).upsert(displayName: "Alice B")
        clock.advance(by: .seconds(9))
        #expect(try await node.ensureUser(alice, displayName: nil).displayName == "Alice")
        clock.advance(by: .seconds(1))
        #expect(try await node.ensureUser(alice, displayName: nil).displayName == "Alice B")

        _ = try await node.upsertUser(alice, displayName: "Alice C")
        #expect(try await node.ensureUser(alice, displayName: nil).displayName == "Alice C")
    }

    @Test("with a TTL of zero every request asks the user's actor")
    func disabled() async throws {
        var configuration = ChatNode.Configuration()
        configuration.profileCacheTTL = .zero
        let node = ChatNode(actorSystem: ClusterActorSystem(), configuration: configuration, clock: ManualTimeSource())
        _ = try await node.ensureUser(alice, displayName: "Alice")
        _ = try await node.user(alice).upsert(displayName: "Alice B")
        #expect(try await node.ensureUser(alice, displayName: nil).displayName == "Alice B")
        #expect(node.profiles.count == 0)
    }

    @Test("memory is bounded: past its capacity the cache starts over")
    func bounded() {
        let cache = ProfileCache(ttl: .seconds(10), capacity: 3)
        let now = Timestamp.seconds(1_000)
        for name in ["a", "b", "c", "d"] {
            cache.remember(UserProfile(id: UserID(name)!, displayName: name, createdAt: now), now: now)
            #expect(cache.count <= 3)
        }
        #expect(cache.count == 1)
        #expect(cache.profile(of: UserID("d")!, now: now)?.displayName == "d")
        #expect(cache.profile(of: UserID("a")!, now: now) == nil)
    }
}
