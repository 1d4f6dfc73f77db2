@testable import ChorusBench
import Foundation
import Testing

@Suite struct MeasurementTests {
    @Test func percentilesOfKnownLatencies() {
        var histogram = LatencyHistogram()
        for ms in 1...1000 { histogram.record(nanoseconds: UInt64(ms) * 1_000_000) }
        let summary = histogram.summary
        #expect(summary.count == 1000)
        #expect(abs(summary.p50 - 500) <= 1)
        #expect(abs(summary.p99 - 990) <= 1)
        #expect(abs(summary.p999 - 999) <= 1)
        #expect(abs(summary.max - 1000) <= 1)
        #expect(LatencyHistogram().summary == .empty)
    }

    @Test func procStatFieldsAfterTheCommandName() {
        let line = "1234 (a (weird) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0 100 1000 10"
        #expect(CPUTime.parseStat(line) == 325)
        #expect(CPUTime.parseStat("garbage") == nil)
        #expect(CPUTime.parseStat("1 (x) S 1 2") == nil)
    }

    @Test func residentMemoryFromProcStatus() throws {
        let status = "Name:\tchorus\nVmPeak:\t  900000 kB\nVmHWM:\t  600000 kB\nVmRSS:\t  512000 kB\nThreads:\t4\n"
        #expect(ResidentMemory.parseStatus(status) == 512_000 * 1024)
        #expect(ResidentMemory.parseStatus("VmRSS:\t12 MB\n") == nil)
        #expect(ResidentMemory.parseStatus("Name:\tx\n") == nil)
        #expect(try #require(ResidentMemory.process(getpid())) > 1_000_000)
        let memory = ServerMemory(before: 100 << 20, afterJoins: 110 << 20, afterSockets: 130 << 20, sockets: 1024)
        #expect(memory.perSocket == 20 * 1024 && memory.perUser == 30 * 1024)
    }

    @Test func readsThisProcessFromProc() throws {
        let seconds = try #require(CPUTime.process(getpid()))
        #expect(seconds >= 0)
        #expect(CPUTime.process(-5) == nil)
    }

    @Test("context switches: voluntary plus involuntary of each thread; a thread that sleeps adds at least one")
    func contextSwitchesFromProc() async throws {
        let status = "Name:\tchorus\nThreads:\t4\nvoluntary_ctxt_switches:\t120\nnonvoluntary_ctxt_switches:\t7\n"
        #expect(ContextSwitches.parseStatus(status) == 127)
        #expect(ContextSwitches.parseStatus("Name:\tx\n") == nil)
        #expect(ContextSwitches.parseStatus("voluntary_ctxt_switches:\tmany\n") == nil)
        #expect(ContextSwitches.process(-5) == nil)
        let before = try #require(ContextSwitches.process(getpid()))
        // Each blocking wait takes a thread off its core at least once.
        for _ in 0..<5 { usleep(1_000) }
        let after = try #require(ContextSwitches.process(getpid()))
        #expect(after >= before + 5)
    }

    @Test func reportNumbers() {
        #expect(Report.grouped(0) == "0")
        #expect(Report.grouped(999) == "999")
        #expect(Report.grouped(1_234_567) == "1,234,567")
        #expect(Report.grouped(-4_000) == "-4,000")
        #expect(Report.fixed(3.14159, 2) == "3.14")
        #expect(Report.fixed(.nan, 2, width: 4) == "   -")
    }

    @Test func workloadValidationNamesTheFlag() {
        var workload = FanoutWorkload()
        #expect(throws: Never.self) { try workload.validate() }
        workload.payloadBytes = 10
        #expect { try workload.validate() } throws: { ($0 as? BenchError)?.description.contains("--payload") == true }
        workload = FanoutWorkload()
        workload.rate = .infinity
        #expect { try workload.validate() } throws: { ($0 as? BenchError)?.description.contains("--rate") == true }
        workload = FanoutWorkload()
        workload.channels = 1000
        workload.subscribersPerChannel = 1000
        #expect { try workload.validate() } throws: { ($0 as? BenchError)?.description.contains("at most 200000") == true }
    }

