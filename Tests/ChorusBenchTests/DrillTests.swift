@testable import ChorusBench
import Foundation
import Testing

/// Acknowledgements of `count` sends in round `round`: message ids from 1000, seqs 10, 12, 14, …
/// (seqs of a channel skip numbers: other records take them).
private func acks(_ count: Int, round: Int = 1, from first: Int = 0) -> [Drill.Ack] {
    (first..<(first + count)).map {
        Drill.Ack(round: round, clientID: Drill.clientID(run: "t", round: round, channel: 0, index: $0), messageID: 1000 + UInt64($0), seq: 10 + UInt64($0) * 2)
    }
}

/// The history a correct cluster shows for `acks`.
private func history(_ acks: [Drill.Ack]) -> [Drill.HistoryEntry] {
    acks.map { Drill.HistoryEntry(messageID: $0.messageID, seq: $0.seq, clientID: $0.clientID, edited: $0.edited, reacted: $0.reacted) }
}

@Suite struct DrillHistoryCheckTests {
    @Test func aCompleteHistoryPasses() {
        let sent = acks(5)
        let check = Drill.HistoryCheck.check(acks: sent, history: history(sent))
        #expect(check == Drill.HistoryCheck(acknowledged: 5))
        #expect(check.passed)
    }

    @Test func catchesALostMessage() {
        let sent = acks(5)
        var shown = history(sent)
        shown.remove(at: 2)
        let check = Drill.HistoryCheck.check(acks: sent, history: shown)
        #expect(check.lost == 1)
        #expect(!check.passed)
    }

    @Test func catchesASendPostedTwice() {
        // The retry of a send that had committed posted a second message with the same client id.
        let sent = acks(3)
        var shown = history(sent)
        shown.append(Drill.HistoryEntry(messageID: 2000, seq: 40, clientID: sent[1].clientID))
        let check = Drill.HistoryCheck.check(acks: sent, history: shown)
        #expect(check.duplicated == 1)
        #expect(check.lost == 0)
        #expect(!check.passed)
    }

    @Test func catchesAMessageListedTwice() {
        let sent = acks(3)
        var shown = history(sent)
        shown.insert(shown[0], at: 1)
        let check = Drill.HistoryCheck.check(acks: sent, history: shown)
        #expect(check.duplicated == 1)
        #expect(!check.passed)
    }

    @Test func catchesMessagesOutOfTheirAcknowledgedOrder() {
        let sent = acks(4)
        var shown = history(sent)
        shown.swapAt(1, 2)
        #expect(Drill.HistoryCheck.check(acks: sent, history: shown).outOfOrder == 1)
        // The same message under another seq than its 201 said.
        var moved = history(sent)
        moved[3].seq = 99
        #expect(Drill.HistoryCheck.check(acks: sent, history: moved).outOfOrder == 1)
    }

    @Test func aMessageCommittedWithoutAnAcknowledgementIsNotAnError() {
        let sent = acks(3)
        let shown = history(sent) + history(acks(1, from: 3))
        let check = Drill.HistoryCheck.check(acks: sent, history: shown)
        #expect(check.unacknowledged == 1)
        #expect(check.passed)
    }

    @Test func catchesLostEditsAndReactions() {
        var sent = acks(3)
        sent[0].edited = true
        sent[2].reacted = true
        var shown = history(sent)
        shown[0].edited = false
        shown[2].reacted = false
        let check = Drill.HistoryCheck.check(acks: sent, history: shown)
        #expect(check.lostEdits == 1)
        #expect(check.lostReactions == 1)
        #expect(!check.passed)
        #expect(Drill.HistoryCheck.check(acks: sent, history: history(sent)).passed)
    }

    @Test func theWorstViewCountsAndChannelsAddUp() {
        let a = Drill.HistoryCheck(acknowledged: 5, lost: 1)
        let b = Drill.HistoryCheck(acknowledged: 5, duplicated: 2)
        #expect(Drill.HistoryCheck.worst([a, b]) == Drill.HistoryCheck(acknowledged: 5, lost: 1, duplicated: 2))
        #expect(Drill.HistoryCheck.worst([]) == nil)
        #expect(a + b == Drill.HistoryCheck(acknowledged: 10, lost: 1, duplicated: 2))
    }

