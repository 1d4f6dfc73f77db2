import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive hold on a data directory: one process at a time writes its WAL and store.
///
/// `flock` on `<directory>/chorus.lock`, taken before anything else in the directory is read or
/// written and held until ``release()`` or the process ends (the kernel drops it even on a
/// crash or `kill -9`, so a stale file never blocks a restart). The file holds the holder's pid,
/// node name and start time, so a refused process can say who has the directory. `flock` locks
/// belong to the open file, so a second open in the same process is refused too; and a child
/// process spawned while the lock is held shares that file until its `exec` closes it, so others
/// see a release only once such a child has started its program.
public final class DataDirectoryLock: Sendable {
    /// The lock file's name inside the data directory.
    public static let fileName = "chorus.lock"

    /// Why the lock could not be taken.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public enum Code: Sendable { case held, io }
        public var code: Code
        public var description: String
    }

    public let path: String
    /// The open lock file; `nil` once released.
    private let descriptor: Mutex<Int32?>

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = Mutex(descriptor)
    }

    deinit { release() }

    /// Takes the lock of `directory` (created if missing) for `nodeName`, or throws at once
    /// (``Failure/Code/held``) naming the process that holds it.
    public static func acquire(directory: String, nodeName: String) throws -> DataDirectoryLock {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw Failure(code: .io, description: "cannot create the data directory \(directory): \(reason(error))")
        }
        let path = directory + "/" + fileName
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw Failure(code: .io, description: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        // A few quick retries: `chorus wal verify` probes the lock for a moment to name its holder.
        var locked = flock(descriptor, LOCK_EX | LOCK_NB) == 0
        for _ in 0..<5 where !locked && errno == EWOULDBLOCK {
            usleep(20_000)
            locked = flock(descriptor, LOCK_EX | LOCK_NB) == 0
        }
        guard locked else {
            let code = errno
            close(descriptor)
            guard code == EWOULDBLOCK else {
                throw Failure(code: .io, description: "cannot lock \(path): \(String(cString: strerror(code)))")
            }
            let holder = Holder(parsing: (try? String(contentsOfFile: path, encoding: .utf8)) ?? "")
            throw Failure(
                code: .held,
                description: "the data directory \(directory) is in use by \(holder.map(String.init(describing:)) ?? "another process"); "
                    + "stop that process or choose another data directory")
        }
        let holder = Holder(pid: getpid(), node: nodeName, started: Date())
        let text = Array(holder.fileText.utf8)
        guard ftruncate(descriptor, 0) == 0, pwrite(descriptor, text, text.count, 0) == text.count else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw Failure(code: .io, description: "cannot write \(path): \(reason)")
        }
        return DataDirectoryLock(path: path, descriptor: descriptor)
    }

    /// Who holds the lock of `directory` now, if anyone (for tools that only read the directory).
    public static func holder(of directory: String) -> String? {
        let path = directory + "/" + fileName
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        if flock(descriptor, LOCK_SH | LOCK_NB) == 0 { return nil }
        return Holder(parsing: (try? String(contentsOfFile: path, encoding: .utf8)) ?? "").map(String.init(describing:)) ?? "another process"
    }

    /// Lets go of the directory (the file stays; its contents only describe the last holder).
    public func release() {
        descriptor.withLock { descriptor in
            if let open = descriptor { close(open) }
            descriptor = nil
        }
    }

    private static func reason(_ error: any Error) -> String {
        (error as NSError).localizedFailureReason ?? error.localizedDescription
    }

    /// The contents of the lock file.
    struct Holder: CustomStringConvertible {
        var pid: Int32
        var node: String
        var started: Date

        init(pid: Int32, node: String, started: Date) {
            self.pid = pid
            self.node = node
            self.started = started
        }

        /// Reads `pid N`, `node NAME` and `started TIME` lines; `nil` without a pid.
        init?(parsing text: String) {
            var fields: [Substring: Substring] = [:]
            for line in text.split(separator: "\n") {
                guard let space = line.firstIndex(of: " ") else { continue }
                fields[line[..<space]] = line[line.index(after: space)...]
            }
            guard let pid = fields["pid"].flatMap({ Int32($0) }) else { return nil }
            self.pid = pid
            node = fields["node"].map(String.init) ?? "?"
            started = fields["started"].flatMap { try? Date.ISO8601FormatStyle().parse(String($0)) } ?? Date(timeIntervalSince1970: 0)
        }

        var fileText: String { "pid \(pid)\nnode \(node)\nstarted \(started.formatted(.iso8601))\n" }

        var description: String { "chorus node \(node) (pid \(pid), started \(started.formatted(.iso8601)))" }
    }
}
