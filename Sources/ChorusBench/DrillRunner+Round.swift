import Foundation

/// One round: load, a fault at a random moment, detection, healing, rejoin, then the checks.
extension Drill.Session {
    /// Runs round `round`; returns its result and the checks over everything sent so far.
    mutating func runRound(_ round: Int) async throws -> (Drill.RoundResult, CheckOutcome) {
        let c = configuration
        let label = "round \(round)/\(c.rounds)"
        let countsBefore = log.counts
        let loadStart = monotonicNanos()
        let loadUntil = loadStart + Self.nanos(c.warmup + c.duration)
        status.set("\(label): warm-up")
        let load = Drill.Load()
        let (sender, rooms, runID, first) = (makeSender(), self.rooms, self.runID, nextIndex)
        let loadTask = Task {
            await load.run(
                sender: sender, rooms: rooms, rate: c.rate, round: round, runID: runID, firstIndex: first, editFraction: c.editFraction,
                reactionFraction: c.reactionFraction)
        }
        var notes: [String] = []
        var faultAt: UInt64 = 0
        var target = 0
        var detectionMs: Double?
        var rejoinedAt: UInt64?
        var healAt: UInt64 = 0
        do {
            // The fault falls at a random moment of the first half of the round's duration.
            try await Task.sleep(for: Drill.duration(c.warmup + rng.unit() * c.duration / 2))
            let victim = await chooseTarget()
            let targetName = names[victim]
            target = victim
            note("\(label): \(c.fault.rawValue) \(targetName) at \(Report.fixed(log.seconds(monotonicNanos()), 1)) s")
            let injectedAt = monotonicNanos()
            faultAt = injectedAt
            switch c.fault {
            case .kill: try await nodes.killNode(victim)
            case .pause: try await nodes.pauseNode(victim)
            case .partition: try await isolate(victim, true)
            }
            let done = switch c.fault {
            case .kill: "killed"
            case .pause: "paused"
            case .partition: "cut off from its peers"
            }
            status.set("\(label): \(targetName) \(done), waiting for the survivors to mark it down")
            let survivors = names.indices.filter { $0 != victim }
            let (connections, token) = (self.connections, serverToken)
            let detectionTimeout = c.fault == .kill ? Self.detectionTimeout : c.pauseSeconds
            let detection = Task {
                await Drill.pollViews(connections: connections, nodes: survivors, token: token, timeout: detectionTimeout) {
                    $0.status(of: targetName) == "down"
                }
            }
            if c.fault == .kill {
                detectionMs = Self.milliseconds(from: injectedAt, untilAll: await detection.value)
                status.set("\(label): \(targetName) killed" + (detectionMs.map { ", marked down after \(Report.fixed($0 / 1000, 2)) s" } ?? ""))
                // The node stays down until the round's duration has passed.
                try await Drill.sleep(until: loadUntil)
                status.set("\(label): restarting \(targetName)")
                healAt = monotonicNanos()
                try await nodes.restartNode(victim)
            } else {
                try await Drill.sleep(until: injectedAt + Self.nanos(c.pauseSeconds))
                healAt = monotonicNanos()
                if c.fault == .partition { try await isolate(victim, false) } else { try await nodes.resumeNode(victim) }
                detectionMs = Self.milliseconds(from: injectedAt, untilAll: await detection.value)
            }
            if detectionMs == nil {
                let within = c.fault == .kill ? "within \(Int(Self.detectionTimeout)) s" : "during the \(Report.fixed(c.pauseSeconds, 1)) s \(c.fault.rawValue)"
                notes.append("not every survivor marked \(targetName) down \(within)")
            }
            status.set("\(label): waiting for \(targetName) to rejoin")
            rejoinedAt = await rejoin(target: victim, round: round)
            if rejoinedAt == nil { notes.append("\(targetName) did not rejoin within \(Int(Self.rejoinTimeout)) s") }
            if !rooms.contains(where: { $0.owner == victim }) {
                notes.append("\(targetName) owns none of the drill's channels: its rejoin was measured without a send")
            }
            faults.append(
                Drill.FaultMark(round: round, fault: c.fault, target: targetName, startS: log.seconds(injectedAt), endS: rejoinedAt.map { log.seconds($0) }))
            // The load goes on for a second after the rejoin, so every channel gets a send after the fault.
            status.set("\(label): \(targetName) is back; load continues")
            try await Drill.sleep(until: max(loadUntil, (rejoinedAt ?? monotonicNanos()) + 1_000_000_000))
        } catch {
            load.stop()
            _ = await loadTask.value
            throw error
        }
        load.stop()
        nextIndex = await loadTask.value
        let loadEnd = monotonicNanos()

        // The unavailable windows, from the acknowledgements of this round's load.
        let (start, end) = (log.seconds(loadStart), log.seconds(loadEnd))
        let successes = log.successes.map { times in times.filter { $0 >= start && $0 <= end } }
        let windows = Drill.Windows.summary(Drill.Windows.compute(successes: successes, faultAt: log.seconds(faultAt)))
        if windows.unrecovered > 0 {
            notes.append("\(windows.unrecovered) channels had no acknowledged send after the fault before the load stopped")
        }

        // Quiet for a moment, then the checks.
        status.set("\(label): checking every node's history and every stream")
        try await Task.sleep(for: .seconds(1))
        let (thisRound, cumulative) = await check(round: round)
        let result = Drill.RoundResult(
            round: round, fault: c.fault, target: names[target], faultAtS: log.seconds(faultAt), recoveredAtS: rejoinedAt.map { log.seconds($0) },
            detectionMs: detectionMs, rejoinMs: rejoinedAt.map { Double($0 > healAt ? $0 - healAt : 0) / 1e6 }, windows: windows,
            sends: log.counts.since(countsBefore), history: thisRound.history, stream: thisRound.stream, unreadableViews: thisRound.unreadable,
            divergentChannels: thisRound.divergent, notes: notes)
        status.set("\(label): done")
        return (result, cumulative)
    }

