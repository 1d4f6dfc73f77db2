@testable import ChorusChat
import ChorusGateway
import ChorusModel
import Foundation
import HTTPTypes
import Testing

/// Segments and campaigns over the Stream API, with the node's injected clock.
@Suite("Stream API segments and campaigns")
struct StreamCampaignTests {
    /// A node whose campaigns send at most `rate` messages per second (one batch per second).
    static func configuration(rate: Int = 10) -> ChorusConfiguration {
        var configuration = ChorusConfiguration.testing()
        configuration.chat.campaignMessagesPerSecond = rate
        return configuration
    }

    /// Users `u01`…`u<count>` (named `User 1`…) and the sender `brand` (`Brand`).
    static func users(_ count: Int, api: TestAPI) async throws -> [String] {
        let ids = (1...count).map { String(format: "u%02d", $0) }
        var users: [String: Any] = ["brand": ["id": "brand", "name": "Brand"]]
        for (index, id) in ids.enumerated() { users[id] = ["id": id, "name": "User \(index + 1)"] }
        let reply = try await api.stream(.post, "/users", token: api.serverToken, json: ["users": users])
        #expect(reply.status == .created, "\(reply.rawBody)")
        return ids
    }

    /// The messages in the `messaging` channel of `brand` and `user` (none if it does not exist).
    static func inbox(_ user: String, api: TestAPI, sender: String = "brand") async throws -> [[String: Any]] {
        let id = ChannelAddress.membersID([UserID(sender)!, UserID(user)!])
        let reply = try await api.stream(.post, "/channels/messaging/\(id)/query", token: api.serverToken, json: ["state": true])
        guard reply.status == .created else { return [] }
        return reply.object["messages"] as? [[String: Any]] ?? []
    }

    /// Polls campaign `id` until `done` holds (at most 5 s of real time); returns it.
    static func campaign(_ id: String, api: TestAPI, until done: ([String: Any]) -> Bool) async throws -> [String: Any] {
        var campaign = try await api.stream(.get, "/campaigns/\(id)", token: api.serverToken).dict("campaign")
        for _ in 0..<500 where !done(campaign) {
            try await Task.sleep(for: .milliseconds(10))
            campaign = try await api.stream(.get, "/campaigns/\(id)", token: api.serverToken).dict("campaign")
        }
        return campaign
    }

    /// Waits until the campaign's runner sleeps on the clock (its throttle or its schedule).
    static func runnerSleeps(_ api: TestAPI) async throws {
        for _ in 0..<500 where api.clock.sleeperCount == 0 { try await Task.sleep(for: .milliseconds(5)) }
        #expect(api.clock.sleeperCount > 0)
    }

