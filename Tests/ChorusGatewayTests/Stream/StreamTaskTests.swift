@testable import ChorusChat
import ChorusModel
import Foundation
import HTTPTypes
import Testing

/// Background tasks over the Stream API: batch channel deletes and `GET /tasks/{id}`.
@Suite("Stream API tasks")
struct StreamTaskTests {
    /// Polls `GET /tasks/{id}` (or another status `path`) until the task ends (at most 5 s of real time).
    func finished(_ id: String, api: TestAPI, token: String? = nil, path: String = "/tasks/") async throws -> Reply {
        var reply = try await api.stream(.get, path + id, token: token ?? api.serverToken)
        for _ in 0..<500 where !["completed", "failed"].contains(reply.object["status"] as? String ?? "") {
            try await Task.sleep(for: .milliseconds(10))
            reply = try await api.stream(.get, path + id, token: token ?? api.serverToken)
        }
        return reply
    }

    @Test("POST /channels/delete starts a task that deletes each channel; GET /tasks/{id} reports each outcome")
    func deleteChannels() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob")
            for id in ["a", "b"] { try await api.createStreamChannel(id, by: "alice", members: ["bob"]) }
            let started = try await api.stream(
                .post, "/channels/delete", token: api.serverToken, json: ["cids": ["messaging:a", "messaging:b", "messaging:nope", "messaging:a"], "hard_delete": true])
            #expect(started.status == .created, "\(started.rawBody)")
            let id = try #require(started.object["task_id"] as? String)
            let task = try await finished(id, api: api)
            #expect(task.status == .ok && task.object["status"] as? String == "completed", "\(task.rawBody)")
            #expect(task.object["task_id"] as? String == id && task.object["created_at"] is String && task.object["updated_at"] is String)
            let result = task.dict("result")
            #expect(result.dict("messaging:a")["status"] as? String == "ok" && result.dict("messaging:b")["status"] as? String == "ok")
            #expect(result.dict("messaging:nope")["status"] as? String == "error")
            #expect((result.dict("messaging:nope")["error"] as? String)?.contains("Can't find channel") == true)
            #expect(result.count == 3, "duplicates are deleted once")
            let gone = try await api.stream(.post, "/channels/messaging/a/query", token: api.serverToken, json: ["state": true])
            expectStreamError(gone, .notFound, code: 16, "the channel is deleted")

