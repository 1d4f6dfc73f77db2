import Foundation
import Histogram

/// Latency percentiles of one run, in milliseconds.
public struct LatencySummary: Sendable, Equatable, Codable {
    public var count: UInt64
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var p999: Double
    public var max: Double
    public var mean: Double

    public static let empty = LatencySummary(count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0)

    public init(count: UInt64, p50: Double, p90: Double, p99: Double, p999: Double, max: Double, mean: Double) {
        self.count = count
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.p999 = p999
        self.max = max
        self.mean = mean
    }

    enum CodingKeys: String, CodingKey { case count, p50 = "p50_ms", p90 = "p90_ms", p99 = "p99_ms", p999 = "p99_9_ms", max = "max_ms", mean = "mean_ms" }
}

/// Latencies in microseconds, from 1 µs to 10 minutes, to three significant digits (HdrHistogram).
public struct LatencyHistogram: Sendable {
    public private(set) var histogram = Histogram<UInt64>(
        lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)

    public init() {}

    /// Records one latency given in nanoseconds (clamped into the trackable range).
    public mutating func record(nanoseconds: UInt64) {
        let micros = Swift.min(Swift.max(nanoseconds / 1000, 1), histogram.highestTrackableValue)
        _ = histogram.record(micros)
    }

    public mutating func add(_ other: LatencyHistogram) {
        histogram.add(other.histogram)
    }

    public mutating func reset() { histogram.reset() }

    public var count: UInt64 { histogram.totalCount }

    public var summary: LatencySummary {
        guard histogram.totalCount > 0 else { return .empty }
        func ms(_ micros: UInt64) -> Double { Double(micros) / 1000 }
        return LatencySummary(
            count: histogram.totalCount,
            p50: ms(histogram.valueAtPercentile(50)), p90: ms(histogram.valueAtPercentile(90)),
            p99: ms(histogram.valueAtPercentile(99)), p999: ms(histogram.valueAtPercentile(99.9)),
            max: ms(histogram.max), mean: histogram.mean / 1000)
    }
}

/// CPU time of processes, from the kernel's accounting.
public enum CPUTime {
    /// User plus system CPU seconds of process `pid` (`/proc/<pid>/stat`), nil if it is gone.
    public static func process(_ pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let ticks = parseStat(text) else { return nil }
        return Double(ticks) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line, in clock ticks. The command name
    /// (field 2) is in parentheses and may hold spaces or parentheses, so fields are counted after the last `)`.
    public static func parseStat(_ line: String) -> UInt64? {
        guard let close = line.lastIndex(of: ")") else { return nil }
        let fields = line[line.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); utime is field 14, stime field 15.
        guard fields.count > 12, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return nil }
        return user + system
    }

    /// User plus system CPU seconds of this process so far.
    public static func current() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1_000_000 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }
}

/// CPU time of a process's threads, each with its name (`/proc/<pid>/task/*/comm` and `stat`).
public enum ThreadCPU {
    public struct Thread: Sendable, Equatable {
        public var name: String
        /// utime + stime in clock ticks.
        public var ticks: UInt64

        public init(name: String, ticks: UInt64) {
            self.name = name
            self.ticks = ticks
        }
    }

    /// Every thread of process `pid` by thread id, nil if the process is gone.
    public static func process(_ pid: Int32) -> [Int32: Thread]? {
        guard let tids = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return nil }
        var threads: [Int32: Thread] = [:]
        for tid in tids {
            let path = "/proc/\(pid)/task/\(tid)/"
            // A thread that exits between the listing and the read is skipped.
            guard let id = Int32(tid), let name = try? String(contentsOfFile: path + "comm", encoding: .utf8),
                let stat = try? String(contentsOfFile: path + "stat", encoding: .utf8), let ticks = CPUTime.parseStat(stat)
            else { continue }
            threads[id] = Thread(name: name.trimmingCharacters(in: .newlines), ticks: ticks)
        }
        return threads
    }

    /// CPU seconds that the threads whose names pass `named` spent between two samples of one
    /// process; nil when no such thread is in `end`. A thread born between the samples counts
    /// from zero; one that exited is missing from `end`, and with it its time.
    public static func seconds(from start: [Int32: Thread], to end: [Int32: Thread], named: (String) -> Bool) -> Double? {
        let matching = end.filter { named($0.value.name) }
        guard !matching.isEmpty else { return nil }
        let ticks = matching.reduce(UInt64(0)) { sum, entry in
            sum + entry.value.ticks - min(entry.value.ticks, start[entry.key]?.ticks ?? 0)
        }
        return Double(ticks) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

/// Context switches of processes: each time one of their threads left its core, waiting (a lock,
/// a sleep, I/O) or preempted. On a shared machine they vary far less between runs than CPU
/// time does, and most of a request's CPU beyond its own work is paid per switch.
public enum ContextSwitches {
    /// Voluntary plus involuntary switches of every thread of process `pid` now
    /// (`/proc/<pid>/task/*/status`), nil if it is gone. A thread that exits takes its count with it.
    public static func process(_ pid: Int32) -> Int? {
        guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return nil }
        return threads.reduce(0) { total, thread in
            let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/status", encoding: .utf8)
            return total + (text.flatMap(parseStatus) ?? 0)
        }
    }

    /// `voluntary_ctxt_switches` plus `nonvoluntary_ctxt_switches` of a `status` file.
    public static func parseStatus(_ text: String) -> Int? {
        var total: Int?
        for line in text.split(separator: "\n") where line.hasPrefix("voluntary_ctxt_switches:") || line.hasPrefix("nonvoluntary_ctxt_switches:") {
            guard let count = Int(line.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "") else { return nil }
            total = (total ?? 0) + count
        }
        return total
    }
}

/// The load generator's monotonic clock in nanoseconds; payloads carry it, so sender and subscriber agree.
@inline(__always)
public func monotonicNanos() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

/// Resident memory of processes, from the kernel.
public enum ResidentMemory {
    /// The resident set size of process `pid` in bytes (`VmRSS` in `/proc/<pid>/status`), nil if it is gone.
    public static func process(_ pid: Int32) -> Int? {
        (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)).flatMap(parseStatus)
    }

    /// `VmRSS` of a `/proc/<pid>/status` text, in bytes.
    public static func parseStatus(_ text: String) -> Int? {
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return nil }
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count == 3, fields[2] == "kB", let kilobytes = Int(fields[1]) else { return nil }
        return kilobytes * 1024
    }
}

/// The server's resident memory at three points of a run's setup: before it, once every channel
/// has its members, and once every subscriber's socket is open (and a second has passed).
public struct ServerMemory: Sendable, Codable, Equatable {
    public var before: Int
    public var afterJoins: Int
    public var afterSockets: Int
    public var sockets: Int

    enum CodingKeys: String, CodingKey {
        case before = "before_bytes", afterJoins = "after_joins_bytes", afterSockets = "after_sockets_bytes", sockets
    }

    /// Bytes per open socket alone (its user and memberships already existed).
    public var perSocket: Double { Double(afterSockets - afterJoins) / Double(max(sockets, 1)) }

    /// Bytes per socket with its user and membership (what an idle connected user costs).
    public var perUser: Double { Double(afterSockets - before) / Double(max(sockets, 1)) }
}
