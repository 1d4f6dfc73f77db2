import ChorusActorSystem
import ChorusChat
import ChorusCluster
import ChorusGateway
import ChorusModel
import Foundation
import Logging
import Testing

/// What ``ChorusNode`` restores from a data directory before it serves.
@Suite("Node builder")
struct NodeBuilderTests {
    func build(in directory: String) throws -> ChorusNode {
        let configuration = ChorusConfiguration.testing {
            $0.cluster.nodes = ["chorus-1", "chorus-2"].map { ClusterConfiguration.Node(name: $0, clusterAddress: "", clientAddress: "", dataDir: "") }
            $0.node.dataDir = directory
            $0.storage.fsync = "none"
        }
        return try ChorusNode(
            configuration: configuration, cluster: .init(name: "chorus-1", index: 0, transport: .inProcess(InProcessNetwork())),
            clock: ManualTimeSource(), jwtSecret: Array("secret".utf8), cdnKey: Array("cdn".utf8), logger: Logger(label: "test"))
    }

    @Test("a node restarted in the middle of a hand-off keeps refusing the keys it was giving away; a finished one is forgotten")
    func restartMidHandoff() throws {
        let directory = NSTemporaryDirectory() + "chorus-builder-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ring = HashRing(nodes: ["chorus-1", "chorus-2"])
        let target = ring.removing("chorus-1")
        let moving = try #require((1...500).lazy.map { ActorIdentity(kind: "channel", key: "\($0)") }.first { ring.owner(of: $0.description) == "chorus-1" })
        do {
            let node = try build(in: directory)
            defer { node.storage?.close() }
            #expect(!node.member!.placement.gate.isMoving(moving))
        }
        try HandoffFile.save(target, to: directory)
        do {
            let node = try build(in: directory)
            defer { node.storage?.close() }
            #expect(node.member!.placement.gate.isMoving(moving))
            // The ring it aimed at arrives: the keys are the new owner's, and the target is forgotten.
            node.member!.placement.adopt(RingDescription(target))
            #expect(!node.member!.placement.gate.isMoving(moving))
            #expect(HandoffFile.load(from: directory) == nil)
        }
        try HandoffFile.save(target, to: directory)
        let node = try build(in: directory)
        defer { node.storage?.close() }
        // Its saved ring is already the target's: nothing to keep refused.
        #expect(!node.member!.placement.gate.isMoving(moving))
        #expect(HandoffFile.load(from: directory) == nil)
    }
}
