import Synchronization

extension Drill {
    /// Everything the drill's sends produced: counters, the acknowledgements each channel's history must
    /// hold, each channel's success times (for the windows) and every send's latency (for the timeline).
    /// Sends run on many tasks, so it is one `Mutex`; a drill sends hundreds per second, not millions.
    final class SendLog: Sendable {
        private struct State {
            var counts = SendCounts()
            /// Per room: client id → its acknowledgement.
            var acks: [[String: Ack]]
            /// Per room: when each 201 arrived (seconds since the drill started).
            var successes: [[Double]]
            var samples: [Timeline.Sample] = []
        }

        /// The monotonic time the drill started at.
        let origin: UInt64
        private let state: Mutex<State>

        init(rooms: Int, origin: UInt64) {
            self.origin = origin
            self.state = Mutex(State(acks: Array(repeating: [:], count: rooms), successes: Array(repeating: [], count: rooms)))
        }

        /// Seconds since the drill started.
        func seconds(_ nanos: UInt64) -> Double {
            nanos > origin ? Double(nanos - origin) / 1e9 : 0
        }

        func started() {
            state.withLock { $0.counts.started += 1 }
        }

        func attemptFailed(_ reason: String) {
            state.withLock { $0.counts.attemptErrors[reason, default: 0] += 1 }
        }

        func acknowledged(_ ack: Ack, room: Int, startedAt: UInt64, attempts: Int) {
            let now = monotonicNanos()
            let sample = Timeline.Sample(at: seconds(now), latencyMs: now > startedAt ? Double(now - startedAt) / 1e6 : 0)
            state.withLock { s in
                s.counts.acknowledged += 1
                s.counts.attempts += attempts
                if attempts > 1 { s.counts.retried += 1 }
                s.acks[room][ack.clientID] = ack
                s.successes[room].append(sample.at)
                s.samples.append(sample)
            }
        }

        func failed(_ reason: String, attempts: Int) {
            state.withLock { s in
                s.counts.failed += 1
                s.counts.attempts += attempts
                if attempts > 1 { s.counts.retried += 1 }
                s.counts.failures[reason, default: 0] += 1
            }
        }

        func edited(room: Int, clientID: String, ok: Bool) {
            state.withLock { s in
                if ok {
                    s.counts.edits += 1
                    s.acks[room][clientID]?.edited = true
                } else {
                    s.counts.editsFailed += 1
                }
            }
        }

        func reacted(room: Int, clientID: String, ok: Bool) {
            state.withLock { s in
                if ok {
                    s.counts.reactions += 1
                    s.acks[room][clientID]?.reacted = true
                } else {
                    s.counts.reactionsFailed += 1
                }
            }
        }

        var counts: SendCounts { state.withLock { $0.counts } }

        func acks(room: Int) -> [Ack] {
            state.withLock { Array($0.acks[room].values) }
        }

        /// Acknowledged sends per room so far.
        var ackCounts: [Int] { state.withLock { $0.acks.map(\.count) } }

        var successes: [[Double]] { state.withLock { $0.successes } }

        var samples: [Timeline.Sample] { state.withLock { $0.samples } }
    }
}