            // Users delete what they may; each channel says.
            for id in ["c", "d"] { try await api.createStreamChannel(id, by: id == "c" ? "alice" : "bob", members: ["alice", "bob"]) }
            let mine = try await api.stream(.post, "/channels/delete", as: "alice", json: ["cids": ["messaging:c", "messaging:d"]])
            let userTask = try await finished(try #require(mine.object["task_id"] as? String), api: api, token: api.token("alice"))
            #expect(userTask.dict("result").dict("messaging:c")["status"] as? String == "ok")
            #expect(userTask.dict("result").dict("messaging:d")["status"] as? String == "error", "alice only a member of d")
            expectStreamError(try await api.stream(.get, "/tasks/\(id)", as: "bob"), .forbidden, code: 17, "a user reads a server's task")
            let anonymous = try await api.stream(.get, "/tasks/\(id)", token: nil, authType: "anonymous")
            #expect(anonymous.status == .forbidden || anonymous.status == .unauthorized, "\(anonymous.rawBody)")
            let alicesTask = try #require(mine.object["task_id"] as? String)
            expectStreamError(try await api.stream(.get, "/tasks/\(alicesTask)", as: "bob"), .forbidden, code: 17, "bob reads alice's task")
        }
    }

    @Test("one task deletes 100 channels (the most a call may name), each reported, each gone")
    func deleteHundred() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob")
            let cids = (0..<100).map { "messaging:h\($0)" }
            for n in 0..<100 { try await api.createStreamChannel("h\(n)", by: "alice", members: ["bob"]) }
            let started = try await api.stream(.post, "/channels/delete", token: api.serverToken, json: ["cids": cids, "hard_delete": true])
            let task = try await finished(try #require(started.object["task_id"] as? String), api: api)
            #expect(task.object["status"] as? String == "completed", "\(task.rawBody.prefix(300))")
            let result = task.dict("result")
            #expect(result.count == 100 && cids.allSatisfy { result.dict($0)["status"] as? String == "ok" })
            let listed = try await api.stream(.post, "/channels", as: "bob", json: ["filter_conditions": ["members": ["$in": ["bob"]]], "limit": 30])
            #expect((listed.object["channels"] as? [Any])?.isEmpty == true, "\(listed.rawBody.prefix(300))")
        }
    }

    @Test("bad batch deletes and unknown tasks get clear errors")
    func errors() async throws {
        try await TestAPI.run { api in
            let bad: [[String: Any]] = [
                [:], ["cids": [] as [Any]], ["cids": (0...100).map { "messaging:c\($0)" }], ["cids": ["nocolon"]], ["cids": "messaging:a"],
                ["cids": ["messaging:a"], "hard_delete": "yes"],
            ]
            for body in bad {
                expectStreamError(try await api.stream(.post, "/channels/delete", token: api.serverToken, json: body), .badRequest, code: 4, "\(body)")
            }
            expectStreamError(try await api.stream(.get, "/tasks/nope", token: api.serverToken), .notFound, code: 16, mentioning: "Can't find task with id nope")
        }
    }

    @Test("a task a restart interrupted carries on: the channel it was deleting counts as deleted, the rest are deleted")
    func resumes() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob")
            for id in ["r1", "r2"] { try await api.createStreamChannel(id, by: "alice", members: ["bob"]) }
            // As if the node stopped right after deleting r1, before keeping its outcome.
            #expect(try await api.stream(.delete, "/channels/messaging/r1", token: api.serverToken).status == .ok)
            let now = api.clock.now()
            let task = ChatTask(
                id: "chorus-1-00000000-0000-0000-0000-000000000001", kind: "delete_channels", status: .running, createdAt: now, updatedAt: now,
                cids: ["messaging:r1", "messaging:r2"], hard: false, actingUser: nil, inFlight: "messaging:r1")
            try api.node.tasks.save(task)
            api.node.resumeTasks()
            let done = try await finished(task.id, api: api)
            #expect(done.object["status"] as? String == "completed", "\(done.rawBody)")
            #expect(done.dict("result").dict("messaging:r1")["status"] as? String == "ok")
            #expect(done.dict("result").dict("messaging:r2")["status"] as? String == "ok")
            // A stale copy (as a resume captured it before the run ended) is not run again.
            await api.node.run(task)
            #expect(api.node.tasks.task(task.id)?.results["messaging:r2"]?.status == "ok", "the kept outcome stands")
        }
    }

    @Test("tasks are kept in the data directory: a new store finds the unfinished ones")
    func keptOnDisk() throws {
        let directory = NSTemporaryDirectory() + "chorus-tasks-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try ChatTaskStore(directory: directory)
        let at = Timestamp(milliseconds: 1_000)
        var task = ChatTask(id: "n-1", kind: "delete_channels", status: .running, createdAt: at, updatedAt: at, cids: ["messaging:a"], hard: true, actingUser: nil)
        try store.save(task)
        task.id = "n-2"
        task.status = .completed
        try store.save(task)
        // Written beside, synced and renamed (DurableFile): nothing else is left; a crash between
        // the write and the rename leaves a `.tmp`, which a restart ignores.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["n-1.json", "n-2.json"])
        try Data("{torn".utf8).write(to: URL(fileURLWithPath: directory + "/n-3.json.tmp"))
        let again = try ChatTaskStore(directory: directory)
        #expect(again.task("n-1")?.cids == ["messaging:a"] && again.task("n-2")?.status == .completed)
        #expect(again.unfinished.map(\.id) == ["n-1"] && again.task("n-3") == nil)
        #expect(ChatTask.node(of: "chorus-2-00000000-0000-0000-0000-000000000001") == "chorus-2")
        #expect(ChatTask.node(of: "nope") == nil)
    }
}

