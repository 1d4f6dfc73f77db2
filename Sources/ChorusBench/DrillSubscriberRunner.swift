import NIOCore
import NIOPosix
import Synchronization

extension Drill {
    /// A flag set once to end the drill's long-running tasks.
    final class StopFlag: Sendable {
        private let flag = Atomic<Bool>(false)

        var isSet: Bool { flag.load(ordering: .relaxed) }

        func set() { flag.store(true, ordering: .relaxed) }
    }

    /// Keeps one subscriber connected the way a v1 client does (docs/realtime.md): when its socket closes
    /// it reconnects to the next node and resumes its room from the last seq it saw; a `resume_failed`
    /// `HISTORY_UNAVAILABLE` makes it reload the room's messages over REST; any other `resume_failed` (the
    /// new session could not follow the room) makes it try another node again.
    struct SubscriberRunner: Sendable {
        let log: SubscriberLog
        let channelID: String
        let token: String
        let endpoints: [Endpoint]
        let group: MultiThreadedEventLoopGroup
        let connections: Connections
        let stop: StopFlag

        /// Runs until ``StopFlag/set()`` and the socket is closed, starting at node `home`.
        func run(home: Int) async {
            var node = home
            var failures = 0
            while !stop.isSet {
                if await connectAndServe(node: node) { failures = 0 } else { failures += 1 }
                guard !stop.isSet else { return }
                node = (node + 1) % endpoints.count
                try? await Task.sleep(for: .milliseconds(min(200 * (failures + 1), 1_000)))
            }
        }

        /// One connection, from the dial to its close; false if it never got to `hello`.
        private func connectAndServe(node: Int) async -> Bool {
            let (signals, continuation) = AsyncStream<SubscriberSignal>.makeStream()
            defer { continuation.finish() }
            let loop = group.next()
            let ready = loop.makePromise(of: Void.self)
            let (subscriber, endpoint, path) = (log, endpoints[node], "/v1/ws?resume=1&token=\(token)")
            let resumeFrame = subscriber.resumeFrame(channelID: channelID)
            let socket: any Channel
            do {
                socket = try await Drill.withDeadline(.seconds(5), "opening a WebSocket to \(endpoint)", discard: { $0.close(promise: nil) }) {
                    try await WebSocketDialer.connect(to: endpoint, path: path, subprotocol: nil, on: loop) {
                        SubscriberHandler(log: subscriber, resumeFrame: resumeFrame, signals: continuation, ready: ready)
                    }
                }
            } catch {
                ready.fail(error)
                return false
            }
            do {
                try await Drill.withDeadline(.seconds(5), "waiting for hello from \(endpoint)") { try await ready.futureResult.get() }
            } catch {
                // Closed before the next connection opens: a hello that comes late must not leave this
                // one streaming next to it (the same events would arrive twice).
                try? await socket.close().get()
                return false
            }
            log.noteConnected(socket)
            if stop.isSet { socket.close(promise: nil) }
            serving: for await signal in signals {
                switch signal {
                case .closed:
                    break serving
                case .reload:
                    await reload(from: node)
                case .reconnect:
                    socket.close(promise: nil)
                }
            }
            return true
        }

        /// Reads the room's messages after the last one seen, over REST (any node), for up to ~10 s.
        private func reload(from node: Int) async {
            for attempt in 0..<20 {
                do {
                    let entries = try await Drill.readMessages(
                        connections: connections, node: (node + attempt) % endpoints.count, channelID: channelID, token: token,
                        after: log.reloadAfter)
                    log.noteReloaded(entries)
                    return
                } catch {
                    try? await Task.sleep(for: .milliseconds(500))
                }
            }
            log.noteReloadFailed()
        }
    }
}