    @Test func endpoints() throws {
        #expect(try Endpoint(url: "http://127.0.0.1:8080") == Endpoint(host: "127.0.0.1", port: 8080))
        #expect(try Endpoint(url: "ws://localhost:9001/mqtt") == Endpoint(host: "localhost", port: 9001, path: "/mqtt"))
        #expect(try Endpoint(url: "http://example.com") == Endpoint(host: "example.com", port: 80))
        for bad in ["https://x:1", "127.0.0.1:80", "http://:80", "http://x:0", "http://x:port"] {
            #expect(throws: BenchError.self) { try Endpoint(url: bad) }
        }
    }
}

@Suite struct SweepTests {
    func result(rate: Double, delivered: Int, p99: Double, lost: Int = 0) -> FanoutResult {
        var workload = FanoutWorkload()
        workload.rate = rate
        workload.subscribersPerChannel = 10
        return FanoutResult(
            target: "chorus", endpoints: [], workload: workload, measuredSeconds: 10, sent: 0, acknowledged: 0, sendErrors: [:],
            backlogSkipped: 0, delivered: delivered,
            endToEnd: LatencySummary(count: 1, p50: 1, p90: 1, p99: p99, p999: p99, max: p99, mean: 1), sendAck: .empty,
            delivery: DeliveryCheck(subscribers: 10, lost: lost), disconnects: 0, serverCPUSeconds: 2, loadGeneratorCPUSeconds: 1)
    }

    @Test func theKneeIsLatencyDeliveryRateOrLoss() {
        #expect(Sweep.verdict(result(rate: 100, delivered: 10_000, p99: 5), p99LimitMs: 50) == nil)
        #expect(Sweep.verdict(result(rate: 100, delivered: 10_000, p99: 80), p99LimitMs: 50)?.contains("p99") == true)
        #expect(Sweep.verdict(result(rate: 100, delivered: 9_000, p99: 5), p99LimitMs: 50)?.contains("delivered") == true)
        #expect(Sweep.verdict(result(rate: 100, delivered: 10_000, p99: 5, lost: 3), p99LimitMs: 50)?.contains("3 lost") == true)
    }

    @Test func costPerMillionDeliveriesAndKeepingUp() {
        var r = result(rate: 100, delivered: 10_000, p99: 5)
        #expect(r.deliveredPerSecond == 1_000)
        #expect(r.serverCPUPerMillion == 200)
        #expect(r.serverContextSwitchesPerMessage == nil)
        r.serverContextSwitches = 15_000  // 1,000 messages to 10 subscribers each
        #expect(r.serverContextSwitchesPerMessage == 15)
        #expect(Report.table(r).contains("15.0 context switches per message"))
        #expect(r.keptUp)
        #expect(!result(rate: 100, delivered: 9_000, p99: 5).keptUp)
    }

    @Test("the cost above the server's idle cost")
    func costAboveIdle() {
        var r = result(rate: 100, delivered: 10_000, p99: 5)  // 2 CPU-seconds over 10 s
        #expect(r.serverCPUPerMillionAboveIdle == nil)
        r.serverIdle = ServerIdle(cpuSecondsPerSecond: 0.05, contextSwitchesPerSecond: 600)
        #expect(abs(r.serverCPUPerMillionAboveIdle! - 150) < 1e-9)  // (2 - 0.5) s per 10,000 deliveries
        #expect(Report.table(r).contains("50.0 ms of CPU and 600 context switches a second"))
        #expect(Report.table(r).contains("above that, 150.00 s per million deliveries"))
        r.serverIdle = ServerIdle(cpuSecondsPerSecond: 0.5, contextSwitchesPerSecond: 600)  // a noisy idle second
        #expect(r.serverCPUPerMillionAboveIdle == 0)
    }

