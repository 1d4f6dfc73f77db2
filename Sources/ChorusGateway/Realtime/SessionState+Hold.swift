import NIOCore

// A held channel of a session (see ``SessionState``): what it keeps and what it waits for.

extension SessionState {
    /// A held channel's frames and what it waits for.
    struct Hold {
        /// Every event at or below it went out or is not needed; `nil` while the client (which
        /// announced a resume) may still ask for older events.
        var delivered: UInt64?
        /// Whether the end of the resume window decides `delivered` (else a client replay does).
        var untilResumeWindowEnds: Bool
        /// Client replays (a resume, a join) on their way, by id.
        var clientReplays: Set<UInt64> = []
        /// The newest edge replay on its way, by id (older ones are superseded).
        var edgeReplay: UInt64?
        /// The newest seq any replay that finished covers (all events up to it were in one).
        var through: UInt64 = 0
        /// The newest seq of a live event held: an ephemeral event arriving after it goes out after it.
        var lastLive: UInt64 = 0
        /// Ephemeral events held before any live event: they go out before the next live event.
        var floating = 0
        var frames: [Held] = []

        var isWaiting: Bool { delivered == nil || !clientReplays.isEmpty || edgeReplay != nil }

        /// Whether the channel waits for this replay (any other is stale: from before the channel
        /// was followed again, or superseded by a newer edge replay).
        func awaits(_ replayer: Replayer) -> Bool {
            switch replayer {
            case .client(let id): clientReplays.contains(id)
            case .edge(let id): edgeReplay == id
            }
        }
    }

    /// A held frame and where it goes: in `position` order, then `rank` order. An event at its
    /// seq; a replay's trailer after its last seq's event; an ephemeral event after the live
    /// event before it, or (``Rank/floating``) before the live event after it.
    struct Held {
        enum Rank: UInt8, Comparable {
            case floating, event, trailer, ephemeral
            static func < (a: Rank, b: Rank) -> Bool { a.rawValue < b.rawValue }
        }

        var position: UInt64
        var rank: Rank
        var frame: Frame

        static func event(_ frame: Frame) -> Held { Held(position: frame.seq ?? 0, rank: .event, frame: frame) }
    }
}

extension [SessionState.Held] {
    var byteCount: Int { reduce(0) { $0 + $1.frame.bytes.readableBytes } }
}

extension SessionState.Hold {
    /// Places the floating ephemeral events just before the event at `seq`.
    mutating func anchorFloating(before seq: UInt64) {
        for index in frames.indices where frames[index].rank == .floating && frames[index].position == 0 {
            frames[index].position = seq
        }
        floating = 0
    }
}
