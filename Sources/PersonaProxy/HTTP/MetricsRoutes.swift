public import Hummingbird
import Logging
public import Prometheus

/// `GET /metrics` in the Prometheus text format. Gauges that are cheaper to read than to keep
/// current (the number of cache entries) are refreshed here, at scrape time.
public struct MetricsRoutes: Sendable {
    let registry: PrometheusCollectorRegistry
    let metrics: ProxyMetrics
    let store: any CacheStore
    let requestLog: any RequestLogStore

    public init(registry: PrometheusCollectorRegistry, metrics: ProxyMetrics, store: any CacheStore, requestLog: any RequestLogStore) {
        self.registry = registry
        self.metrics = metrics
        self.store = store
        self.requestLog = requestLog
    }

    public func register(on router: Router<ProxyRequestContext>) {
        router.get("/metrics") { _, context in
            do {
                metrics.setCacheEntries(try await store.count())
            } catch {
                context.logger.warning("cannot count cache entries for /metrics", metadata: ["error": "\(error)"])
            }
            if let rows = try? await requestLog.rowCount() { metrics.setRequestLogRows(rows) }
            var buffer: [UInt8] = []
            buffer.reserveCapacity(8192)
            registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }
}
