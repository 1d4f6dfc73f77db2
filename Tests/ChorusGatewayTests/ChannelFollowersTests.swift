@testable import ChorusGateway
import ChorusModel
import ChorusTestSupport
import Testing

@Suite("ChannelFollowers")
struct ChannelFollowersTests {
    let counters = RealtimeHub.Counters()

    func session(_ number: Int, _ format: EventFormat) -> RealtimeSession {
        RealtimeSession(
            id: "c\(number)", user: UserID("u\(number)")!, format: format, bufferLimit: 1024, grace: .seconds(1),
            clock: ManualTimeSource(), counters: counters)
    }

    @Test("adds and removes sessions of both formats in any order: each format's list holds exactly its followers")
    func insertAndRemove() {
        var generator = SeededRandom(seed: 17)
        let sessions = (0..<200).map { session($0, $0 % 3 == 0 ? .stream : .v1) }
        var followers = ChannelFollowers()
        var expected: Set<String> = []
        for _ in 0..<5_000 {
            let session = sessions.randomElement(using: &generator)!
            if Bool.random(using: &generator) {
                #expect(followers.insert(session) == expected.insert(session.id).inserted)
            } else {
                #expect(followers.remove(session) == (expected.remove(session.id) != nil))
            }
            #expect(followers.count == expected.count)
        }
        #expect(Set(followers.v1.map(\.id)) == expected.filter { sessions[Int($0.dropFirst())!].format == .v1 })
        #expect(Set(followers.stream.map(\.id)) == expected.filter { sessions[Int($0.dropFirst())!].format == .stream })
        #expect(followers.all.count == expected.count)
        for session in sessions where session.format == .stream {
            #expect((followers.streamSession(session.id) === session) == expected.contains(session.id))
        }
        // v1 sessions are never found as Stream sessions, even at a position the Stream list has.
        for session in sessions where session.format == .v1 { #expect(followers.streamSession(session.id) == nil) }
        for session in sessions { followers.remove(session) }
        #expect(followers.isEmpty && followers.v1.isEmpty && followers.stream.isEmpty)
    }
}