    @Test func clientIDsNameTheirRoundAndStartTheBody() {
        let id = Drill.clientID(run: "k3j9", round: 3, channel: 2, index: 17)
        #expect(id == "k3j9.r3.c2.17")
        #expect(Drill.round(ofClientID: id) == 3)
        #expect(Drill.round(ofClientID: "k3j9.r12.probe0") == 12)
        for other in ["hello", "a.b.c", "x.rq.c1.1", ""] { #expect(Drill.round(ofClientID: other) == nil) }
        #expect(Drill.clientID(inBody: Drill.messageBody(clientID: id)) == id)
        #expect(Drill.clientID(inBody: Drill.editedBody(clientID: id)) == id)
        #expect(Drill.clientID(inBody: "") == nil)
        // Valid client_message_id characters only: A-Z a-z 0-9 - _ . :
        #expect(id.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.:".contains($0)) })
    }
}

@Suite struct DrillStreamCheckTests {
    @Test func everyMessageOnceInOrderPasses() {
        let check = Drill.StreamCheck.check(delivered: [2, 4, 6], reloaded: [], expected: [2, 4, 6])
        #expect(check == Drill.StreamCheck(subscribers: 1))
        #expect(check.passed)
    }

    @Test func catchesAGap() {
        let check = Drill.StreamCheck.check(delivered: [2, 6], reloaded: [], expected: [2, 4, 6])
        #expect(check.gaps == 1)
        #expect(!check.passed)
    }

    @Test func aGapReportNamesEachMissingSeqAndItsNeighbours() {
        let report = Drill.StreamCheck.gapReport(delivered: [2, 8, 10], reloaded: [6], expected: [2, 4, 6, 8, 10, 12], subscriber: "subscriber 3")
        #expect(
            report == "stream gap: subscriber 3 missed seq 4 (delivered before: 2, after: 8), 12 (delivered before: 10, after: none); 3 delivered, 1 reloaded")
        let many = Drill.StreamCheck.gapReport(delivered: [], reloaded: [], expected: Array(1...7), subscriber: "s")
        #expect(many.contains("5 (delivered before: none, after: none), and 2 more"))
    }

    @Test func catchesADuplicate() {
        let check = Drill.StreamCheck.check(delivered: [2, 4, 4, 6], reloaded: [], expected: [2, 4, 6])
        #expect(check.duplicates == 1)
        #expect(check.gaps == 0)
        #expect(!check.passed)
    }

    @Test func catchesReordering() {
        #expect(Drill.StreamCheck.check(delivered: [2, 6, 4], reloaded: [], expected: [2, 4, 6]).outOfOrder == 1)
    }

    @Test func aRESTReloadAfterAFailedResumeFillsTheGap() {
        let check = Drill.StreamCheck.check(delivered: [2, 6], reloaded: [4], expected: [2, 4, 6])
        #expect(check.passed)
    }

    @Test func aMessageThatIsNotInTheHistoryIsCaughtUnlessTheCheckIsOfOneRound() {
        #expect(Drill.StreamCheck.check(delivered: [2, 4, 6, 8], reloaded: [], expected: [2, 4, 6]).unexpected == 1)
        let oneRound = Drill.StreamCheck.check(delivered: [2, 4, 6, 8], reloaded: [], expected: [4, 6], countUnexpected: false)
        #expect(oneRound.passed)
    }

    @Test func subscribersAddUp() {
        let sum = Drill.StreamCheck(subscribers: 1, gaps: 2) + Drill.StreamCheck(subscribers: 1, duplicates: 1)
        #expect(sum == Drill.StreamCheck(subscribers: 2, gaps: 2, duplicates: 1))
    }

