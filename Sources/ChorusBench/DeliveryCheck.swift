/// What one subscriber saw of its channel's sequence numbers, checked against what was acknowledged.
///
/// The benchmark writes into fresh channels only, so every sequence number the channel takes from the
/// first acknowledged message on is one of the benchmark's messages, and each subscriber must see each
/// of them exactly once, in increasing order. The tracker keeps O(1) state, so a run can hold thousands of
/// subscribers and millions of deliveries.
public struct DeliveryTracker: Sendable, Equatable {
    /// The first and the highest sequence number seen.
    public private(set) var first: UInt64?
    public private(set) var last: UInt64 = 0
    /// Deliveries that advanced `last`.
    public private(set) var inOrder = 0
    /// Sequence numbers jumped over when a delivery advanced `last` by more than one.
    public private(set) var skipped: UInt64 = 0
    /// A repeat of the highest sequence number.
    public private(set) var duplicates = 0
    /// A sequence number below the highest seen (arrived late, or a repeat of an older one).
    public private(set) var outOfOrder = 0

    public init() {}

    public mutating func observe(_ seq: UInt64) {
        guard first != nil else {
            first = seq
            last = seq
            inOrder = 1
            return
        }
        if seq > last {
            skipped += seq - last - 1
            last = seq
            inOrder += 1
        } else if seq == last {
            duplicates += 1
        } else {
            outOfOrder += 1
        }
    }

    /// The verdict for a channel whose acknowledged messages had sequence numbers `expected`.
    /// Deliveries below the range (other traffic) are ignored; above it, unacknowledged sends that still
    /// committed, which are not errors either.
    public func check(expected: ClosedRange<UInt64>?) -> DeliveryCheck {
        var result = DeliveryCheck(subscribers: 1, duplicates: duplicates, outOfOrder: outOfOrder)
        guard let expected else { return result }
        guard let first, last >= expected.lowerBound else {
            result.lost = expected.count
            return result
        }
        // Missing at the start, in gaps, and at the end of the range.
        var lost = first > expected.lowerBound ? first - expected.lowerBound : 0
        lost += skipped
        if last < expected.upperBound { lost += expected.upperBound - last }
        result.lost = Int(min(lost, UInt64(expected.count)))
        return result
    }
}

/// Loss, duplicates and reordering, summed over subscribers.
public struct DeliveryCheck: Sendable, Equatable, Codable {
    public var subscribers = 0
    public var lost = 0
    public var duplicates = 0
    public var outOfOrder = 0

    public init(subscribers: Int = 0, lost: Int = 0, duplicates: Int = 0, outOfOrder: Int = 0) {
        self.subscribers = subscribers
        self.lost = lost
        self.duplicates = duplicates
        self.outOfOrder = outOfOrder
    }

    public var passed: Bool { lost == 0 && duplicates == 0 && outOfOrder == 0 }

    public static func + (a: DeliveryCheck, b: DeliveryCheck) -> DeliveryCheck {
        DeliveryCheck(
            subscribers: a.subscribers + b.subscribers, lost: a.lost + b.lost,
            duplicates: a.duplicates + b.duplicates, outOfOrder: a.outOfOrder + b.outOfOrder)
    }

    public var summary: String {
        passed
            ? "exactly once, in order (\(subscribers) subscribers)"
            : "FAILED: \(lost) lost, \(duplicates) duplicated, \(outOfOrder) out of order (\(subscribers) subscribers)"
    }
}
