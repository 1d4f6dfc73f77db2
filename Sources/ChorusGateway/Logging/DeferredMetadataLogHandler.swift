import Logging

/// A log handler that keeps its logger's metadata as given and hands it to `base` only with a
/// line that is written.
///
/// swift-log's `StreamLogHandler` renders all of its metadata to text each time one key is set.
/// Hummingbird sets a request id on every request's logger, so a node logging at `info` paid
/// that rendering on every request for lines it never wrote (~3% of a `GET /healthz`'s CPU;
/// docs/benchmarks.md, "REST requests"). Lines come out exactly as `base` writes them: the
/// metadata reaches it as the line's own, merged under what the call site gives.
public struct DeferredMetadataLogHandler<Base: LogHandler>: LogHandler {
    private var base: Base
    public var metadata: Logger.Metadata = [:]

    public init(_ base: Base) {
        self.base = base
    }

    public var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { base.metadataProvider }
        set { base.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty {
            event.metadata = metadata.merging(event.metadata ?? [:]) { _, explicit in explicit }
        }
        base.log(event: event)
    }
}