    @Test func theSubscriberLogDropsOnlyTheRepeatsTheProtocolTellsTheClientToDrop() {
        // A repeat on a live stream is the server's duplicate.
        let live = Drill.SubscriberLog(room: 0)
        live.observe(seq: 5, messageID: 100)
        live.observe(seq: 5, messageID: 100)
        #expect(live.snapshot.delivered == [5, 5])
        // After a resume_failed the channel goes live from the server's buffer: what the client has is its to drop.
        let resumed = Drill.SubscriberLog(room: 0)
        resumed.observe(seq: 5, messageID: 100)
        resumed.observe(seq: 6, messageID: nil)  // a reaction: moves the resume point, not a message
        resumed.noteResumeFailed()
        resumed.observe(seq: 5, messageID: 100)
        resumed.observe(seq: 8, messageID: 103)
        // A live event before the reload runs does not move where the reload starts.
        #expect(resumed.reloadAfter == 100)
        resumed.noteReloaded([Drill.HistoryEntry(messageID: 101, seq: 7, clientID: "t.r1.c0.1")])
        let state = resumed.snapshot
        #expect(state.delivered == [5, 8])
        #expect(state.reloaded == [7])
        #expect(state.lastSeq == 8)
        #expect(state.lastMessageID == 103)
        #expect(resumed.hasReceived(all: [5, 7, 8]))
        #expect(!resumed.hasReceived(all: [5, 7, 8, 9]))
        #expect(Drill.StreamCheck.check(delivered: state.delivered, reloaded: state.reloaded, expected: [5, 7, 8]).passed)
    }

    @Test func theFirstConnectionResumesNothingALaterOneItsRoom() {
        let log = Drill.SubscriberLog(room: 0)
        #expect(log.resumeFrame(channelID: "42") == #"{"type":"resume","channels":{}}"#)
    }
}

@Suite struct DrillWindowTests {
    @Test func aWindowRunsFromTheLastSuccessBeforeTheFaultToTheFirstAfter() {
        let windows = Drill.Windows.compute(successes: [[1.0, 2.0, 5.0], [3.5, 1.5], [1.0], [3.0]], faultAt: 2.5)
        #expect(windows == [3.0, 2.0, nil, 0.5])
    }

    @Test func nearestRankPercentiles() {
        let values = (1...100).map(Double.init)
        #expect(Drill.Windows.percentile(values, 50) == 50)
        #expect(Drill.Windows.percentile(values, 99) == 99)
        #expect(Drill.Windows.percentile(values, 100) == 100)
        #expect(Drill.Windows.percentile(values.reversed(), 1) == 1)
        #expect(Drill.Windows.percentile([7], 99) == 7)
        #expect(Drill.Windows.percentile([], 50) == nil)
    }

    @Test func summaryInMillisecondsCountsUnrecoveredChannels() {
        let summary = Drill.Windows.summary([1.0, 2.0, nil])
        #expect(summary == Drill.WindowSummary(channels: 3, unrecovered: 1, p50Ms: 1000, p99Ms: 2000, maxMs: 2000))
        #expect(Drill.Windows.summary([nil]) == Drill.WindowSummary(channels: 1, unrecovered: 1, p50Ms: nil, p99Ms: nil, maxMs: nil))
    }
}

