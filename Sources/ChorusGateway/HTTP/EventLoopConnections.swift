import HummingbirdCore
import Logging
import NIOCore

/// A server child channel whose connections run on their own event loop.
///
/// Hummingbird handles each connection in a task on Swift's cooperative pool, while NIO reads
/// and writes its bytes on an event loop: every request crossed threads twice (read on the loop,
/// handled on the pool, written back on the loop), and on this 2-core machine the context
/// switches and wake-ups were the largest single cost of a small request (`perf`: about a quarter
/// of `GET /healthz`'s CPU in the scheduler; docs/benchmarks.md, "REST requests").
///
/// Here the connection's task prefers its channel's event loop as its executor (SE-0417), so the
/// request is read, routed, handled and answered on one thread. Actors the handler calls still
/// run their code one call at a time (a default actor runs on the executor of the task that
/// calls it, when it is free), and what the handler awaits resumes on the loop. Handlers must not
/// block: a blocking call now holds up the loop's other connections instead of a pool thread.
struct EventLoopConnections<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value

    let base: Base

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor(value.channel.eventLoop)) {
            await base.handle(value: value, logger: logger)
        }
    }
}

/// An event loop as a task executor: a job runs as one `execute` on the loop.
final class EventLoopTaskExecutor: TaskExecutor {
    private let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
