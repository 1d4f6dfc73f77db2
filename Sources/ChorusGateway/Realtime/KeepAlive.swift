import ChorusModel

/// When a WebSocket gets its heartbeat frame, when it is pinged, and when it counts as gone.
///
/// One timer of the hub ticks every socket (``RealtimeHub``), so a socket costs no task and no
/// timer of its own. The client's side: a heartbeat frame (`health`, or Stream's `health.check`)
/// every heartbeat interval; the server's side: anything the client sends counts as hearing from
/// it. Silent for half the idle timeout, the client is pinged (once per silence); silent for the
/// whole idle timeout, it is closed.
struct KeepAlive: Sendable {
    let heartbeat: Duration
    let idleTimeout: Duration
    private(set) var nextHeartbeat: Timestamp
    /// When the current silence's last ping went out.
    private(set) var pinged: Timestamp?

    struct Actions: Equatable {
        var heartbeat = false
        var ping = false
        var close = false
    }

    init(heartbeat: Duration, idleTimeout: Duration, start: Timestamp) {
        self.heartbeat = heartbeat
        self.idleTimeout = idleTimeout
        self.nextHeartbeat = start.advanced(by: heartbeat)
    }

    /// What is due at `now`, the client last heard from at `heard`.
    mutating func tick(now: Timestamp, heard: Timestamp) -> Actions {
        var actions = Actions()
        let silence = Self.elapsed(from: heard, to: now)
        if silence >= idleTimeout {
            actions.close = true
            return actions
        }
        if nextHeartbeat <= now {
            actions.heartbeat = true
            nextHeartbeat = now.advanced(by: heartbeat)  // a late tick does not send a burst
        }
        // The client answered: a new silence. Heard in the ping's own millisecond counts too (a
        // pong over loopback often is): when the ping went out, the client had been silent for
        // half the idle timeout, so anything heard since is an answer. (With `<`, such a client
        // was never pinged again and was closed a full idle timeout later.)
        if let pinged, pinged <= heard { self.pinged = nil }
        if silence >= idleTimeout / 2, pinged == nil {
            actions.ping = true
            pinged = now
        }
        return actions
    }

    private static func elapsed(from start: Timestamp, to end: Timestamp) -> Duration {
        .milliseconds(end.milliseconds - start.milliseconds)
    }
}