@Suite struct DrillTimelineAndPlotTests {
    @Test func bucketsCountAcksAndTheirP99() {
        let samples = [
            Drill.Timeline.Sample(at: 0.05, latencyMs: 1), Drill.Timeline.Sample(at: 0.07, latencyMs: 3),
            Drill.Timeline.Sample(at: 0.25, latencyMs: 2), Drill.Timeline.Sample(at: 9, latencyMs: 4),
        ]
        let buckets = Drill.Timeline.buckets(samples, until: 0.3)
        #expect(buckets == [
            Drill.TimelineBucket(startS: 0, acks: 2, p99Ms: 3), Drill.TimelineBucket(startS: 0.1, acks: 0, p99Ms: nil),
            Drill.TimelineBucket(startS: 0.2, acks: 2, p99Ms: 4),
        ])
    }

    @Test func drawsATimelineWithFaults() {
        let timeline = (0..<200).map { (i: Int) -> Drill.TimelineBucket in
            let faulty = i > 50 && i < 120
            let p99: Double = faulty ? 4_000 : 3
            return Drill.TimelineBucket(startS: Double(i) / 10, acks: faulty ? 2 : 6, p99Ms: p99)
        }
        let faults = [Drill.FaultMark(round: 1, fault: .kill, target: "drill-2", startS: 5.1, endS: 12.2)]
        let png = Drill.Plot.render(timeline: timeline, faults: faults, title: "test")
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let width = png[16..<20].reduce(0) { $0 << 8 | Int($1) }
        let height = png[20..<24].reduce(0) { $0 << 8 | Int($1) }
        #expect(width == Drill.Plot.width && height == Drill.Plot.height)
        // Nothing to draw, or a fault that never ended, still gives an image.
        #expect(Drill.Plot.render(timeline: [], faults: [], title: "").count > 100)
        let unended = [Drill.FaultMark(round: 1, fault: .pause, target: "x", startS: 1, endS: nil)]
        #expect(Drill.Plot.render(timeline: Array(timeline.prefix(3)), faults: unended, title: "").count > 100)
    }
}

@Suite struct DrillFindingsTests {
    func findings(lost: Int = 0, gaps: Int = 0) -> Drill.Findings {
        var configuration = Drill.Configuration()
        configuration.seed = 42
        let history = Drill.HistoryCheck(acknowledged: 300, lost: lost, unacknowledged: 2)
        let stream = Drill.StreamCheck(subscribers: 36, gaps: gaps)
        var sends = Drill.SendCounts()
        sends.started = 310
        sends.acknowledged = 300
        sends.failed = 10
        sends.failures = ["HTTP 503": 10]
        let round = Drill.RoundResult(
            round: 1, fault: .kill, target: "drill-2", faultAtS: 5.25, recoveredAtS: 14.5, detectionMs: 5_123.4, rejoinMs: 2_310,
            windows: Drill.WindowSummary(channels: 12, unrecovered: 0, p50Ms: 210, p99Ms: 9_800, maxMs: 9_850), sends: sends,
            history: history, stream: stream, unreadableViews: 0, divergentChannels: 0, notes: ["a note"])
        return Drill.Findings(
            configuration: configuration, nodes: ["drill-1", "drill-2", "drill-3"], endpoints: ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"],
            runID: "abc", rounds: [round],
            totals: Drill.Totals(sends: sends, history: history, stream: stream, unreadableViews: 0, divergentChannels: 0, reconnections: 4, reloads: 1),
            timeline: [Drill.TimelineBucket(startS: 0, acks: 3, p99Ms: 2.5)],
            faults: [Drill.FaultMark(round: 1, fault: .kill, target: "drill-2", startS: 5.25, endS: 14.5)])
    }

    @Test func survivesJSONWithSnakeCaseKeys() throws {
        let original = findings()
        let data = try original.jsonData()
        let text = String(decoding: data, as: UTF8.self)
        for key in ["\"detection_ms\"", "\"rejoin_ms\"", "\"unavailable_windows\"", "\"p99_ms\"", "\"lost\"", "\"duplicated\"", "\"gaps\"", "\"passed\""] {
            #expect(text.contains(key), "\(key)")
        }
        let back = try JSONDecoder().decode(Drill.Findings.self, from: data)
        #expect(back == original)
        #expect(back.passed)
    }

    @Test func aLossOrAGapFailsTheDrill() {
        #expect(findings().passed)
        let lost = findings(lost: 2)
        #expect(!lost.passed)
        #expect(lost.verdict.contains("2 acknowledged sends lost"))
        let gap = findings(gaps: 3)
        #expect(!gap.passed)
        #expect(gap.verdict.contains("3 messages missing"))
    }

    @Test func theTableHasARowPerRoundAndTotals() {
        let table = findings().table
        #expect(table.contains("drill-2"))
        #expect(table.contains("5,123"))
        #expect(table.contains("total"))
        #expect(table.contains("HTTP 503 ×10"))
        #expect(table.contains("a note"))
        #expect(table.contains("--seed 42"))
        #expect(table.contains("PASSED"))
    }

