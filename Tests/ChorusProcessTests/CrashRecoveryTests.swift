import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

/// Kills `chorus serve` with SIGKILL while clients write, restarts it on the same data directory,
/// and checks that every acknowledged change is there exactly once and in order.
///
/// CI runs `CHORUS_CRASH_ITERATIONS` iterations (default 3); run 100 locally with
/// `CHORUS_CRASH_ITERATIONS=100 swift test --filter CrashRecovery`.
@Suite("Crash recovery", .serialized)
struct CrashRecoveryTests {
    static let secret = "crash-test-secret"
    static let iterations = Int(ProcessInfo.processInfo.environment["CHORUS_CRASH_ITERATIONS"] ?? "") ?? 3
    static let writers = ["w1", "w2", "w3", "w4"]

    /// What the clients know: acknowledged changes, and attempts whose outcome is unknown.
    struct Ledger: Sendable {
        struct Message: Sendable {
            var sender: String
            var bodies: Set<String>  // the last acknowledged body and every later attempted one
            var deleted: Bool = false  // delete acknowledged
            var deleteAttempted: Bool = false
            var reactions: Set<String> = []  // acknowledged reactions (emote ids)
        }
        var messages: [String: Message] = [:]
        /// Acknowledged message ids of each writer, in send order.
        var order: [String: [String]] = [:]
        var acknowledgedEdits = 0
    }

    /// The ledger, shared by the writer tasks.
    final class SharedLedger: Sendable {
        private let ledger = Mutex(Ledger())
        func withLock<T>(_ body: (inout Ledger) -> T) -> T { ledger.withLock { body(&$0) } }
    }

