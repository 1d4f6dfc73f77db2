import ChorusBench
import Testing

@Suite struct PayloadTests {
    @Test func roundTripsAtTheExactSize() {
        let body = Payload.make(sentAt: 123_456_789_012, counter: 42, size: 64)
        #expect(body.count == 64)
        #expect(Payload.parse(body)?.sentAt == 123_456_789_012)
        #expect(Payload.parse(body)?.counter == 42)
    }

    @Test func theLargestNumbersFitTheMinimumSize() {
        let body = Payload.make(sentAt: UInt64(Int64.max), counter: UInt64(Int64.max), size: Payload.minimumSize)
        #expect(body.count == Payload.minimumSize)
        #expect(Payload.parse(body)?.counter == UInt64(Int64.max))
    }

    @Test(arguments: ["", "hello", "12:", ":5:", "12:x:", "1a:2:", "99999999999999999999:1:"])
    func rejectsOtherText(_ text: String) {
        #expect(Payload.parse(Array(text.utf8)) == nil)
    }
}

@Suite struct ScannedFrameTests {
    @Test func readsAMessageEventWithSortedKeys() {
        let frame = #"{"channel_id":"1843","created_at":1735689600,"data":{"attachments":[],"body":"77:3:xx","channel_id":"1843","deleted":false,"edited_at":null,"id":"99","inline_emotes":[{"asset_id":"1","end_index":2}],"reactions":[],"sender_id":"a","sender_name":"A \"q\" {","seq":12},"seq":12,"type":"message"}"#
        let scanned = ScannedFrame.scan(Array(frame.utf8))
        #expect(scanned == ScannedFrame(type: "message", seq: 12, body: Array("77:3:xx".utf8)))
    }

    @Test func keepsTheTopLevelTypeWhenDataHasOne() {
        let frame = #"{"data":{"type":"room","name":"x"},"seq":5,"type":"channel_update"}"#
        #expect(ScannedFrame.scan(Array(frame.utf8)) == ScannedFrame(type: "channel_update", seq: 5, body: nil))
    }

    @Test func readsFramesWithoutSeq() {
        let frame = #"{"connection_id":"c","heartbeat_interval":25,"type":"hello","user_id":"u"}"#
        #expect(ScannedFrame.scan(Array(frame.utf8)) == ScannedFrame(type: "hello"))
        #expect(ScannedFrame.scan(Array(#" { "type" : "health" } "#.utf8)) == ScannedFrame(type: "health"))
    }

    @Test(arguments: [
        "", "[]", "{", #"{"type":"x""#, #"{"type":}"#, #"{"seq":1.5}"#, #"{"seq":-1}"#,
        #"{"seq":99999999999999999999999}"#, #"{"a":[1,2}"#, #"{"a":"unterminated}"#, "{\"a\":" + String(repeating: "[", count: 500),
    ])
    func malformedFramesGiveNil(_ text: String) {
        #expect(ScannedFrame.scan(Array(text.utf8)) == nil)
    }
}

@Suite struct DeliveryTrackerTests {
    func track(_ seqs: [UInt64]) -> DeliveryTracker {
        var tracker = DeliveryTracker()
        for seq in seqs { tracker.observe(seq) }
        return tracker
    }

    @Test func everyMessageOnceInOrderPasses() {
        let check = track(Array(10...20)).check(expected: 10...20)
        #expect(check == DeliveryCheck(subscribers: 1))
        #expect(check.passed)
    }

    @Test func findsGapsAndMissingEnds() {
        #expect(track([10, 11, 14, 15]).check(expected: 10...15).lost == 2)
        #expect(track([12, 13]).check(expected: 10...15).lost == 4)
        #expect(track([]).check(expected: 10...15).lost == 6)
        #expect(track([3, 4]).check(expected: 10...15).lost == 6)
    }

    @Test func findsDuplicatesAndReordering() {
        let check = track([10, 11, 11, 13, 12, 14]).check(expected: 10...14)
        #expect(check.duplicates == 1)
        #expect(check.outOfOrder == 1)
        #expect(!check.passed)
    }

    @Test func ignoresTrafficOutsideTheAcknowledgedRange() {
        // Events before the first acknowledged message, and a committed send whose reply was lost.
        #expect(track([7, 8, 9, 10, 11, 12, 13]).check(expected: 10...12).passed)
        #expect(track([]).check(expected: nil).passed)
    }

    @Test func sumsOverSubscribers() {
        let total = track([1, 2, 3]).check(expected: 1...3) + track([1, 3]).check(expected: 1...3)
        #expect(total == DeliveryCheck(subscribers: 2, lost: 1))
        #expect(total.summary.contains("1 lost"))
    }
}
