import ChorusModel
import Foundation

/// Segments (docs/stream-api.md, "Segments"): kept as app documents, resolved to their users a
/// page at a time across the cluster.
extension ChatNode {
    static func segmentKey(_ id: String) -> String { "segment/" + id }

    /// Segment `id`, if it exists.
    public func segment(_ id: String) throws -> Segment? {
        try document(Self.segmentKey(id))
    }

    /// Every segment, oldest first.
    public func segments() -> [Segment] {
        documents(prefix: Self.segmentKey("")).sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    /// Creates or replaces `segment` (nil with `id`: removes it) on every node.
    public func saveSegment(_ segment: Segment) async throws {
        try await saveDocument(Self.segmentKey(segment.id), encoding: segment)
    }

    public func deleteSegment(_ id: String) async throws {
        try await saveDocument(Self.segmentKey(id), nil)
    }

    /// How many users `filter` matches now (a paged scan; no more than one page in memory).
    public func countUsers(matching filter: QueryFilter) async throws -> Int {
        var (count, cursor) = (0, UserID?.none)
        while true {
            let page = try await users(matching: filter, after: cursor, limit: 1_000)
            count += page.count
            guard page.count == 1_000, let last = page.last else { return count }
            cursor = last.id
        }
    }

    /// The first `limit` users after `cursor` (ascending by id) that `filter` matches. A filter
    /// that names its users is resolved from those ids; any other asks every node for its first
    /// `limit` matches and merges them (a user held by several replicas counts once). A node
    /// judges a user by its own copy, which a backup may hold slightly behind its primary.
    public func users(matching filter: QueryFilter, after cursor: UserID?, limit: Int) async throws -> [UserProfile] {
        if let named = Segment.explicitUsers(filter) {
            var found: [UserProfile] = []
            for id in named where cursor.map({ id > $0 }) ?? true {
                guard found.count < limit else { break }
                do {
                    let profile = try await profile(of: id)
                    if filter.matches({ Segment.document(profile)[$0] }) { found.append(profile) }
                } catch let error as ChatError where error.code == .userNotFound {
                    continue
                }
            }
            return found
        }
        var merged = try await localUsers(matching: filter, after: cursor, limit: limit)
        try await withThrowingTaskGroup(of: [UserProfile].self) { group in
            for peer in cluster?.peers ?? [] {
                let actor = try chatNodeActor(on: peer)
                group.addTask { try await actor.users(matching: filter, after: cursor, limit: limit) }
            }
            for try await page in group { merged += page }
        }
        var seen = Set<UserID>()
        return Array(merged.sorted { $0.id < $1.id }.filter { seen.insert($0.id).inserted }.prefix(limit))
    }

    /// ``users(matching:after:limit:)`` over the users this node holds: the next `limit` ids
    /// after the cursor are picked out of the directory under its lock (no copy of it, no sort
    /// of every id), then judged; again while fewer than `limit` matched.
    func localUsers(matching filter: QueryFilter, after cursor: UserID?, limit: Int) async throws -> [UserProfile] {
        var (found, cursor) = ([UserProfile](), cursor)
        while found.count < limit {
            let next = directory.withEntries { entries in
                Self.smallest(limit, of: entries.users, after: cursor).map { ($0, entries.users[$0]!) }
            }
            for (_, actor) in next where found.count < limit {
                guard let profile = try? await actor.profile() else { continue }  // a replica that holds nothing of the user
                if filter.matches({ Segment.document(profile)[$0] }) { found.append(profile) }
            }
            guard next.count == limit, let last = next.last?.0 else { break }
            cursor = last
        }
        return found
    }

    /// The `count` smallest keys of `users` after `cursor`, ascending: one pass that keeps the
    /// best `count` in order (a random order inserts about `count · ln(n / count)` times).
    static func smallest(_ count: Int, of users: [UserID: UserActor], after cursor: UserID?) -> [UserID] {
        var best: [UserID] = []
        best.reserveCapacity(count + 1)
        for id in users.keys where cursor.map({ id > $0 }) ?? true {
            if best.count == count {
                guard id < best[count - 1] else { continue }
                best.removeLast()
            }
            var (low, high) = (0, best.count)
            while low < high {
                let middle = (low + high) / 2
                if best[middle] < id { low = middle + 1 } else { high = middle }
            }
            best.insert(id, at: low)
        }
        return best
    }
}

extension ChatNode {
    /// App document `key`, decoded.
    func document<Value: Decodable>(_ key: String) throws -> Value? {
        try documents.document(key).map { try JSONDecoder().decode(Value.self, from: Data($0.utf8)) }
    }

    /// Every app document under `prefix` that decodes (one that does not is logged and left out,
    /// so it cannot hide the others).
    func documents<Value: Decodable>(prefix: String) -> [Value] {
        documents.documents(prefix: prefix).compactMap { key, text in
            do {
                return try JSONDecoder().decode(Value.self, from: Data(text.utf8))
            } catch {
                logger.error("an app document does not decode; it is left out", metadata: ["key": "\(prefix)\(key)", "error": "\(error)"])
                return nil
            }
        }
    }

    /// Saves `value` as app document `key` (nil: removes it).
    func saveDocument(_ key: String, encoding value: (some Encodable)?) async throws {
        try await saveDocument(key, try value.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) })
    }
}
