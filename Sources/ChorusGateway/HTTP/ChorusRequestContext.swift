import Hummingbird

/// The per-request context: Hummingbird's core storage plus the request id and the caller.
public struct ChorusRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Echoed in `X-Request-Id` on every response.
    public var requestID: String
    /// Set by ``AuthMiddleware`` on `/v1` routes.
    public var identity: Identity?
    /// When the Stream middleware took the request (for the `duration` of Stream responses).
    public var streamStarted: ContinuousClock.Instant?
    /// The Stream request's `Accept-Encoding` (responses are compressed when it allows).
    public var streamAcceptEncoding: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.requestID = ""
        self.identity = nil
        self.streamStarted = nil
        self.streamAcceptEncoding = nil
    }
}
