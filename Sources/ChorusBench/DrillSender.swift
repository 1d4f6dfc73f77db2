import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

extension Drill {
    /// One room of the drill: a fresh `room` channel with one sender and its subscribers.
    struct Room: Sendable {
        var index: Int
        var id: String
        /// The node that owns it (on the ring of the node names).
        var owner: Int
        var senderToken: String
        var subscriberTokens: [String]
    }

    /// Sends, edits and reacts like a careful client: every request is retried until its deadline, each
    /// attempt through the next node, and a send carries its `client_message_id` on every attempt, so a
    /// retry of a send that did commit returns the original message instead of posting it again.
    struct Sender: Sendable {
        let connections: Connections
        let nodeCount: Int
        /// Seconds one request is retried.
        let deadline: Double
        let log: SendLog

        /// The longest one attempt may wait for its answer before the next node is tried.
        static let attemptTimeout = 2.0

        enum Outcome: Sendable {
            case answered(HTTPReply, attempts: Int)
            case failed(String, attempts: Int)
        }

        /// Tries `method path` from node `home` on, until a status in `accepted` or the deadline.
        /// 429 and 5xx answers, refused connections and timeouts are retried; other statuses are final.
        func perform(_ method: HTTPMethod, _ path: String, token: String, json: String?, home: Int, accepted: Set<Int>) async -> Outcome {
            let deadlineAt = monotonicNanos() + UInt64(deadline * 1e9)
            var attempts = 0
            var lastError = "no attempt"
            while true {
                let now = monotonicNanos()
                guard now < deadlineAt else { return .failed(lastError, attempts: attempts) }
                let node = (home + attempts) % nodeCount
                attempts += 1
                let remaining = Double(deadlineAt - now) / 1e9
                do {
                    let reply = try await connections.request(
                        node: node, method, path, token: token, json: json, timeout: Drill.duration(min(remaining, Self.attemptTimeout)))
                    if accepted.contains(reply.status) { return .answered(reply, attempts: attempts) }
                    lastError = "HTTP \(reply.status)"
                    guard reply.status == 429 || reply.status >= 500 else {
                        return .failed(lastError + (Self.errorCode(of: reply).map { " \($0)" } ?? ""), attempts: attempts)
                    }
                } catch {
                    lastError = Self.kind(of: error)
                }
                log.attemptFailed(lastError)
                // 50 ms, doubling to 500 ms, never past the deadline.
                let after = monotonicNanos()
                guard after < deadlineAt else { continue }
                let pause = min(0.05 * pow(2, Double(min(attempts - 1, 4))), 0.5, Double(deadlineAt - after) / 1e9)
                try? await Task.sleep(for: Drill.duration(pause))
            }
        }

        /// The API error code of an error answer (`CHAT_NOT_MEMBER`), if it has one.
        static func errorCode(of reply: HTTPReply) -> String? {
            struct Body: Decodable {
                struct Failure: Decodable { var code: String }
                var error: Failure
            }
            return (try? JSONDecoder().decode(Body.self, from: Data(reply.body.readableBytesView)))?.error.code
        }

        /// A short name for a failed attempt.
        static func kind(of error: any Error) -> String {
            if let error = error as? BenchError {
                return error.description.contains("connecting to") ? "connect timeout" : "no answer"
            }
            return "connect failed"
        }

        /// Posts one message; its acknowledgement, or nil if it failed for good.
        func send(room: Room, clientID: String, round: Int, home: Int) async -> Ack? {
            log.started()
            let startedAt = monotonicNanos()
            let json = #"{"body":"\#(Drill.messageBody(clientID: clientID))","client_message_id":"\#(clientID)"}"#
            switch await perform(.POST, "/v1/channels/\(room.id)/messages", token: room.senderToken, json: json, home: home, accepted: [200, 201]) {
            case .answered(let reply, let attempts):
                guard let sent = try? JSONDecoder().decode(SentMessage.self, from: Data(reply.body.readableBytesView)),
                    let messageID = UInt64(sent.id)
                else {
                    log.failed("a 201 without id and seq", attempts: attempts)
                    return nil
                }
                let ack = Ack(round: round, clientID: clientID, messageID: messageID, seq: sent.seq)
                log.acknowledged(ack, room: room.index, startedAt: startedAt, attempts: attempts)
                return ack
            case .failed(let reason, let attempts):
                log.failed(reason, attempts: attempts)
                return nil
            }
        }

