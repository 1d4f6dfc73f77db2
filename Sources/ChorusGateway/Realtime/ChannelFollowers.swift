/// The sessions on one edge that follow one channel, kept by event format.
///
/// The fan-out reads this once per event, under the hub's lock: taking a copy costs two array
/// retains (not one per session), and an event one format never gets (presence and watch changes
/// never reach v1 sockets) skips that format's sessions without touching them. Sessions are added
/// and removed in O(1) (a removal moves the last session of its format into the gap), so a
/// thousand sockets closing at once do not each walk the list.
struct ChannelFollowers {
    private(set) var v1: [RealtimeSession] = []
    private(set) var stream: [RealtimeSession] = []
    /// Each session's position in the array of its format.
    private var positions: [String: Int] = [:]

    var isEmpty: Bool { positions.isEmpty }
    var count: Int { positions.count }

    /// Every follower, v1 first.
    var all: [RealtimeSession] { v1 + stream }

    /// The Stream follower with connection id `id`.
    func streamSession(_ id: String) -> RealtimeSession? {
        guard let position = positions[id], position < stream.count, stream[position].id == id else { return nil }
        return stream[position]
    }

    /// Adds `session`; false if it follows already.
    @discardableResult
    mutating func insert(_ session: RealtimeSession) -> Bool {
        guard positions[session.id] == nil else { return false }
        switch session.format {
        case .v1:
            positions[session.id] = v1.count
            v1.append(session)
        case .stream:
            positions[session.id] = stream.count
            stream.append(session)
        }
        return true
    }

    /// Removes `session`; false if it did not follow.
    @discardableResult
    mutating func remove(_ session: RealtimeSession) -> Bool {
        guard let position = positions.removeValue(forKey: session.id) else { return false }
        switch session.format {
        case .v1: Self.remove(at: position, from: &v1, positions: &positions)
        case .stream: Self.remove(at: position, from: &stream, positions: &positions)
        }
        return true
    }

    private static func remove(at position: Int, from sessions: inout [RealtimeSession], positions: inout [String: Int]) {
        let last = sessions.removeLast()
        guard position < sessions.count else { return }
        sessions[position] = last
        positions[last.id] = position
    }
}
