import Foundation

/// Keeps the ring in `<data dir>/ring.json`, so a restarted node knows the newest ring it saw.
public enum RingFile {
    public static func load(from directory: String) -> RingDescription? {
        guard let data = FileManager.default.contents(atPath: directory + "/ring.json") else { return nil }
        return try? JSONDecoder().decode(RingDescription.self, from: data)
    }

    public static func save(_ ring: HashRing, to directory: String) {
        guard let data = try? JSONEncoder().encode(RingDescription(ring)) else { return }
        _ = FileManager.default.createFile(atPath: directory + "/ring.json", contents: data)
    }
}
