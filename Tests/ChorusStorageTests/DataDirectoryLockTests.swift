import ChorusStorage
import ChorusTestSupport
import Foundation
import Testing

@Suite("Data directory lock")
struct DataDirectoryLockTests {
    func withDirectory(_ body: (String) throws -> Void) rethrows {
        let path = NSTemporaryDirectory() + "chorus-lock-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try body(path)
    }

    func withDirectory(_ body: (String) async throws -> Void) async rethrows {
        let path = NSTemporaryDirectory() + "chorus-lock-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await body(path)
    }

    @Test("a second holder is refused at once, naming the first; after release the directory is free")
    func exclusive() async throws {
        try await withDirectory { directory in
            let first = try DataDirectoryLock.acquire(directory: directory, nodeName: "node-a")
            #expect(FileManager.default.fileExists(atPath: directory + "/" + DataDirectoryLock.fileName))
            #expect(DataDirectoryLock.holder(of: directory)?.contains("node-a") == true)
            do {
                _ = try DataDirectoryLock.acquire(directory: directory, nodeName: "node-b")
                Issue.record("the second lock should be refused")
            } catch let failure as DataDirectoryLock.Failure {
                #expect(failure.code == .held)
                #expect(failure.description.contains(directory))
                #expect(failure.description.contains("node node-a (pid \(getpid())"), "\(failure)")
            }
            first.release()
            first.release()  // idempotent
            // An flock belongs to the open file, and a process another test spawns at this moment
            // holds a copy of every descriptor until its exec closes them (O_CLOEXEC). So the
            // lock is free once that copy is gone too: wait for it, bounded.
            try await eventually("the released lock is free", timeout: .seconds(10)) {
                DataDirectoryLock.holder(of: directory) == nil
            }
            let second = try DataDirectoryLock.acquire(directory: directory, nodeName: "node-b")
            #expect(DataDirectoryLock.holder(of: directory)?.contains("node-b") == true)
            second.release()
        }
    }

    @Test("dropping the lock object releases it; a missing directory is created; no holder without a lock file")
    func lifecycle() throws {
        try withDirectory { directory in
            #expect(DataDirectoryLock.holder(of: directory) == nil)
            do {
                _ = try DataDirectoryLock.acquire(directory: directory + "/nested/data", nodeName: "n")
            }
            let again = try DataDirectoryLock.acquire(directory: directory + "/nested/data", nodeName: "n")
            again.release()
        }
    }

    @Test("a directory that cannot be created is an I/O failure with the path")
    func uncreatable() throws {
        try withDirectory { directory in
            try Data().write(to: URL(fileURLWithPath: directory))  // a file where the directory should be
            do {
                _ = try DataDirectoryLock.acquire(directory: directory + "/data", nodeName: "n")
                Issue.record("should fail")
            } catch let failure as DataDirectoryLock.Failure {
                #expect(failure.code == .io)
                #expect(failure.description.contains(directory))
            }
        }
    }
}
