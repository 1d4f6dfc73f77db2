@testable import ChorusChat
import ChorusModel
import ChorusTestSupport
import Foundation
import Testing

@testable import ChorusGateway

@Suite("JSONWriter")
struct JSONWriterTests {
    @Test("a message writes exactly the bytes JSONEncoder makes of it (500 random messages and pages)")
    func messagesMatchTheEncoder() throws {
        var random = SeededRandom(seed: 2026_12_02)
        for _ in 0..<500 {
            let body = MessageBody(message: random.message())
            var writer = JSONWriter()
            body.write(to: &writer)
            let expected = try JSONBody.encoder.encode(body)
            #expect(writer.bytes == Array(expected), "\(String(decoding: writer.bytes, as: UTF8.self))\n\(String(decoding: expected, as: UTF8.self))")

            let page = MessagePageBody(messages: (0..<Int(random.next() % 3)).map { _ in MessageBody(message: random.message()) }, hasMore: random.chance(0.5))
            var pageWriter = JSONWriter()
            page.write(to: &pageWriter)
            #expect(pageWriter.bytes == Array(try JSONBody.encoder.encode(page)))
        }
    }

    @Test("a channel list writes exactly the bytes JSONEncoder makes of it (300 random lists: DMs, groups, rooms)")
    func channelListsMatchTheEncoder() throws {
        var random = SeededRandom(seed: 2026_12_02_2)
        for _ in 0..<300 {
            let list = (0..<Int(random.next() % 4)).map { _ in
                let kind = ChannelKind.allCases[Int(random.next() % UInt64(ChannelKind.allCases.count))]
                let info = ChannelInfo(
                    id: ChannelID(rawValue: random.next() >> 1), kind: kind, name: random.jsonHostileText(),
                    ownerID: random.chance(0.5) ? UserID(random.name())! : nil, createdAt: Timestamp(milliseconds: Int64(random.next() >> 24)))
                let summary = ChannelSummary(
                    info: info, unreadCount: Int(random.next() % 100_000), lastActivityAt: Timestamp(milliseconds: Int64(random.next() >> 24)),
                    hidden: random.chance(0.2), otherUserID: random.chance(0.4) ? UserID(random.name())! : nil)
                return ChannelListItemBody(entry: ChatNode.ChannelListEntry(summary: summary, otherUserName: random.chance(0.5) ? random.jsonHostileText() : nil))
            }
            var writer = JSONWriter()
            list.write(to: &writer)
            let expected = try JSONBody.encoder.encode(list)
            #expect(writer.bytes == Array(expected), "\(String(decoding: writer.bytes, as: UTF8.self))\n\(String(decoding: expected, as: UTF8.self))")
        }
    }

    static func event(_ random: inout SeededRandom) -> ChannelEvent {
        let user = UserID(random.name())!
        let at = Timestamp(milliseconds: Int64(random.next() >> 24))
        let change = ChannelEvent.ReactionChange(messageID: MessageID(rawValue: random.next()), emote: AssetID(random.name())!, userID: user)
        let member = Member(userID: user, role: MemberRole.allCases[Int(random.next() % UInt64(MemberRole.allCases.count))], joinedAt: at)
        let info = ChannelInfo(
            id: ChannelID(rawValue: random.next() >> 1), kind: ChannelKind.allCases[Int(random.next() % UInt64(ChannelKind.allCases.count))],
            name: random.jsonHostileText(), ownerID: random.chance(0.5) ? user : nil, createdAt: at)
        let payloads: [ChannelEvent.Payload] = [
            .message(random.message()), .messageUpdate(random.message()), .messageDelete(MessageID(rawValue: random.next())),
            .reactionAdd(change), .reactionRemove(change), .typing(user), .typingStop(user), .memberAdd(member), .memberUpdate(member),
            .memberRemove(user), .channelUpdate(info), .channelTruncate(info), .channelDelete(info),
            .read(user: user, cursor: ReadCursor(channelID: info.id, lastReadMessageID: MessageID(rawValue: random.next()), updatedAt: at)),
        ]
        return ChannelEvent(
            channelID: ChannelID(rawValue: random.next() >> 1), seq: random.chance(0.8) ? random.next() >> 8 : nil,
            createdAt: Timestamp(milliseconds: Int64(bitPattern: random.next() >> 20) - (1 << 40)),
            payload: payloads[Int(random.next() % UInt64(payloads.count))])
    }

    @Test("an event frame writes exactly the bytes JSONEncoder makes of it (1,000 random events of every v1 type)")
    func eventFramesMatchTheEncoder() throws {
        var random = SeededRandom(seed: 2026_12_02_3)
        var types: Set<String> = []
        for _ in 0..<1_000 {
            let event = Self.event(&random)
            types.insert(event.type)
            let frame = RealtimeFrames.event(event)
            let expected = try JSONBody.encoder.encode(RealtimeFrames.EventEnvelope(event: event))
            #expect(Array(frame.readableBytesView) == Array(expected), "\(String(buffer: frame))\n\(String(decoding: expected, as: UTF8.self))")
        }
        #expect(types.count == 12)  // the channel's update, truncation and deletion all say channel_update
    }
}