        /// Edits an acknowledged message (the same body on every attempt, so a retry is harmless).
        func edit(room: Room, ack: Ack, home: Int) async {
            let json = #"{"body":"\#(Drill.editedBody(clientID: ack.clientID))"}"#
            let outcome = await perform(
                .PUT, "/v1/channels/\(room.id)/messages/\(ack.messageID)", token: room.senderToken, json: json, home: home, accepted: [200])
            if case .answered = outcome { log.edited(room: room.index, clientID: ack.clientID, ok: true) } else {
                log.edited(room: room.index, clientID: ack.clientID, ok: false)
            }
        }

        /// Reacts to an acknowledged message; a 409 on a retry means an earlier attempt did it.
        func react(room: Room, ack: Ack, home: Int) async {
            let json = #"{"emote_asset_id":"\#(Drill.reactionEmote)"}"#
            let outcome = await perform(
                .POST, "/v1/channels/\(room.id)/messages/\(ack.messageID)/reactions", token: room.senderToken, json: json, home: home,
                accepted: [201, 409])
            if case .answered = outcome { log.reacted(room: room.index, clientID: ack.clientID, ok: true) } else {
                log.reacted(room: room.index, clientID: ack.clientID, ok: false)
            }
        }

        private struct SentMessage: Decodable {
            var id: String
            var seq: UInt64
        }
    }

    /// A round's open-loop schedule: sends fall due at `rate` whatever the cluster does (round-robin over
    /// the rooms, each through the next node), so a fault shows as failed and slow sends, not as a
    /// quietly lower rate. Some acknowledged messages are then edited and get a reaction.
    final class Load: Sendable {
        private let stopped = Atomic<Bool>(false)

        /// Ends the schedule; ``run(sender:rooms:rate:round:runID:firstIndex:editFraction:reactionFraction:)`` then waits for the sends in flight.
        func stop() { stopped.store(true, ordering: .relaxed) }

        /// Sends until ``stop()`` and returns the next send's index (indexes are unique over the rounds).
        func run(sender: Sender, rooms: [Room], rate: Double, round: Int, runID: String, firstIndex: Int, editFraction: Double, reactionFraction: Double) async -> Int {
            let start = monotonicNanos()
            let editPermille = UInt64((editFraction * 1000).rounded())
            let reactionPermille = UInt64((reactionFraction * 1000).rounded())
            var index = firstIndex
            await withDiscardingTaskGroup { group in
                while !stopped.load(ordering: .relaxed) {
                    let due = firstIndex + Int(Double(monotonicNanos() - start) / 1e9 * rate) + 1
                    while index < due {
                        let n = index
                        let room = rooms[n % rooms.count]
                        let clientID = Drill.clientID(run: runID, round: round, channel: room.index, index: n)
                        let home = n % sender.nodeCount
                        group.addTask {
                            guard let ack = await sender.send(room: room, clientID: clientID, round: round, home: home) else { return }
                            // Which messages get an edit or a reaction is a hash of the index, so it spreads evenly over rooms.
                            let dice = Drill.mix(UInt64(n))
                            if dice % 1000 < editPermille { await sender.edit(room: room, ack: ack, home: home + 1) }
                            if (dice >> 20) % 1000 < reactionPermille { await sender.react(room: room, ack: ack, home: home + 2) }
                        }
                        index += 1
                    }
                    try? await Task.sleep(for: .milliseconds(10))
                }
            }
            return index
        }
    }
}
