import ChorusActorSystem
import ChorusAuth
import ChorusChat
import ChorusGateway
import ChorusModel
import Foundation

/// Micro benchmarks of the single-node hot paths (in-memory journal). Wall time on a shared
/// 2-core machine is noisy; compare the CPU µs per operation and the ratios between rows.
func actorBenchmarks() async throws {
let node = ChatNode(actorSystem: ClusterActorSystem())
let users = (0..<64).map { UserID("user\($0)")! }
for user in users { _ = try await node.ensureUser(user, displayName: user.rawValue) }
// channels[i] is owned by users[i].
var createdChannels: [ChannelActor] = []
for user in users {
    let info = try await node.createChannel(kind: .room, name: "bench \(user)", owner: user)
    createdChannels.append(try node.channel(info.id))
}
let channels = createdChannels
let draft = MessageDraft(body: String(repeating: "x", count: 64))
let n = 200_000

var results: [Result] = []

results.append(try await measure("send: 1 sender, 1 channel", operations: n) {
    for _ in 0..<n { _ = try await channels[0].send(draft, from: users[0], senderName: "bench") }
})

// Every send with its own client message id: past the first 1,000 the channel forgets one per send.
let clientIDs = (0..<n).map { "client-\($0)" }
results.append(try await measure("send with a client message id: 1 sender, 1 channel", operations: n) {
    for id in clientIDs { _ = try await channels[3].send(draft, from: users[3], senderName: "bench", clientMessageID: id) }
})

results.append(try await measure("send: 64 senders, 64 channels", operations: n) {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for (i, channel) in channels.enumerated() {
            group.addTask {
                for _ in 0..<(n / 64) { _ = try await channel.send(draft, from: users[i], senderName: "bench") }
            }
        }
        try await group.waitForAll()
    }
})

results.append(try await measure("page: latest 50 messages", operations: n / 10) {
    for _ in 0..<(n / 10) { _ = try await channels[1].messages(.latest(limit: 50), for: users[1]) }
})

let secret = Array("benchmark-secret".utf8)
let token = JWT.sign(JWT.Claims(userID: "alice", name: "Alice"), secret: secret)
let now = Timestamp.seconds(1_800_000_000)
results.append(try await measure("JWT verify (HS256)", operations: n) {
    for _ in 0..<n { _ = try JWT.verify(token, secret: secret, now: now) }
})

let message = try await channels[2].send(draft, from: users[2], senderName: "bench")
let encoder = JSONEncoder()
results.append(try await measure("JSON encode: Message (Codable)", operations: n) {
    for _ in 0..<n { _ = try encoder.encode(message) }
})

print("| benchmark | ops | ops/s (wall) | CPU µs/op |")
print("| --- | ---: | ---: | ---: |")
for r in results {
    print("| \(r.name) | \(r.operations) | \(Int(r.perSecond)) | \(String(format: "%.2f", r.cpuMicrosPerOperation)) |")
}
}
