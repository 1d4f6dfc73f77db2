import Foundation

/// Runs synchronous CPU-bound work (one simulator run) on a thread of its own and waits for it
/// without holding a thread of Swift's cooperative pool. On this 2-core machine the pool has two
/// threads; a simulator that ran its seeds on them would make every other test's hops (actor
/// calls, socket replies) wait behind its runs, and their deadlines expire.
public func offThePool<Result: Sendable>(_ work: @escaping @Sendable () -> Result) async -> Result {
    await withCheckedContinuation { continuation in
        Thread.detachNewThread { continuation.resume(returning: work()) }
    }
}
