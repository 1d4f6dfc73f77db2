import ChorusCluster
import Foundation
import Testing

@Suite("RingFile")
struct RingFileTests {
    private func scratchDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ringfile-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test("the newest ring saved is the one loaded, whatever a crash left beside it")
    func newestSaved() throws {
        let directory = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(RingFile.load(from: directory) == nil)

        try RingFile.save(HashRing(nodes: ["a", "b"], virtualNodes: 16, epoch: 3), to: directory)
        // A crash in the middle of the next save leaves a torn temporary file, never a torn ring.
        try Data("{\"nodes\":[\"a\",".utf8).write(to: URL(fileURLWithPath: directory + "/ring.json.tmp"))
        #expect(RingFile.load(from: directory) == RingDescription(HashRing(nodes: ["a", "b"], virtualNodes: 16, epoch: 3)))

        try RingFile.save(HashRing(nodes: ["a", "b", "c"], virtualNodes: 16, epoch: 4), to: directory)
        #expect(RingFile.load(from: directory) == RingDescription(HashRing(nodes: ["a", "b", "c"], virtualNodes: 16, epoch: 4)))
        #expect(!FileManager.default.fileExists(atPath: directory + "/ring.json.tmp"))
    }

    @Test("a ring that cannot be saved is an error, not a silent loss")
    func unsavable() throws {
        let directory = try scratchDirectory()
        try FileManager.default.removeItem(atPath: directory)
        #expect(throws: (any Error).self) { try RingFile.save(HashRing(nodes: ["a"], virtualNodes: 16, epoch: 1), to: directory) }
    }
}