    @Test func sendCountsOfOneRound() {
        var before = Drill.SendCounts()
        before.acknowledged = 10
        before.attemptErrors = ["HTTP 503": 2]
        var after = before
        after.acknowledged = 25
        after.attemptErrors = ["HTTP 503": 5, "no answer": 1]
        let round = after.since(before)
        #expect(round.acknowledged == 15)
        #expect(round.attemptErrors == ["HTTP 503": 3, "no answer": 1])
    }
}

@Suite struct DrillConfigurationTests {
    @Test func validationNamesTheFlag() {
        #expect(throws: Never.self) { try Drill.Configuration().validate() }
        var configuration = Drill.Configuration()
        configuration.channels = 0
        #expect { try configuration.validate() } throws: { ($0 as? BenchError)?.description.contains("--channels") == true }
        configuration = Drill.Configuration()
        configuration.rate = .infinity
        #expect { try configuration.validate() } throws: { ($0 as? BenchError)?.description.contains("--rate") == true }
        configuration = Drill.Configuration()
        configuration.sendDeadline = 0
        #expect { try configuration.validate() } throws: { ($0 as? BenchError)?.description.contains("--send-deadline-ms") == true }
    }

    @Test func theSeedRepeatsTheDrill() {
        var a = Drill.SplitMix64(seed: 7)
        var b = Drill.SplitMix64(seed: 7)
        var c = Drill.SplitMix64(seed: 8)
        let first = (0..<5).map { _ in a.next() }
        #expect(first == (0..<5).map { _ in b.next() })
        #expect(first != (0..<5).map { _ in c.next() })
        for _ in 0..<1000 {
            let unit = a.unit()
            #expect(unit >= 0 && unit < 1)
        }
    }
}

@Suite struct DrillWireTests {
    @Test func readsTheAdminView() throws {
        let text = #"{"node":"chorus-1","nodes":[{"channel_actors":3,"name":"chorus-1","self":true,"status":"up","user_actors":2},{"channel_actors":null,"name":"chorus-3","self":false,"status":"down","user_actors":null}],"ring_epoch":1,"metadata":{"term":3,"leader":null,"role":"candidate","commit_index":4}}"#
        let view = try #require(Drill.AdminView.parse(text))
        #expect(view.node == "chorus-1")
        #expect(view.status(of: "chorus-3") == "down")
        #expect(view.status(of: "chorus-1") == "up")
        #expect(view.status(of: "chorus-9") == nil)
        #expect(Drill.AdminView.parse("not json") == nil)
    }

    @Test func readsAHistoryPage() throws {
        let text = #"""
            {"has_more":true,"messages":[
              {"attachments":[],"body":"t.r1.c0.1 drill message","channel_id":"9","created_at":1,"deleted":false,"edited_at":null,"id":"1001","inline_emotes":[],"reactions":[],"sender_id":"s","sender_name":"s","seq":12},
              {"attachments":[],"body":"t.r1.c0.2 edited","channel_id":"9","created_at":1,"deleted":false,"edited_at":2,"id":"1002","inline_emotes":[],"reactions":[{"count":1,"emote_asset_id":"777","user_ids":["s"]}],"sender_id":"s","sender_name":"s","seq":14}]}
            """#
        let page = try Drill.parseMessagePage(Data(text.utf8))
        #expect(page.hasMore)
        #expect(page.entries == [
            Drill.HistoryEntry(messageID: 1001, seq: 12, clientID: "t.r1.c0.1"),
            Drill.HistoryEntry(messageID: 1002, seq: 14, clientID: "t.r1.c0.2", edited: true, reacted: true),
        ])
        #expect(throws: (any Error).self) { try Drill.parseMessagePage(Data(#"{"messages":[{"id":"x","seq":1,"body":"","reactions":[]}],"has_more":false}"#.utf8)) }
    }
}
