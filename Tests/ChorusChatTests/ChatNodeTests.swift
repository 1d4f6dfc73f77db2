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
