import Foundation

/// Sweep mode: the same workload at rising offered rates, until the knee.
public enum Sweep {
    /// Why a run is past the knee, or nil if it kept up: p99 over the limit, deliveries behind the
    /// offered load, or anything lost, failed or disconnected.
    public static func verdict(_ result: FanoutResult, p99LimitMs: Double) -> String? {
        if !result.delivery.passed { return "delivery check failed (\(result.delivery.summary))" }
        if result.disconnects > 0 { return "\(result.disconnects) subscribers disconnected" }
        if !result.sendErrors.isEmpty || result.backlogSkipped > 0 { return "sends failed or fell behind" }
        if result.endToEnd.p99 > p99LimitMs { return "p99 \(Report.fixed(result.endToEnd.p99, 1)) ms is over \(Report.fixed(p99LimitMs, 1)) ms" }
        if result.deliveredPerSecond < 0.95 * result.workload.expectedDeliveryRate {
            return "delivered \(Report.grouped(Int(result.deliveredPerSecond))) of \(Report.grouped(Int(result.workload.expectedDeliveryRate))) expected per second"
        }
        return nil
    }

    /// Parses `1000,2000,4000`: positive, strictly increasing rates.
    public static func parseRates(_ text: String) throws(BenchError) -> [Double] {
        var rates: [Double] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let rate = Double(part.trimmingCharacters(in: .whitespaces)), rate.isFinite, rate > 0 else {
                throw BenchError("--rates must be a comma-separated list of positive numbers, e.g. 1000,2000,4000 (got \"\(part)\")")
            }
            guard rates.last.map({ rate > $0 }) ?? true else { throw BenchError("--rates must increase: \(text)") }
            rates.append(rate)
        }
        return rates
    }
}

/// What `--json` writes: every run, and for a sweep the knee.
public struct BenchReport: Sendable, Codable {
    public var runs: [FanoutResult]
    /// The highest rate that kept up, and why the next one did not (sweeps only).
    public var kneeRate: Double?
    public var kneeReason: String?
    public var p99LimitMs: Double?

    public init(runs: [FanoutResult], kneeRate: Double? = nil, kneeReason: String? = nil, p99LimitMs: Double? = nil) {
        self.runs = runs
        self.kneeRate = kneeRate
        self.kneeReason = kneeReason
        self.p99LimitMs = p99LimitMs
    }

    enum CodingKeys: String, CodingKey { case runs, kneeRate = "knee_rate", kneeReason = "knee_reason", p99LimitMs = "p99_limit_ms" }
}
