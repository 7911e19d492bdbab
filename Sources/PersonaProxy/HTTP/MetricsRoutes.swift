public import Hummingbird
import Logging
public import Prometheus

/// `GET /metrics` in the Prometheus text format. Gauges that are cheaper to read than to keep
/// current (the number of cache entries) are refreshed here, at scrape time.
public struct MetricsRoutes: Sendable {
    let registry: PrometheusCollectorRegistry
    let metrics: ProxyMetrics
    let cache: any ConnectionCache
    let requestLog: any RequestLogStore
    let databases: [(name: String, path: String)]
    let sweep: SweepStatus?
    let clock: any WallClock

    public init(
        registry: PrometheusCollectorRegistry, metrics: ProxyMetrics, cache: any ConnectionCache, requestLog: any RequestLogStore,
        sweep: SweepStatus? = nil, clock: any WallClock = SystemWallClock(), databases: [(name: String, path: String)]
    ) {
        self.sweep = sweep
        self.clock = clock
        self.databases = databases
        self.registry = registry
        self.metrics = metrics
        self.cache = cache
        self.requestLog = requestLog
    }

    public func register(on router: Router<ProxyRequestContext>) {
        router.get("/metrics") { _, context in
            do {
                metrics.setCacheEntries(try await cache.entryCount())
            } catch {
                context.logger.warning("cannot count cache entries for /metrics", metadata: ["error": "\(error)"])
            }
            if let rows = try? await requestLog.rowCount() { metrics.setRequestLogRows(rows) }
            metrics.recordProcess(databases: databases)
            metrics.setSweepAge(lastComplete: sweep?.lastComplete?.completedAt, now: clock.now())
            let text = ProxyMetrics.withHelp(registry.emitToString())
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
    }
}
