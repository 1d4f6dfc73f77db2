extension Drill.Findings {
    /// The final report: a row per round and the totals, the counters, and the verdict.
    public var table: String {
        let header = [
            "round", "fault", "target", "detect ms", "unavail p50", "p99", "max ms", "unrecov", "rejoin ms",
            "acked", "lost", "dup", "order", "gaps", "stream dup",
        ]
        func ms(_ value: Double?) -> String { value.map { Report.grouped(Int($0.rounded())) } ?? "-" }
        var lines = [header]
        for r in rounds {
            lines.append([
                "\(r.round)", r.fault.rawValue, r.target, ms(r.detectionMs), ms(r.windows.p50Ms), ms(r.windows.p99Ms), ms(r.windows.maxMs),
                "\(r.windows.unrecovered)", ms(r.rejoinMs), Report.grouped(r.history.acknowledged), "\(r.history.lost)",
                "\(r.history.duplicated)", "\(r.history.outOfOrder)", "\(r.stream.gaps)", "\(r.stream.duplicates)",
            ])
        }
        let t = totals
        lines.append([
            "total", "", "", "", "", "", "", "", "", Report.grouped(t.history.acknowledged), "\(t.history.lost)", "\(t.history.duplicated)",
            "\(t.history.outOfOrder)", "\(t.stream.gaps)", "\(t.stream.duplicates)",
        ])
        let widths = header.indices.map { column in lines.map { $0[column].count }.max() ?? 0 }
        var text = lines.map { line in
            line.enumerated().map { column, cell in
                column < 3 ? cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n")

        text += "\n\nsends         " + t.sends.summary
        text += "\nedits         \(Report.grouped(t.sends.edits)) acknowledged, \(Report.grouped(t.sends.editsFailed)) failed; "
            + "reactions \(Report.grouped(t.sends.reactions)) acknowledged, \(Report.grouped(t.sends.reactionsFailed)) failed"
        text += "\nhistory       " + t.history.summary
            + " (every node's view of \(configuration.channels) channels; \(t.unreadableViews) unreadable, \(t.divergentChannels) channels where nodes disagree)"
        text += "\nstreams       " + t.stream.summary + "; \(Report.grouped(t.reconnections)) reconnections, \(Report.grouped(t.reloads)) history reloads"
        for r in rounds {
            for note in r.notes { text += "\nround \(r.round)       \(note)" }
        }
        text += "\nseed          \(configuration.seed) (repeat with --seed \(configuration.seed))"
        text += "\n\n" + verdict
        return text
    }

    /// One line: passed, or what failed.
    public var verdict: String {
        guard !passed else { return "PASSED: nothing acknowledged was lost or duplicated, and every stream was gap-free" }
        var problems: [String] = []
        let history = rounds.map(\.history).reduce(totals.history) { worst($0, $1) }
        let stream = rounds.map(\.stream).reduce(totals.stream) { worst($0, $1) }
        if history.lost > 0 { problems.append("\(history.lost) acknowledged sends lost") }
        if history.duplicated > 0 { problems.append("\(history.duplicated) duplicated") }
        if history.outOfOrder > 0 { problems.append("\(history.outOfOrder) out of order") }
        if history.lostEdits > 0 || history.lostReactions > 0 {
            problems.append("\(history.lostEdits) acknowledged edits and \(history.lostReactions) reactions lost")
        }
        if stream.gaps > 0 { problems.append("\(stream.gaps) messages missing from WebSocket streams") }
        if stream.duplicates > 0 { problems.append("\(stream.duplicates) delivered twice") }
        if stream.outOfOrder > 0 { problems.append("\(stream.outOfOrder) delivered out of order") }
        if stream.unexpected > 0 { problems.append("\(stream.unexpected) delivered that are not in the history") }
        let unreadable = max(totals.unreadableViews, rounds.map(\.unreadableViews).max() ?? 0)
        if unreadable > 0 { problems.append("\(unreadable) history views could not be read") }
        return "FAILED: " + problems.joined(separator: ", ")
    }

    private func worst(_ a: Drill.HistoryCheck, _ b: Drill.HistoryCheck) -> Drill.HistoryCheck {
        Drill.HistoryCheck.worst([a, b]) ?? a
    }

    private func worst(_ a: Drill.StreamCheck, _ b: Drill.StreamCheck) -> Drill.StreamCheck {
        Drill.StreamCheck(
            subscribers: max(a.subscribers, b.subscribers), gaps: max(a.gaps, b.gaps), duplicates: max(a.duplicates, b.duplicates),
            outOfOrder: max(a.outOfOrder, b.outOfOrder), unexpected: max(a.unexpected, b.unexpected))
    }
}

extension Drill.RoundResult {
    /// A short line after each round, while the drill goes on.
    public var line: String {
        func ms(_ value: Double?) -> String { value.map { Report.grouped(Int($0.rounded())) + " ms" } ?? "-" }
        return "round \(round): \(fault.rawValue) \(target): detected after \(ms(detectionMs)), channels unavailable p50 \(ms(windows.p50Ms)) "
            + "p99 \(ms(windows.p99Ms)) max \(ms(windows.maxMs)), rejoined after \(ms(rejoinMs)); "
            + "\(history.summary); \(stream.summary)"
    }
}
