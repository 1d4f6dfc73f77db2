import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Checkpoint files: `checkpoint-<covered LSN, 20 digits>.json` in the data directory.
///
/// A checkpoint holds every actor's state; all WAL records below its covered LSN are in it, so
/// recovery loads it and replays the WAL from there. Written atomically (temporary file, fsync,
/// rename, fsync of the directory); older checkpoints are deleted once a newer one is durable.
public struct CheckpointStore: Sendable {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    private static let prefix = "checkpoint-"
    private static let suffix = ".json"

    /// The covered LSNs of the checkpoints present, ascending.
    public func list() -> [UInt64] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name -> UInt64? in
            guard name.hasPrefix(Self.prefix), name.hasSuffix(Self.suffix) else { return nil }
            return UInt64(name.dropFirst(Self.prefix.count).dropLast(Self.suffix.count))
        }.sorted()
    }

    func path(_ covered: UInt64) -> String {
        let digits = String(covered)
        return directory + "/" + Self.prefix + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + Self.suffix
    }

    /// The newest checkpoint's covered LSN and contents, if any.
    public func latest() throws -> (covered: UInt64, bytes: Data)? {
        guard let covered = list().last else { return nil }
        guard let data = FileManager.default.contents(atPath: path(covered)) else {
            throw WALError(.io, "cannot read checkpoint", file: path(covered))
        }
        return (covered, data)
    }

    /// Durably writes a checkpoint covering every record below `covered`, then deletes older ones.
    public func write(_ bytes: Data, covered: UInt64) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let final = path(covered)
        let temporary = final + ".tmp"
        let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WALError(.io, "cannot create checkpoint", file: temporary) }
        var segment = SegmentFileHandle(descriptor: fd, path: temporary)
        defer { segment.close() }
        try segment.write(Array(bytes))
        guard fsync(fd) == 0 else { throw WALError(.io, "cannot sync checkpoint", file: temporary) }
        guard rename(temporary, final) == 0 else { throw WALError(.io, "cannot rename checkpoint", file: final) }
        try SegmentFile.syncDirectory(directory)
        for older in list() where older < covered {
            unlink(path(older))
        }
    }
}

/// A plain file descriptor written in full (EINTR and short writes handled).
struct SegmentFileHandle {
    var descriptor: Int32
    let path: String

    func write(_ bytes: [UInt8]) throws {
        var written = 0
        try bytes.withUnsafeBytes { buffer in
            while written < buffer.count {
                let result = Glibc.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    throw WALError(.io, "write failed: \(String(cString: strerror(errno)))", file: path, offset: written)
                }
                written += result
            }
        }
    }

    mutating func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }
}
