import Foundation

/// Keeps the ring in `<data dir>/ring.json`, so a restarted node knows the newest ring it saw.
public enum RingFile {
    public static func load(from directory: String) -> RingDescription? {
        guard let data = FileManager.default.contents(atPath: directory + "/ring.json") else { return nil }
        return try? JSONDecoder().decode(RingDescription.self, from: data)
    }

    /// Saves `ring` durably (``DurableFile``): a crash leaves the old ring or the new one, never a
    /// torn file that a restart could not read (it would start from the configured ring).
    public static func save(_ ring: HashRing, to directory: String) throws {
        try DurableFile.write(JSONEncoder().encode(RingDescription(ring)), to: directory + "/ring.json", in: directory)
    }
}

/// Keeps the target of a hand-off under way in `<data dir>/handoff.json` (synced before anything
/// moves), so a node that restarts in the middle of one keeps refusing the keys it was giving away
/// (they may already be served by their new owner) until the new ring is adopted or the hand-off
/// is aborted. Removed when the hand-off ends.
public enum HandoffFile {
    public static func load(from directory: String) -> HashRing? {
        guard let data = FileManager.default.contents(atPath: path(directory)) else { return nil }
        return (try? JSONDecoder().decode(RingDescription.self, from: data))?.ring
    }

    /// Saves `target` (written, synced, renamed into place, the directory synced), or removes
    /// the file for `nil`.
    public static func save(_ target: HashRing?, to directory: String) throws {
        guard let target else {
            if FileManager.default.fileExists(atPath: path(directory)) { try FileManager.default.removeItem(atPath: path(directory)) }
            try DurableFile.sync(directory)
            return
        }
        try DurableFile.write(JSONEncoder().encode(RingDescription(target)), to: path(directory), in: directory)
    }

    private static func path(_ directory: String) -> String { directory + "/handoff.json" }
}

/// Keeps a Raft member's ``RaftNode/Persistent`` (term, vote, log) in `<data dir>/raft.json`,
/// rewritten durably (``DurableFile``) on every change before anything the change produced is
/// sent. The metadata log holds a few entries per membership change, so rewriting it whole stays
/// cheap; a snapshot would replace old entries if it ever grew large.
public enum RaftFile {
    public static func load<Command: Codable>(_: Command.Type, from directory: String) throws -> RaftNode<Command>.Persistent? {
        guard let data = FileManager.default.contents(atPath: path(directory)) else { return nil }
        return try JSONDecoder().decode(RaftNode<Command>.Persistent.self, from: data)
    }

    public static func save<Command: Codable>(_ persistent: RaftNode<Command>.Persistent, to directory: String) throws {
        try DurableFile.write(JSONEncoder().encode(persistent), to: path(directory), in: directory)
    }

    static func path(_ directory: String) -> String { directory + "/raft.json" }
}

/// Small files that must survive a crash once written: the new content is written beside the
/// old (`<path>.tmp`), synced, renamed into place, and the directory synced, so a crash —
/// an OS crash or a power loss too — leaves the old or the new file, never a torn one, and a
/// write that returned is kept. (`Data.write(options: .atomic)` renames but syncs nothing.)
public enum DurableFile {
    public static func write(_ data: Data, to path: String, in directory: String) throws {
        let temporary = path + ".tmp"
        try data.write(to: URL(fileURLWithPath: temporary))
        try sync(temporary)
        guard rename(temporary, path) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
        try sync(directory)
    }

    public static func sync(_ path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw CocoaError(.fileReadNoPermission, userInfo: [NSFilePathErrorKey: path]) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path]) }
    }
}