@Suite("Stream API tasks on a cluster (3 nodes in one process)", .serialized)
struct StreamTaskClusterTests {
    @Test("a channel whose node cannot be reached interrupts the task: it stays unfinished, to resume on the next start")
    func interrupted() async throws {
        try await TestCluster.run { cluster in
            let one = cluster.apis[0]
            let group = try await cluster.createChannel(on: "chorus-2", through: one, owner: "alice")
            await cluster.systems[1].shutdownTransport()
            let started = try await one.stream(.post, "/channels/delete", token: one.serverToken, json: ["cids": ["group:\(group)"]])
            let id = try #require(started.object["task_id"] as? String)
            // Four retries over ~3 s of the node's clock (moved here by hand), then the task stops
            // where it was.
            var task = try #require(one.node.tasks.task(id))
            for _ in 0..<1_000 where task.inFlight == nil || one.node.runningTasks.withLock({ $0.contains(id) }) {
                one.clock.advance(by: .milliseconds(500))
                await Task.yield()
                try await Task.sleep(for: .milliseconds(1))
                task = try #require(one.node.tasks.task(id))
            }
            #expect(!one.node.runningTasks.withLock { $0.contains(id) }, "the run ended")
            #expect(task.status == .running && task.inFlight == "group:\(group)" && task.results.isEmpty, "\(task)")
        }
    }

    @Test("a task runs on the node that took it; every node reports it")
    func readFromAnyNode() async throws {
        try await TestCluster.run { cluster in
            let (one, two) = (cluster.apis[0], cluster.apis[1])
            try await one.upsertUsers("alice", "bob")
            for id in ["x1", "x2", "x3"] { try await one.createStreamChannel(id, by: "alice", members: ["bob"]) }
            let started = try await two.stream(.post, "/channels/delete", token: two.serverToken, json: ["cids": ["messaging:x1", "messaging:x2", "messaging:x3"]])
            let id = try #require(started.object["task_id"] as? String)
            #expect(id.hasPrefix("chorus-2-"))
            for api in cluster.apis {
                let done = try await StreamTaskTests().finished(id, api: api)
                #expect(done.object["status"] as? String == "completed", "\(done.rawBody)")
                #expect(["x1", "x2", "x3"].allSatisfy { done.dict("result").dict("messaging:\($0)")["status"] as? String == "ok" }, "\(done.rawBody)")
            }
        }
    }
}

/// Channel exports: the task, the signed URL, and the document's contents.
@Suite("Stream API exports")
struct StreamExportTests {
    func finishedExport(_ id: String, api: TestAPI) async throws -> Reply {
        try await StreamTaskTests().finished(id, api: api, path: "/export_channels/")
    }