    @Test("a single node keeps its segments and campaigns in documents.json across restarts; an unreadable file is an error, not an empty table")
    func keptInTheDataDirectory() throws {
        let directory = NSTemporaryDirectory() + "chorus-documents-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let documents = try AppDocuments(directory: directory)
        try documents.apply("segment/s1", #"{"id":"s1"}"#)
        try documents.apply("campaign/c1", #"{"id":"c1"}"#)
        try documents.apply("campaign/c1", nil)
        let reopened = try AppDocuments(directory: directory)
        #expect(reopened.documents(prefix: "segment/") == ["s1": #"{"id":"s1"}"#] && reopened.document("campaign/c1") == nil)
        // The metadata log's newer table replaces it; an older version is ignored.
        try reopened.adopt(settings: ["segment/s2": "{}", "channel_type/x": "{}"], version: 5)
        try reopened.adopt(settings: ["segment/old": "{}"], version: 4)
        #expect(try AppDocuments(directory: directory).documents(prefix: "") == ["segment/s2": "{}"])
        try Data("not json".utf8).write(to: URL(fileURLWithPath: directory + "/documents.json"))
        #expect(throws: (any Error).self) { try AppDocuments(directory: directory) }
    }

    @Test("segments: create (wrapped or flat), get, list in pages, update, delete; size counts the matching users")
    func segments() async throws {
        try await TestAPI.run { api in
            _ = try await Self.users(12, api: api)
            let created = try await api.stream(
                .post, "/segments", token: api.serverToken,
                json: ["segment": ["name": "Early", "type": "user", "description": "the first five", "filter": ["id": ["$gt": "u", "$lte": "u05"]]]])
            #expect(created.status == .created, "\(created.rawBody)")
            let segment = created.dict("segment")
            let id = try #require(segment["id"] as? String)
            #expect(segment["name"] as? String == "Early" && segment["type"] as? String == "user" && segment["size"] as? Int == 5)
            #expect(segment["in_use"] as? Bool == false && segment["created_at"] is String && segment["description"] as? String == "the first five")
            let flat = try await api.stream(
                .post, "/segments", token: api.serverToken, json: ["id": "vip", "name": "VIP", "type": "user", "filter": ["id": ["$in": ["u01", "u02", "ghost"]]]])
            #expect(flat.status == .created && flat.dict("segment")["id"] as? String == "vip" && flat.dict("segment")["size"] as? Int == 2, "\(flat.rawBody)")

            let got = try await api.stream(.get, "/segments/\(id)", token: api.serverToken)
            #expect(got.status == .ok && got.dict("segment")["name"] as? String == "Early")
            let all = try await api.stream(.get, "/segments", token: api.serverToken)
            #expect((all.object["segments"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [id, "vip"])
            let second = try await api.stream(.get, "/segments?limit=1&offset=1", token: api.serverToken)
            #expect((second.object["segments"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["vip"])

            let updated = try await api.stream(
                .put, "/segments/\(id)", token: api.serverToken, json: ["segment": ["name": "Earlier", "filter": ["name": ["$in": ["User 1", "User 2"]]]]])
            #expect(updated.status == .created && updated.dict("segment")["size"] as? Int == 2 && updated.dict("segment")["name"] as? String == "Earlier", "\(updated.rawBody)")
            #expect(try await api.stream(.delete, "/segments/\(id)", token: api.serverToken).status == .ok)
            expectStreamError(try await api.stream(.get, "/segments/\(id)", token: api.serverToken), .notFound, code: 16, mentioning: "Can't find segment")
        }
    }

    @Test("bad segments get clear errors; segments are for servers")
    func segmentErrors() async throws {
        try await TestAPI.run { api in
            let bad: [[String: Any]] = [
                ["segment": ["type": "user", "filter": [:] as [String: Any]]], ["segment": ["name": "x", "filter": [:] as [String: Any]]],
                ["segment": ["name": "x", "type": "channel", "filter": [:] as [String: Any]]], ["segment": ["name": "x", "type": "user"]],
                ["segment": ["name": "x", "type": "user", "filter": ["color": "red"]]], ["segment": ["name": "x", "type": "user", "filter": "all"]],
                ["segment": ["name": "x", "type": "user", "filter": ["id": ["$in": ["not a valid id!"]]]]],
                ["segment": ["name": "", "type": "user", "filter": [:] as [String: Any]]], ["segment": ["id": "a/b", "name": "x", "type": "user", "filter": [:] as [String: Any]]],
            ]
            for body in bad {
                expectStreamError(try await api.stream(.post, "/segments", token: api.serverToken, json: body), .badRequest, code: 4, "\(body)")
            }
            try await api.upsertUsers("alice")
            expectStreamError(try await api.stream(.get, "/segments", as: "alice"), .forbidden, code: 17, "a user lists segments")
            expectStreamError(
                try await api.stream(.post, "/segments", as: "alice", json: ["segment": ["name": "x", "type": "user", "filter": [:] as [String: Any]]]),
                .forbidden, code: 17, "a user creates a segment")
            expectStreamError(try await api.stream(.get, "/segments?limit=0", token: api.serverToken), .badRequest, code: 4, "limit 0")
            for method in [HTTPRequest.Method.get, .delete] {
                expectStreamError(try await api.stream(method, "/segments/nope", token: api.serverToken), .notFound, code: 16, "\(method) unknown")
            }
        }
    }

    @Test("resolving a segment pages through its users in id order, each once; an explicit list skips users that do not exist")
    func resolution() async throws {
        try await TestAPI.run { api in
            let ids = try await Self.users(25, api: api)
            let everyone = try Segment.parse(["name": ["$ne": "Brand"]])
            var (seen, cursor) = ([String](), UserID?.none)
            while true {
                let page = try await api.node.users(matching: everyone, after: cursor, limit: 10)
                seen += page.map(\.id.rawValue)
                guard page.count == 10 else { break }
                cursor = page.last?.id
            }
            #expect(seen == ids)
            let named = try Segment.parse(["id": ["$in": ["u03", "ghost", "u01"]]])
            #expect(try await api.node.users(matching: named, after: nil, limit: 10).map(\.id.rawValue) == ["u01", "u03"])
            #expect(try await api.node.users(matching: named, after: UserID("u01"), limit: 10).map(\.id.rawValue) == ["u03"])
            #expect(try await api.node.countUsers(matching: everyone) == 25)
        }
    }

    @Test("a scheduled campaign starts on time, sends a batch per second, stops halfway, resumes where it stopped and completes with exact counts")
    func lifecycle() async throws {
        try await TestAPI.run(configuration: Self.configuration(rate: 10)) { api in
            let ids = try await Self.users(25, api: api)
            let segment = try await api.stream(
                .post, "/segments", token: api.serverToken, json: ["segment": ["id": "all", "name": "All", "type": "user", "filter": ["id": ["$gte": "u"]]]])
            #expect(segment.dict("segment")["size"] as? Int == 25)
            let created = try await api.stream(
                .post, "/campaigns", token: api.serverToken,
                json: ["campaign": [
                    "id": "welcome", "name": "Welcome", "text": "Hi {{ user.name }}, from {{sender.name}}", "segment_id": "all", "sender_id": "brand",
                ]])
            #expect(created.status == .created, "\(created.rawBody)")
            #expect(created.dict("campaign")["status"] as? String == "draft" && created.dict("campaign")["channel_type"] as? String == "messaging")

            let start = api.clock.now().seconds + 60
            let scheduled = try await api.stream(.patch, "/campaigns/welcome/schedule", token: api.serverToken, json: ["scheduled_for": start])
            #expect(scheduled.status == .ok && scheduled.dict("campaign")["status"] as? String == "scheduled", "\(scheduled.rawBody)")
            try await Self.runnerSleeps(api)
            #expect(try await Self.inbox("u01", api: api).isEmpty, "nothing before its time")

            api.clock.advance(by: .seconds(60))
            var campaign = try await Self.campaign("welcome", api: api) { $0["messages_sent"] as? Int == 10 }
            #expect(campaign["status"] as? String == "running" && campaign["users_targeted"] as? Int == 25 && campaign["started_at"] is String)
            try await Self.runnerSleeps(api)
            api.clock.advance(by: .seconds(1))
            campaign = try await Self.campaign("welcome", api: api) { $0["messages_sent"] as? Int == 20 }
            #expect(campaign["messages_sent"] as? Int == 20)
            try await Self.runnerSleeps(api)

            let stopped = try await api.stream(.patch, "/campaigns/welcome/stop", token: api.serverToken)
            #expect(stopped.status == .ok && stopped.dict("campaign")["status"] as? String == "stopped" && stopped.dict("campaign")["stopped_at"] is String)
            // The runner wakes, sees the stop and ends (it sends nothing more).
            api.clock.advance(by: .seconds(1))
            for _ in 0..<500 where api.node.runningCampaigns.withLock({ !$0.isEmpty }) { try await Task.sleep(for: .milliseconds(5)) }
            #expect(api.node.runningCampaigns.withLock { $0.isEmpty }, "the runner ended")
            api.clock.advance(by: .seconds(3))
            campaign = try await Self.campaign("welcome", api: api) { _ in true }
            #expect(campaign["messages_sent"] as? Int == 20 && campaign["status"] as? String == "stopped", "a stopped campaign sends nothing")
            #expect(try await Self.inbox("u21", api: api).isEmpty)

            let resumed = try await api.stream(.patch, "/campaigns/welcome/resume", token: api.serverToken)
            #expect(resumed.status == .ok && resumed.dict("campaign")["status"] as? String == "running" && resumed.dict("campaign")["resumed_at"] is String)
            campaign = try await Self.campaign("welcome", api: api) { $0["status"] as? String == "completed" }
            #expect(campaign["status"] as? String == "completed" && campaign["completed_at"] is String, "\(campaign)")
            #expect(campaign["messages_sent"] as? Int == 25 && campaign["failed"] as? Int == 0 && campaign["users_targeted"] as? Int == 25)
            for (index, id) in ids.enumerated() {
                let inbox = try await Self.inbox(id, api: api)
                #expect(inbox.count == 1, "\(id) got \(inbox.count) messages")
                #expect(inbox.first?["text"] as? String == "Hi User \(index + 1), from Brand")
                #expect((inbox.first?["user"] as? [String: Any])?["id"] as? String == "brand")
            }
            expectStreamError(try await api.stream(.patch, "/campaigns/welcome/stop", token: api.serverToken), .badRequest, code: 4, mentioning: "completed")
            expectStreamError(try await api.stream(.put, "/campaigns/welcome", token: api.serverToken, json: ["campaign": ["name": "x"]]), .badRequest, code: 4)
            let inUse = try await api.stream(.get, "/segments/all", token: api.serverToken)
            #expect(inUse.dict("segment")["in_use"] as? Bool == false, "a completed campaign no longer holds its segment")
        }
    }

    @Test("a runner that sends to users again after a crash finds their messages: each user has one, and the counts are exact")
    func exactlyOnceAfterACrash() async throws {
        try await TestAPI.run(configuration: Self.configuration(rate: 1000)) { api in
            let ids = try await Self.users(12, api: api)
            try await api.stream(.post, "/segments", token: api.serverToken, json: ["id": "all", "name": "All", "type": "user", "filter": ["id": ["$gte": "u"]]])
            let created = try await api.stream(
                .post, "/campaigns", token: api.serverToken,
                json: ["id": "c1", "name": "Once", "message_template": ["text": "Once, {{ user.id }}"], "segment_ids": ["all"], "sender_id": "brand"])
            #expect(created.status == .created, "\(created.rawBody)")
            // As if a runner sent to the first five users and the node died before keeping its progress.
            let campaign = try #require(try api.node.campaign("c1"))
            let sender = try await api.node.profile(of: UserID("brand")!)
            for id in ids.prefix(5) {
                let user = try await api.node.profile(of: UserID(id)!)
                #expect(try await api.node.deliver(campaign, to: user, from: sender, clientMessageID: campaign.clientMessageID) == nil)
            }
            #expect(try await api.stream(.post, "/campaigns/c1/start", token: api.serverToken, json: TestAPI.empty).status == .ok)
            let done = try await Self.campaign("c1", api: api) { $0["status"] as? String == "completed" }
            #expect(done["messages_sent"] as? Int == 12 && done["failed"] as? Int == 0, "\(done)")
            for id in ids {
                let inbox = try await Self.inbox(id, api: api)
                #expect(inbox.count == 1 && inbox.first?["text"] as? String == "Once, \(id)", "\(id): \(inbox.count)")
            }
        }
    }

    @Test("a user the channel refuses counts as failed; the sender is not sent their own campaign")
    func failures() async throws {
        try await TestAPI.run(configuration: Self.configuration(rate: 1000)) { api in
            _ = try await Self.users(3, api: api)
            // u02's channel with brand exists already, and brand left it: the message is refused.
            try await api.createStreamChannel(ChannelAddress.membersID([UserID("brand")!, UserID("u02")!]), by: "u02", members: ["brand"])
            let id = ChannelAddress.membersID([UserID("brand")!, UserID("u02")!])
            let left = try await api.stream(.post, "/channels/messaging/\(id)", token: api.serverToken, json: ["remove_members": ["brand"], "user_id": "u02"])
            #expect(left.status == .created || left.status == .ok, "\(left.rawBody)")
            try await api.stream(.post, "/segments", token: api.serverToken, json: ["id": "s", "name": "S", "type": "user", "filter": [:] as [String: Any]])
            try await api.stream(.post, "/campaigns", token: api.serverToken, json: ["id": "c", "name": "C", "text": "hello", "segment_id": "s", "sender_id": "brand"])
            #expect(try await api.stream(.patch, "/campaigns/c/schedule", token: api.serverToken, json: ["scheduled_for": 0]).status == .ok)
            let done = try await Self.campaign("c", api: api) { $0["status"] as? String == "completed" }
            #expect(done["messages_sent"] as? Int == 2 && done["failed"] as? Int == 2 && done["users_targeted"] as? Int == 4, "brand itself and u02: \(done)")
            let (first, third) = (try await Self.inbox("u01", api: api), try await Self.inbox("u03", api: api))
            #expect(first.count == 1 && third.count == 1)
        }
    }

    @Test("a run whose segment is gone halts: the campaign shows stopped with details, and once resumed with the segment back it completes")
    func halts() async throws {
        try await TestAPI.run(configuration: Self.configuration(rate: 1000)) { api in
            _ = try await Self.users(3, api: api)
            try await api.stream(.post, "/segments", token: api.serverToken, json: ["id": "s", "name": "S", "type": "user", "filter": ["id": ["$gt": "u"]]])
            try await api.stream(.post, "/campaigns", token: api.serverToken, json: ["id": "c", "name": "C", "text": "hello", "segment_id": "s", "sender_id": "brand"])
            let segment = try #require(try api.node.segment("s"))
            try await api.node.deleteSegment("s")  // behind the API's back (it refuses while a campaign uses it)
            #expect(try await api.stream(.patch, "/campaigns/c/schedule", token: api.serverToken, json: TestAPI.empty).status == .ok)
            let halted = try await Self.campaign("c", api: api) { $0["status"] as? String == "stopped" }
            #expect(halted["status"] as? String == "stopped" && (halted["details"] as? String)?.contains("segment s") == true, "\(halted)")
            try await api.node.saveSegment(segment)
            api.clock.advance(by: .seconds(1))
            #expect(try await api.stream(.patch, "/campaigns/c/resume", token: api.serverToken).status == .ok)
            let done = try await Self.campaign("c", api: api) { $0["status"] as? String == "completed" }
            #expect(done["messages_sent"] as? Int == 3 && done["details"] == nil, "\(done)")
        }
    }

    @Test("a user who deleted their channel with the sender counts as failed; a campaign made again under the same id sends anew")
    func deletedChannelAndRecreatedCampaign() async throws {
        try await TestAPI.run(configuration: Self.configuration(rate: 1000)) { api in
            let ids = try await Self.users(3, api: api)
            let channel = ChannelAddress.membersID([UserID("brand")!, UserID("u01")!])
            try await api.createStreamChannel(channel, by: "brand", members: ["u01"])
            #expect(try await api.stream(.delete, "/channels/messaging/\(channel)", token: api.serverToken).status == .ok)
            try await api.stream(.post, "/segments", token: api.serverToken, json: ["id": "s", "name": "S", "type": "user", "filter": ["id": ["$gt": "u"]]])
            for text in ["first", "second"] {
                try await api.stream(.post, "/campaigns", token: api.serverToken, json: ["id": "c", "name": "C", "text": text, "segment_id": "s", "sender_id": "brand"])
                #expect(try await api.stream(.patch, "/campaigns/c/schedule", token: api.serverToken, json: TestAPI.empty).status == .ok)
                let done = try await Self.campaign("c", api: api) { $0["status"] as? String == "completed" }
                #expect(done["messages_sent"] as? Int == 2 && done["failed"] as? Int == 1, "\(text): \(done)")
                #expect(try await api.stream(.delete, "/campaigns/c", token: api.serverToken).status == .ok)
                api.clock.advance(by: .seconds(1))
            }
            for id in ids.dropFirst() {
                #expect(try await Self.inbox(id, api: api).map { $0["text"] as? String } == ["first", "second"], "\(id)")
            }
        }
    }

    @Test("test sends to the given users now, as new messages, without changing the status or the counts")
    func testSend() async throws {
        try await TestAPI.run(configuration: Self.configuration()) { api in
            _ = try await Self.users(3, api: api)
            try await api.stream(.post, "/segments", token: api.serverToken, json: ["id": "s", "name": "S", "type": "user", "filter": [:] as [String: Any]])
            try await api.stream(
                .post, "/campaigns", token: api.serverToken,
                json: ["id": "c", "name": "C", "text": "Hey {{ user.name }}", "segment_id": "s", "sender_id": "brand", "defaults": ["name": "friend"]])
            let tested = try await api.stream(.post, "/campaigns/c/test", token: api.serverToken, json: ["users": ["u01", "ghost"]])
            #expect(tested.status == .created, "\(tested.rawBody)")
            #expect(tested.dict("results")["u01"] as? String == "sent" && (tested.dict("results")["ghost"] as? String)?.contains("ghost") == true)
            #expect(tested.object["status"] as? String == "failed" && tested.object["details"] is String)
            try await api.stream(.post, "/campaigns/c/test", token: api.serverToken, json: ["users": ["u01"]])
            #expect(try await Self.inbox("u01", api: api).map { $0["text"] as? String } == ["Hey User 1", "Hey User 1"], "each test is a new message")
            let campaign = try await api.stream(.get, "/campaigns/c", token: api.serverToken).dict("campaign")
            #expect(campaign["status"] as? String == "draft" && campaign["messages_sent"] as? Int == 0)
            for users in [[String](), (1...11).map { "u\($0)" }] {
                expectStreamError(try await api.stream(.post, "/campaigns/c/test", token: api.serverToken, json: ["users": users]), .badRequest, code: 4, "\(users.count) users")
            }
        }
    }

    @Test("campaign create, list, update and delete; bad campaigns and wrong states get clear errors")
    func campaignCRUD() async throws {
        try await TestAPI.run(configuration: Self.configuration()) { api in
            _ = try await Self.users(2, api: api)
            try await api.stream(.post, "/segments", token: api.serverToken, json: ["id": "s", "name": "S", "type": "user", "filter": [:] as [String: Any]])
            let base: [String: Any] = ["name": "C", "text": "hi", "segment_id": "s", "sender_id": "brand"]
            func with(_ change: [String: Any]) -> [String: Any] { ["campaign": base.merging(change) { $1 }] }
            let bad: [[String: Any]] = [
                ["campaign": ["text": "hi", "segment_id": "s", "sender_id": "brand"]], with(["text": ""]), with(["segment_id": "nope"]),
                with(["sender_id": "ghost"]), with(["channel_type": "nope"]), with(["channel_type": "dm"]), with(["text": "hi {{ user.email }}"]),
                with(["attachments": [["type": "image", "image_url": "https://x"]]]), with(["defaults": ["name": 3]]), with(["id": "a b"]),
            ]
            for body in bad {
                expectStreamError(try await api.stream(.post, "/campaigns", token: api.serverToken, json: body), .badRequest, code: 4, "\(body)")
            }
            let created = try await api.stream(
                .post, "/campaigns", token: api.serverToken,
                json: with(["id": "c", "attachments": [["asset_id": "logo.png", "title": "logo.png", "mime_type": "image/png", "file_size": 10]]]))
            #expect(created.status == .created, "\(created.rawBody)")
            #expect((created.dict("campaign")["attachments"] as? [[String: Any]])?.first?["asset_id"] as? String == "logo.png")
            expectStreamError(try await api.stream(.post, "/campaigns", token: api.serverToken, json: with(["id": "c"])), .badRequest, code: 4, mentioning: "already exists")
            let updated = try await api.stream(.put, "/campaigns/c", token: api.serverToken, json: ["campaign": ["name": "Renamed", "text": "yo"]])
            #expect(updated.status == .created && updated.dict("campaign")["name"] as? String == "Renamed" && updated.dict("campaign")["text"] as? String == "yo")
            #expect((try await api.stream(.get, "/campaigns", token: api.serverToken).object["campaigns"] as? [Any])?.count == 1)

            expectStreamError(try await api.stream(.patch, "/campaigns/c/resume", token: api.serverToken), .badRequest, code: 4, mentioning: "draft")
            expectStreamError(try await api.stream(.patch, "/campaigns/c/stop", token: api.serverToken), .badRequest, code: 4, mentioning: "draft")
            expectStreamError(
                try await api.stream(.patch, "/campaigns/c/schedule", token: api.serverToken, json: ["scheduled_for": "tomorrow"]), .badRequest, code: 4)
            let later = try await api.stream(.patch, "/campaigns/c/schedule", token: api.serverToken, json: ["scheduled_for": (api.clock.now().advanced(by: .seconds(3600))).rfc3339])
            #expect(later.dict("campaign")["status"] as? String == "scheduled", "\(later.rawBody)")
            expectStreamError(try await api.stream(.delete, "/segments/s", token: api.serverToken), .badRequest, code: 4, mentioning: "campaign c")
            #expect(try await api.stream(.get, "/segments/s", token: api.serverToken).dict("segment")["in_use"] as? Bool == true)
            #expect(try await api.stream(.patch, "/campaigns/c/stop", token: api.serverToken).status == .ok)
            expectStreamError(try await api.stream(.patch, "/campaigns/c/schedule", token: api.serverToken, json: TestAPI.empty), .badRequest, code: 4, mentioning: "resume")
            expectStreamError(try await api.stream(.get, "/campaigns/c", as: "u01"), .forbidden, code: 17, "a user reads a campaign")
            #expect(try await api.stream(.delete, "/campaigns/c", token: api.serverToken).status == .ok)
            expectStreamError(try await api.stream(.get, "/campaigns/c", token: api.serverToken), .notFound, code: 16, mentioning: "Can't find campaign")
            #expect(try await api.stream(.delete, "/segments/s", token: api.serverToken).status == .ok)
        }
    }
}