    @Test func resultsSurviveJSON() throws {
        var r = result(rate: 100, delivered: 10_000, p99: 5)
        r.serverIdle = ServerIdle(cpuSecondsPerSecond: 0.05, contextSwitchesPerSecond: 600)
        r.serverContextSwitches = 15_000
        let data = try JSONEncoder().encode(BenchReport(runs: [r], kneeRate: 100))
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#""server_cpu_s_per_million_deliveries":200"#))
        #expect(text.contains(#""server_context_switches":15000"#) && text.contains(#""server_context_switches_per_message":15"#))
        #expect(text.contains(#""p99_9_ms":5"#))
        let back = try JSONDecoder().decode(BenchReport.self, from: data)
        #expect(back.runs.first?.delivered == 10_000)
        #expect(back.runs.first?.serverContextSwitches == 15_000)
        #expect(text.contains(#""server_idle":{"#) && text.contains(#""context_switches_per_s":600"#))
        #expect(back.runs.first?.serverIdle == r.serverIdle)
        #expect(back.kneeRate == 100)
        r.serverThreads = ServerThreads(eventLoopSeconds: 0.75, walWriterSeconds: nil)
        let threads = String(decoding: try JSONEncoder().encode(r), as: UTF8.self)
        #expect(threads.contains(#""server_threads":{"event_loops_s":0.75}"#))
        #expect(try JSONDecoder().decode(FanoutResult.self, from: Data(threads.utf8)).serverThreads == r.serverThreads)
    }

    @Test("a server's CPU by thread: event loops and the WAL writer by name, each thread from its first sample, the rest in the report")
    func serverThreads() {
        typealias T = ThreadCPU.Thread
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let start: [Int32: [Int32: T]] = [
            1: [10: T(name: "NIO-SGLTN-1-#1", ticks: 100), 11: T(name: "NIO-SGLTN-1-#2", ticks: 50), 12: T(name: "chorus-wal", ticks: 7), 13: T(name: "oot.default-qos", ticks: 900)],
            2: [20: T(name: "NIO-ELT-0-#0", ticks: 5)],
        ]
        let end: [Int32: [Int32: T]] = [
            // Thread 11 exited (its time goes with it); 14 was born (counted from zero); 13 is neither group.
            1: [10: T(name: "NIO-SGLTN-1-#1", ticks: 130), 12: T(name: "chorus-wal", ticks: 17), 13: T(name: "oot.default-qos", ticks: 990), 14: T(name: "NIO-SGLTN-1-#3", ticks: 4)],
            2: [20: T(name: "NIO-ELT-0-#0", ticks: 25)],
        ]
        let threads = ServerThreads(from: start, to: end)
        #expect(threads.eventLoopSeconds == (30 + 4 + 20) / ticks)
        #expect(threads.walWriterSeconds == 10 / ticks)
        // A peer broker: no thread of either kind.
        let peer = ServerThreads(from: [3: [30: T(name: "mosquitto", ticks: 1)]], to: [3: [30: T(name: "mosquitto", ticks: 9)]])
        #expect(peer == ServerThreads(eventLoopSeconds: nil, walWriterSeconds: nil))
        var peerResult = result(rate: 100, delivered: 10_000, p99: 5)
        peerResult.serverThreads = peer
        #expect(!Report.table(peerResult).contains("server threads"), "no split for threads it does not know")
        var r = result(rate: 100, delivered: 10_000, p99: 5)  // 2 CPU-seconds
        r.serverThreads = ServerThreads(eventLoopSeconds: 0.8, walWriterSeconds: 0.2)
        #expect(Report.table(r).contains("event loops 40%, WAL writer 10%, the rest 50%"))
        // This process's own threads, from /proc.
        let own = ThreadCPU.process(getpid())
        #expect((own?.count ?? 0) >= 1 && own?.values.allSatisfy { !$0.name.isEmpty } == true)
    }

    @Test func ratesMustBePositiveAndRising() throws {
        #expect(try Sweep.parseRates("100, 200,400") == [100, 200, 400])
        for bad in ["", "100,", "a", "0", "200,100", "100,100", "-5"] {
            #expect(throws: BenchError.self) { try Sweep.parseRates(bad) }
        }
    }

    @Test func comparisonPrintsBothRowsAndRatios() {
        var peer = result(rate: 100, delivered: 10_000, p99: 10)
        peer.target = "mosquitto"
        peer.serverCPUSeconds = 1
        peer.serverContextSwitches = 30_000
        var chorus = result(rate: 100, delivered: 10_000, p99: 5)
        chorus.serverContextSwitches = 10_000
        let text = Report.comparison(chorus: chorus, peer: peer)
        #expect(text.contains("context switches per message 3.00×"))
        #expect(text.contains("chorus"))
        #expect(text.contains("mosquitto"))
        #expect(text.contains("server CPU per delivery 0.50×"))
        #expect(text.contains("p99 2.00×"))
    }
}