    /// Cuts node `node` off from its peers (`isolated`) or heals it, through its admin API (a
    /// partition: its clients still reach it; docs/drill.md).
    func isolate(_ node: Int, _ isolated: Bool) async throws {
        let reply = try await connections.request(
            node: node, .POST, "/v1/admin/faults", token: serverToken, json: "{\"isolated\": \(isolated)}", timeout: .seconds(10))
        guard reply.status == 200 else {
            throw BenchError("\(names[node]) refused POST /v1/admin/faults (\(reply.status) \(reply.text.prefix(200))): \(Drill.partitionHow)")
        }
    }

    /// Milliseconds from `start` until the last of `times`; nil if they did not all come.
    static func milliseconds(from start: UInt64, untilAll times: [UInt64]?) -> Double? {
        guard let last = times?.max() else { return nil }
        return last > start ? Double(last - start) / 1e6 : 0
    }

    /// The round's target: any node, the owner of the room with the most acknowledged sends, or
    /// the metadata log's leader (any node when no node names one).
    private mutating func chooseTarget() async -> Int {
        switch configuration.target {
        case .random:
            return Int(rng.next() % UInt64(names.count))
        case .busiest:
            let counts = log.ackCounts
            let busiest = counts.indices.max { counts[$0] < counts[$1] } ?? 0
            return rooms.isEmpty ? 0 : rooms[busiest].owner
        case .leader:
            for node in names.indices {
                guard let reply = try? await connections.request(node: node, .GET, "/v1/admin/cluster", token: serverToken, timeout: .seconds(2)),
                    reply.status == 200, let leader = Drill.AdminView.parse(reply.text)?.metadata?.leader, let index = names.firstIndex(of: leader)
                else { continue }
                return index
            }
            return Int(rng.next() % UInt64(names.count))
        }
    }

    /// When the target is back: every node's admin view shows it `up`, and a send to a room it owns
    /// (through another node) is acknowledged. Nil if that does not happen within the rejoin timeout.
    private func rejoin(target: Int, round: Int) async -> UInt64? {
        let targetName = names[target]
        let up = await Drill.pollViews(
            connections: connections, nodes: Array(names.indices), token: serverToken, timeout: Self.rejoinTimeout,
            { $0.status(of: targetName) == "up" })
        guard let up else { return nil }
        guard let room = rooms.first(where: { $0.owner == target }) else { return up.max() }
        let sender = makeSender()
        let deadline = monotonicNanos() + Self.nanos(Self.rejoinTimeout)
        var probe = 0
        while monotonicNanos() < deadline {
            let clientID = "\(runID).r\(round).probe\(probe)"
            if await sender.send(room: room, clientID: clientID, round: round, home: (target + 1) % names.count) != nil {
                return monotonicNanos()
            }
            probe += 1
        }
        return nil
    }
}
