#if canImport(Glibc)
import Glibc
#endif

/// CPU seconds (user + system) this process has used.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1_000_000 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// One benchmark's result.
struct Result {
    var name: String
    var operations: Int
    var wallSeconds: Double
    var cpuSeconds: Double

    var perSecond: Double { Double(operations) / wallSeconds }
    var cpuMicrosPerOperation: Double { cpuSeconds / Double(operations) * 1_000_000 }
}

/// Runs `body` (which performs `operations` operations) after one warm-up run; reports wall and CPU time.
///
/// `body` runs in a detached task: top-level code is on the main actor, and calling actors from
/// there would measure main-actor hops instead of Chorus.
func measure(_ name: String, operations: Int, _ body: @escaping @Sendable () async throws -> Void) async throws -> Result {
    try await Task.detached(operation: body).value  // warm-up
    let clock = ContinuousClock()
    let cpuStart = processCPUSeconds()
    let elapsed = try await clock.measure { try await Task.detached(operation: body).value }
    let cpu = processCPUSeconds() - cpuStart
    let (seconds, attoseconds) = elapsed.components
    return Result(name: name, operations: operations, wallSeconds: Double(seconds) + Double(attoseconds) / 1e18, cpuSeconds: cpu)
}
