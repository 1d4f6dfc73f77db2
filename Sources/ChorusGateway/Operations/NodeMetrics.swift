import ChorusActorSystem
import ChorusChat
import Hummingbird
import Prometheus
import Synchronization

/// A node's metrics in Prometheus's text format (`GET /metrics`; the names are listed in
/// docs/operations.md, "Metrics"). Each node has its own registry, so that several nodes in one
/// process (tests) keep theirs apart; `chorus serve` also hands it to swift-metrics as the
/// process's metrics backend.
///
/// HTTP requests are recorded as they end (``MetricsMiddleware``); everything else is read from
/// the node when scraped.
public final class NodeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// Counters read from the node when scraped, by name: their last value, so each scrape adds
    /// what happened since the one before.
    private let scraped = Mutex<[String: Int]>([:])

    static let latencyBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
    ]

    /// The WAL's sync metrics, made once: each group commit records them on the writer thread,
    /// and asking the registry for them there (names built, its lock taken, three times a sync)
    /// was ~11% of a durable send's CPU (docs/benchmarks.md, "REST requests").
    private let walSync: (duration: DurationHistogram, batch: ValueHistogram, records: Counter)

    public init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        walSync = (
            duration: registry.makeDurationHistogram(
                descriptor: .init(namespace: "chorus", metricName: "wal_fsync_duration", unitName: "seconds", helpText: "time of each WAL fdatasync"),
                buckets: Self.latencyBuckets),
            batch: registry.makeValueHistogram(
                descriptor: .init(namespace: "chorus", metricName: "wal_batch", unitName: "records", helpText: "records made durable by each WAL sync (group commit)"),
                buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]),
            records: registry.makeCounter(
                descriptor: .init(namespace: "chorus", metricName: "wal_synced_records", unitName: "total", helpText: "records made durable by WAL syncs"))
        )
    }

    /// One HTTP request ended: its route (the pattern, not the path), method, status and duration.
    func recordRequest(route: String, method: String, status: Int, duration: Duration) {
        let key = RequestSeries(route: route, method: method, status: status)
        let series = requestSeries.withLock { $0[key] } ?? makeSeries(key)
        series.requests.increment()
        series.latency.record(duration)
    }

    /// The labels of a request's series. Routes are the router's patterns, so there are as many
    /// keys as routes × methods × statuses, however many requests.
    private struct RequestSeries: Hashable {
        var route: String, method: String, status: Int
    }

    /// The counter and histogram of each request series, looked up once: asking the registry
    /// for them builds their names and labels and takes its lock, which cost ~5% of the CPU of a
    /// `GET /healthz` (docs/benchmarks.md, "REST requests").
    private let requestSeries = Mutex<[RequestSeries: (requests: Counter, latency: DurationHistogram)]>([:])

    private func makeSeries(_ key: RequestSeries) -> (requests: Counter, latency: DurationHistogram) {
        let series = (
            requests: registry.makeCounter(
                descriptor: .init(namespace: "chorus", metricName: "http_requests", unitName: "total", helpText: "HTTP requests by route, method and status"),
                labels: [("route", key.route), ("method", key.method), ("status", String(key.status))]),
            latency: registry.makeDurationHistogram(
                descriptor: .init(namespace: "chorus", metricName: "http_request_duration", unitName: "seconds", helpText: "HTTP request latency by route and method"),
                labels: [("route", key.route), ("method", key.method)], buckets: Self.latencyBuckets)
        )
        requestSeries.withLock { $0[key] = series }
        return series
    }

    /// One WAL sync (a group commit): its `fdatasync` time and the records it made durable.
    public func recordSync(_ duration: Duration, records: UInt64) {
        walSync.duration.record(duration)
        walSync.batch.record(Double(records))
        walSync.records.increment(by: Int64(records))
    }

    /// Hooks for the checkpoint service: each checkpoint's duration, and channels passivated.
    public var checkpointObserver: CheckpointService.Observer {
        CheckpointService.Observer(
            checkpointed: { [registry] duration in
                registry.makeDurationHistogram(
                    descriptor: .init(namespace: "chorus", metricName: "checkpoint_duration", unitName: "seconds", helpText: "time of each checkpoint"),
                    buckets: [.milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500), .seconds(1), .seconds(5), .seconds(30)]
                ).record(duration)
            },
            passivated: { [registry] count in
                registry.makeCounter(descriptor: .init(namespace: "chorus", metricName: "passivations", unitName: "total", helpText: "idle channel actors passivated"))
                    .increment(by: Int64(count))
            })
    }

    /// The text of a scrape: the node's values read now, then every metric.
    func scrape(node: ChatNode, hub: RealtimeHub?, health: NodeHealth) -> [UInt8] {
        let report = node.report()
        if let hub {
            gauge("websocket_sessions", "open WebSocket sessions").set(Int64(hub.sessionCount))
            count("websocket_slow_consumer_closes", "sessions closed (1008) for not reading their events", hub.counters.slowClosed.load(ordering: .relaxed))
            count("events_encoded", "channel events encoded into frames, once per format and edge", hub.counters.encodedEvents.load(ordering: .relaxed))
            count("deliveries", "frames queued to WebSocket sessions", hub.counters.queuedEvents.load(ordering: .relaxed))
            count("websocket_writes", "writes of queued frames to WebSocket sockets (deliveries per write grow with realtime.write_interval_ms)", hub.counters.socketWrites.load(ordering: .relaxed))
        }
        for (kind, count) in report.actors.sorted(by: { $0.key < $1.key }) {
            registry.makeGauge(
                descriptor: .init(namespace: "chorus", metricName: "active_actors", unitName: "", helpText: "actors in memory by kind"),
                labels: [("kind", kind)]
            ).set(Int64(count))
        }
        count("messages", "messages posted in channels this node is the primary of", node.stats.messages)
        for peer in node.cluster?.peers.sorted() ?? [] {
            registry.makeGauge(
                descriptor: .init(namespace: "chorus", metricName: "cluster_peer_connected", unitName: "", helpText: "1 while this node has a connection to the peer"),
                labels: [("peer", peer)]
            ).set(Int64(node.actorSystem.connectedPeers.contains(peer) ? 1 : 0))
        }
        let calls = node.actorSystem.callStats.totals
        count("remote_calls", "calls this node made to actors on peers", calls.calls)
        count("remote_call_failures", "remote calls that failed in the cluster layer (unreachable, timed out, refused)", calls.failures)
        count("remote_one_way_calls", "one-way calls this node sent to actors on peers (replication and metadata log messages; nothing answers them)", calls.oneWay)
        count("remote_call_nanoseconds", "total time of remote calls, in nanoseconds (divide by chorus_remote_calls_total for the mean)", calls.nanoseconds)
        let remoteCallLatency = Self.histogram(
            "chorus_remote_call_duration_seconds", "latency of remote calls this node made (failed ones included)",
            bounds: RemoteCallStats.bucketBounds, counts: calls.buckets, sum: Double(calls.nanoseconds) / 1e9)
        gauge("ring_epoch", "the epoch of the ring this node uses").set(Int64(report.epoch))
        if let member = node.clusterMember {
            // One series per peer and status, 1 for the status it has now (Prometheus's enum idiom).
            for (peer, status, _) in member.membership?.view ?? [] {
                for candidate in ["up", "suspect", "down"] {
                    registry.makeGauge(
                        descriptor: .init(
                            namespace: "chorus", metricName: "cluster_peer_status", unitName: "",
                            helpText: "1 for the peer's status as this node's failure detector sees it"),
                        labels: [("peer", peer), ("status", candidate)]
                    ).set(Int64(status.rawValue == candidate ? 1 : 0))
                }
            }
            if let metadata = member.metadataLog?.status {
                gauge("metadata_term", "the metadata log's Raft term as this node knows it").set(Int64(metadata.term))
                gauge("metadata_commit_index", "the metadata log's commit index on this node").set(Int64(metadata.commitIndex))
                gauge("metadata_leader", "1 while this node leads the metadata log").set(Int64(metadata.leader == report.node ? 1 : 0))
            }
        }
        gauge("wal_next_lsn", "the LSN the next WAL record gets: records appended over the node's life").set(Int64(node.journal.nextLSN))
        gauge("ready", "1 when the node should get traffic (GET /readyz)").set(Int64(health.reasons().isEmpty ? 1 : 0))
        if let replication = report.replication {
            gauge("replication_lagging_primaries", "primaries here with a replica that lacks records").set(Int64(replication.lagging))
            gauge("replication_lag_records", "records the slowest replicas of this node's primaries lack, summed").set(Int64(replication.lagRecords))
            gauge("replication_max_lag_records", "the most records one primary's slowest replica lacks").set(Int64(replication.maxLagRecords))
            gauge("replication_recovering", "primaries still recovering from their replicas").set(Int64(replication.recovering))
            gauge("replication_term", "the newest term a replica here promised (ring epoch in the high 32 bits)").set(Int64(bitPattern: replication.newestTerm))
        }
        return registry.emitToBuffer() + remoteCallLatency
    }

    /// A histogram the node counts itself (its buckets not cumulative, one past the last bound),
    /// in Prometheus's text format.
    static func histogram(_ name: String, _ help: String, bounds: [Duration], counts: [Int], sum: Double) -> [UInt8] {
        var text = "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        var cumulative = 0
        for (bound, count) in zip(bounds, counts) {
            cumulative += count
            let (seconds, attoseconds) = bound.components
            text += "\(name)_bucket{le=\"\(Double(seconds) + Double(attoseconds) / 1e18)\"} \(cumulative)\n"
        }
        let total = counts.reduce(0, +)
        text += "\(name)_bucket{le=\"+Inf\"} \(total)\n\(name)_sum \(sum)\n\(name)_count \(total)\n"
        return Array(text.utf8)
    }

    private func gauge(_ name: String, _ help: String) -> Gauge {
        registry.makeGauge(descriptor: .init(namespace: "chorus", metricName: name, unitName: "", helpText: help))
    }

    /// Brings counter `name` (`chorus_<name>_total`) up to `value`, a count the node keeps itself.
    private func count(_ name: String, _ help: String, _ value: Int) {
        let last = scraped.withLock { scraped in
            defer { scraped[name] = value }
            return scraped[name] ?? 0
        }
        registry.makeCounter(descriptor: .init(namespace: "chorus", metricName: name, unitName: "total", helpText: help))
            .increment(by: Int64(max(0, value - last)))
    }
}

/// Records every HTTP request in ``NodeMetrics``: outermost, so it sees the status the client gets.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: NodeMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let route = context.endpointPath ?? "unmatched"
        do {
            let response = try await next(request, context)
            metrics.recordRequest(route: route, method: request.method.rawValue, status: response.status.code, duration: .now - start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.recordRequest(route: route, method: request.method.rawValue, status: status, duration: .now - start)
            throw error
        }
    }
}