    @Test("an export writes channel, members and messages (deleted text cleared, time range kept) and users, at a signed URL that expires")
    func export() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice", "bob")
            try await api.createStreamChannel("e1", by: "alice", members: ["bob"])
            try await api.createStreamChannel("e2", type: "team", by: "bob", members: [])
            try await api.streamSend("first", to: "messaging:e1", as: "bob", id: "e-1")
            api.clock.advance(by: .seconds(60))
            let middle = api.clock.now()
            try await api.streamSend("second", to: "messaging:e1", as: "alice", id: "e-2")
            try await api.streamSend("gone", to: "messaging:e1", as: "bob", id: "e-3")
            #expect(try await api.stream(.delete, "/messages/e-3", as: "bob").status == .ok)
            try await api.streamSend("in team", to: "team:e2", as: "bob")
            let body: [String: Any] = [
                "channels": [["cid": "messaging:e1", "messages_since": TestAPI.rfc3339(middle)], ["type": "team", "id": "e2"]],
                "clear_deleted_message_text": true, "export_users": true,
            ]
            let started = try await api.stream(.post, "/export_channels", token: api.serverToken, json: body)
            #expect(started.status == .created, "\(started.rawBody)")
            let done = try await finishedExport(try #require(started.object["task_id"] as? String), api: api)
            #expect(done.object["status"] as? String == "completed", "\(done.rawBody)")
            let url = try #require(done.dict("result")["url"] as? String)
            let path = "/" + url.split(separator: "/", maxSplits: 3).dropFirst(2).joined(separator: "/")
            let file = try await api.call(.get, path)
            #expect(file.status == .ok, "\(path): \(file.rawBody.prefix(200))")
            let channels = (file.object["channels"] as? [[String: Any]]) ?? []
            #expect(channels.count == 2)
            let first = channels.first ?? [:]
            #expect(first.dict("channel")["cid"] as? String == "messaging:e1")
            #expect(Set(first.list("members").compactMap { $0["user_id"] as? String }) == ["alice", "bob"])
            let texts = first.list("messages").map { ($0["id"] as? String ?? "", $0["text"] as? String ?? "") }
            #expect(texts.map(\.0) == ["e-2", "e-3"], "since the middle: \(texts)")
            #expect(texts.last?.1 == "", "the deleted message's text is cleared")
            #expect(channels.last?.list("messages").first?["text"] as? String == "in team")
            #expect(Set(((file.object["users"] as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }) == ["alice", "bob"])

            // The URL only works as signed, and not after it expires.
            let tampered = try await api.call(.get, path.replacingOccurrences(of: "signature=", with: "signature=0"))
            #expect(tampered.status == .notFound, "\(tampered.status) \(tampered.rawBody.prefix(200))")
            for query in ["expires=-9223372036854775808", "expires=9223372036854775807", "expires=x"] {
                let forged = path.replacingOccurrences(of: #"expires=\d+"#, with: query, options: .regularExpression)
                #expect(try await api.call(.get, forged).status == .notFound, "\(query)")
            }
            #expect(try await api.call(.get, "/exports/..%2Fchannel-types.json?expires=1&signature=00").status == .notFound)
            api.clock.advance(by: .seconds(2 * 3600))
            #expect(try await api.call(.get, path).status == .notFound)

            // Ended tasks are forgotten after the task retention, with the export's file.
            let taskID = try #require(started.object["task_id"] as? String)
            let exportFile = NSTemporaryDirectory() + "chorus-exports-\(api.node.actorSystem.nodeName)/\(taskID).json"
            #expect(FileManager.default.fileExists(atPath: exportFile))
            #expect(api.node.expireTasks(endedBefore: .seconds(7 * 86_400)) == 0, "ended only hours ago")
            api.clock.advance(by: .seconds(8 * 86_400))
            #expect(api.node.expireTasks(endedBefore: .seconds(7 * 86_400)) == 1)
            expectStreamError(try await api.stream(.get, "/export_channels/\(taskID)", token: api.serverToken), .notFound, code: 16)
            #expect(!FileManager.default.fileExists(atPath: exportFile), "the file went with the task")
        }
    }

    @Test("exports need a server token, 1-25 channels that name a channel; unknown ids are not found")
    func errors() async throws {
        try await TestAPI.run { api in
            try await api.upsertUsers("alice")
            expectStreamError(try await api.stream(.post, "/export_channels", as: "alice", json: ["channels": [["cid": "messaging:a"]]]), .forbidden, code: 17)
            let bad: [[String: Any]] = [
                [:], ["channels": [] as [Any]], ["channels": (0...25).map { ["cid": "messaging:c\($0)"] }], ["channels": [["id": "x"]]],
                ["channels": [["cid": "messaging:a", "messages_since": "yesterday"]]], ["channels": ["messaging:a"]],
            ]
            for body in bad {
                expectStreamError(try await api.stream(.post, "/export_channels", token: api.serverToken, json: body), .badRequest, code: 4, "\(body)")
            }
            expectStreamError(try await api.stream(.get, "/export_channels/nope", token: api.serverToken), .notFound, code: 16)
        }
    }
}
