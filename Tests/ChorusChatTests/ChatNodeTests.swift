import ChorusActorSystem
@testable import ChorusChat
import ChorusCluster
import ChorusModel
import Testing

@Suite("ChatNode")
struct ChatNodeTests {
    func makeNode() -> (ChatNode, ManualTimeSource) {
        let clock = ManualTimeSource()
        return (ChatNode(actorSystem: ClusterActorSystem(), clock: clock), clock)
    }

    /// A node with user alice and one channel of `kind` she owns.
    func makeChannel(_ kind: ChannelKind = .group) async throws -> (ChatNode, ManualTimeSource, ChannelInfo, ChannelActor) {
        let (node, clock) = makeNode()
        _ = try await node.ensureUser(alice, displayName: "Alice")
        let info = try await node.createChannel(kind: kind, name: "Team", owner: alice)
        return (node, clock, info, try node.channel(info.id))
    }

    @Test("channels and users are distributed actors with logical ids, activated on creation")
    func logicalActors() async throws {
        let (node, _, info, channel) = try await makeChannel()
        #expect(channel.id == ActorIdentity(kind: "channel", key: info.id.description))
        #expect(try node.user(alice).id == ActorIdentity(kind: "user", key: "alice"))
        // The actor system resolves the same instance by its logical id.
        let resolved = try ChannelActor.resolve(id: channel.id, using: node.actorSystem)
        #expect(try await resolved.info(for: alice) == info)
        #expect(node.activeActorCounts == (1, 1))
    }

    @Test("looking up unknown channels and users creates no actors")
    func noActivationByProbing() async throws {
        let (node, _) = makeNode()
        for i in 0..<100 {
            #expect(throws: ChatError.channelNotFound(ChannelID(rawValue: UInt64(i)))) { try node.channel(ChannelID(rawValue: UInt64(i))) }
            await #expect(throws: ChatError.self) { try await node.profile(of: UserID("ghost\(i)")!) }
        }
        #expect(node.activeActorCounts == (0, 0))
        #expect(node.actorSystem.liveActorCount == 0)
    }

    @Test("message ids stay above the channel's last id even if the clock steps back")
    func idsAcrossClockSteps() async throws {
        let (_, clock, _, channel) = try await makeChannel()
        let first = try await channel.send(MessageDraft(body: "1"), from: alice, senderName: "Alice")
        clock.advance(by: .seconds(-3600))
        let second = try await channel.send(MessageDraft(body: "2"), from: alice, senderName: "Alice")
        #expect(second.id > first.id)
        #expect(second.seq > first.seq)
    }

    @Test("typing expires with the injected clock through the actor")
    func typingTTL() async throws {
        let (_, clock, _, channel) = try await makeChannel(.room)
        try await channel.startTyping(by: alice)
        clock.advance(by: .milliseconds(4999))
        #expect(try await channel.typingUsers(for: alice) == [alice])
        clock.advance(by: .milliseconds(1))
        #expect(try await channel.typingUsers(for: alice) == [])
    }
}

/// The hand-off gate's shell: one hand-off at a time, and a hand-off waiting for running calls
/// ends when the ring it aims at (or a newer one) is adopted meanwhile, or at its deadline.
@Suite("Hand-off in the placement")
struct PlacementHandoffTests {
    /// Node `a` of a two-node ring, the ring without it, a key `a` owns, and a call on that key
    /// that runs until `release` is finished.
    struct Setup {
        let placement = ChatPlacement(nodeName: "a", ring: HashRing(nodes: ["a", "b"], virtualNodes: 16, epoch: 1))
        let target: HashRing
        let id: ActorIdentity
        let call: Task<Void, any Error>
        let release: AsyncStream<Void>.Continuation

        init() async throws {
            target = placement.ring.removing("a")
            let placement = self.placement
            id = try #require((1...500).lazy.map { ChannelActor.identity(of: ChannelID(rawValue: $0)) }.first { placement.owner(of: $0) == "a" })
            let (released, release) = AsyncStream<Void>.makeStream()
            let (started, startedContinuation) = AsyncStream<Void>.makeStream()
            call = Task { [id] in
                try await placement.track(id) {
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
        let first = Task { try await placement.beginHandoff(to: target, deadline: .seconds(60)) }
        while !placement.isMoving(id) { await Task.yield() }
        await #expect(throws: RemoteCallError.self) { try await placement.beginHandoff(to: target, deadline: .seconds(60)) }
        placement.adopt(RingDescription(nodes: target.nodes, virtualNodes: target.virtualNodes, epoch: target.epoch))
        await #expect(throws: RemoteCallError.self) { try await first.value }
        setup.release.finish()
        try await setup.call.value
        // The ring moved on: the key is another node's now, no longer "moving" here.
        #expect(!placement.isMoving(id))
    }

    @Test("a hand-off whose calls do not finish in time is aborted, and the keys are served again")
    func deadline() async throws {
        let setup = try await Setup()
        let (placement, target, id) = (setup.placement, setup.target, setup.id)
        // The deadline fires when the test says so: no real time passes.
        let (fire, fireContinuation) = AsyncStream<Void>.makeStream()
        let handoff = Task { try await placement.beginHandoff(to: target, deadline: .seconds(30), timer: { _ in for await _ in fire {} }) }
        while !placement.isMoving(id) { await Task.yield() }
        fireContinuation.finish()
        await #expect(throws: RemoteCallError.self) { try await handoff.value }
        #expect(!placement.isMoving(id))
        setup.release.finish()
        try await setup.call.value
        // With nothing running, the next hand-off proceeds at once.
        try await placement.beginHandoff(to: target, deadline: .seconds(60))
        #expect(placement.isMoving(id))
    }
}