    func token(_ user: String) -> String {
        // A minimal HS256 signer for the test, independent of the server's code.
        signedToken(payload: #"{"user_id":"\#(user)"}"#, secret: Self.secret)
    }

    @Test("every acknowledged change survives SIGKILL, exactly once and in order")
    func killAndRestart() async throws {
        let directory = NSTemporaryDirectory() + "chorus-crash-\(UUID().uuidString)"
        let config = directory + ".yaml"
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: config)
        }
        // Frequent checkpoints, a tiny memory window and fast passivation, so kills also land in the
        // middle of checkpoints and history is read back from the store.
        try """
            storage:
              checkpoint_interval_seconds: 0.2
              recent_messages_in_memory: 5
              passivate_idle_seconds: 0.1
            """.write(toFile: config, atomically: true, encoding: .utf8)
        let ledger = SharedLedger()
        var channel = ""
        for iteration in 0..<Self.iterations {
            let server = try ChorusProcess(
                ["serve", "--config", config, "--port", "0", "--data-dir", directory, "--log-level", "warning"],
                environment: ["CHORUS_JWT_SECRET": Self.secret])
            let port = try await server.listeningPort()
            if iteration == 0 {
                channel = try await setUp(port: port)
            }
            try await verify(port: port, channel: channel, ledger: ledger.withLock { $0 }, iteration: iteration)
            // Write from several clients until the kill.
            let killAfter = Duration.milliseconds(Int.random(in: 50...800))
            let target = channel
            let before = ledger.withLock { $0.order.values.reduce(0) { $0 + $1.count } }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in Self.writers {
                    group.addTask { await write(as: writer, port: port, channel: target, ledger: ledger) }
                }
                // The kill lands after at least one acknowledgement of this round (on a loaded
                // machine the random delay alone may end before the first), then at a random moment.
                let deadline = ContinuousClock.now + .seconds(20)
                while ledger.withLock({ $0.order.values.reduce(0) { $0 + $1.count } }) == before, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(5))
                }
                try await Task.sleep(for: killAfter)
                kill(server.processIdentifier, SIGKILL)
                try await group.waitForAll()
            }
            _ = try await server.waitForExit()
        }
        // A last restart to check the final kill.
        let server = try ChorusProcess(
            ["serve", "--config", config, "--port", "0", "--data-dir", directory], environment: ["CHORUS_JWT_SECRET": Self.secret])
        let port = try await server.listeningPort()
        try await verify(port: port, channel: channel, ledger: ledger.withLock { $0 }, iteration: Self.iterations)
        let (acknowledged, edits, deletes, reactions) = ledger.withLock { ledger in
            (
                ledger.order.values.reduce(0) { $0 + $1.count }, ledger.acknowledgedEdits,
                ledger.messages.values.count(where: \.deleted), ledger.messages.values.reduce(0) { $0 + $1.reactions.count }
            )
        }
        print("crash recovery: \(Self.iterations) SIGKILLs; verified \(acknowledged) messages, \(edits) edits, \(deletes) deletes, \(reactions) reactions")
        #expect(acknowledged > 0, "no write was acknowledged before the kills")
        #expect(try await server.stop() == 0)
    }

    func request(_ client: TestClient, _ method: HTTPRequest.Method, _ path: String, as user: String, json: String? = nil) async throws -> (HTTPResponse.Status, [String: Any]) {
        let headers: HTTPFields = [.authorization: "Bearer \(token(user))"]
        let response: TestClient.Response
        switch method {
        case .post: response = try await client.post(path, headers: headers, body: ByteBuffer(string: json ?? "{}"))
        case .put: response = try await client.put(path, headers: headers, body: ByteBuffer(string: json ?? "{}"))
        case .delete: response = try await client.delete(path, headers: headers, body: ByteBuffer())
        default: response = try await client.get(path, headers: headers)
        }
        let body = response.body.map { Data(String(buffer: $0).utf8) } ?? Data()
        let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:]
        return (response.status, object)
    }

    func setUp(port: Int) async throws -> String {
        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            for writer in Self.writers { _ = try await request(client, .get, "/v1/channels", as: writer) }
            let (status, channel) = try await request(client, .post, "/v1/channels", as: "w1", json: #"{"type":"room","name":"crash"}"#)
            guard status == .created, let id = channel["id"] as? String else { throw ProcessFailure(description: "setup failed") }
            for writer in Self.writers.dropFirst() {
                _ = try await request(client, .post, "/v1/channels/\(id)/members", as: writer, json: #"{"user_id":"\#(writer)"}"#)
            }
            return id
        }
    }

    /// Sends, edits, deletes and reacts until the server dies; records what was acknowledged.
    func write(as writer: String, port: Int, channel: String, ledger: SharedLedger) async {
        _ = try? await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            var own: [String] = []
            for i in 0... {
                let body = "\(writer)-\(UUID().uuidString.prefix(8))-\(i)"
                switch i % 6 {
                case 3 where !own.isEmpty:  // edit one of our messages
                    let target = own.randomElement()!
                    _ = ledger.withLock { $0.messages[target]?.bodies.insert(body) }
                    let (status, _) = try await request(client, .put, "/v1/channels/\(channel)/messages/\(target)", as: writer, json: #"{"body":"\#(body)"}"#)
                    if status == .ok {
                        ledger.withLock { ledger in
                            ledger.messages[target]?.bodies = [body]
                            ledger.acknowledgedEdits += 1
                        }
                    }
                case 4 where own.count > 3:  // delete one
                    let target = own.removeFirst()
                    ledger.withLock { $0.messages[target]?.deleteAttempted = true }
                    let (status, _) = try await request(client, .delete, "/v1/channels/\(channel)/messages/\(target)", as: writer)
                    if status == .noContent { ledger.withLock { $0.messages[target]?.deleted = true } }
                case 5 where !own.isEmpty:  // react
                    let target = own.last!
                    let emote = "\(i)"
                    let (status, _) = try await request(client, .post, "/v1/channels/\(channel)/messages/\(target)/reactions", as: writer, json: #"{"emote_asset_id":"\#(emote)"}"#)
                    if status == .created { _ = ledger.withLock { $0.messages[target]?.reactions.insert(emote) } }
                default:
                    let (status, message) = try await request(client, .post, "/v1/channels/\(channel)/messages", as: writer, json: #"{"body":"\#(body)"}"#)
                    guard status == .created, let id = message["id"] as? String else { continue }
                    own.append(id)
                    ledger.withLock { ledger in
                        ledger.messages[id] = Ledger.Message(sender: writer, bodies: [body])
                        ledger.order[writer, default: []].append(id)
                    }
                }
            }
        }
    }

    /// Reads the whole channel and checks it against the ledger.
    func verify(port: Int, channel: String, ledger: Ledger, iteration: Int) async throws {
        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            var all: [[String: Any]] = []
            var after = "0"
            while true {
                let (status, page) = try await request(client, .get, "/v1/channels/\(channel)/messages?limit=100&after=\(after)", as: "w1")
                guard status == .ok, let messages = page["messages"] as? [[String: Any]] else {
                    throw ProcessFailure(description: "listing failed after restart \(iteration): \(status)")
                }
                all += messages
                guard page["has_more"] as? Bool == true, let last = messages.last?["id"] as? String else { break }
                after = last
            }
            let ids = all.compactMap { ($0["id"] as? String).flatMap(UInt64.init) }
            let seqs = all.compactMap { $0["seq"] as? Int }
            #expect(ids.count == all.count && seqs.count == all.count)
            #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 }, "ids not strictly increasing after restart \(iteration)")
            #expect(zip(seqs, seqs.dropFirst()).allSatisfy { $0 < $1 }, "seqs not strictly increasing after restart \(iteration)")
            let byID = Dictionary(all.map { ($0["id"] as! String, $0) }, uniquingKeysWith: { first, _ in first })
            #expect(byID.count == all.count, "a message appears twice after restart \(iteration)")
            for (id, expected) in ledger.messages {
                guard let message = byID[id] else {
                    Issue.record("acknowledged message \(id) is missing after restart \(iteration)")
                    continue
                }
                let deleted = message["deleted"] as? Bool ?? false
                if expected.deleted { #expect(deleted, "acknowledged delete of \(id) lost after restart \(iteration)") }
                if !deleted {
                    #expect(!expected.deleted)
                    let body = message["body"] as? String ?? ""
                    #expect(expected.bodies.contains(body), "message \(id) has body \(body), expected one of \(expected.bodies)")
                    let emotes = Set((message["reactions"] as? [[String: Any]] ?? []).compactMap { $0["emote_asset_id"] as? String })
                    #expect(expected.reactions.isSubset(of: emotes), "acknowledged reactions on \(id) lost after restart \(iteration)")
                } else {
                    #expect(expected.deleted || expected.deleteAttempted)
                }
            }
            // Each writer's acknowledged messages appear in the order they were sent.
            let position = Dictionary(uniqueKeysWithValues: ids.enumerated().map { (String($0.element), $0.offset) })
            for (writer, sent) in ledger.order {
                let positions = sent.compactMap { position[$0] }
                #expect(positions == positions.sorted(), "\(writer)'s messages are out of order after restart \(iteration)")
            }
        }
    }
}
