public import CoreMetrics
import Metrics

/// Every metric the proxy emits, named in one place. Built from an injected factory, so each
/// application (and each test) has its own registry and `/metrics` shows exactly its numbers.
/// Labels are route templates and status codes, never raw paths or ids.
public struct ProxyMetrics: Sendable {
    public static let requestsTotal = "persona_proxy_requests_total"
    public static let upstreamRequestsTotal = "persona_proxy_upstream_requests_total"
    public static let upstreamDuration = "persona_proxy_upstream_request_duration_seconds"
    public static let cacheEntries = "persona_proxy_cache_entries"

    let factory: any MetricsFactory
    private let cacheEntriesGauge: Gauge

    public init(factory: any MetricsFactory) {
        self.factory = factory
        self.cacheEntriesGauge = Gauge(label: Self.cacheEntries, factory: factory)
    }

    /// One answered request. `cache` is `hit`, `miss`, `expired`, `pass`, `error` or `none`.
    public func recordRequest(route: String, status: Int, cache: String) {
        Counter(label: Self.requestsTotal, dimensions: [("route", route), ("status", String(status)), ("cache", cache)], factory: factory)
            .increment()
    }

    /// One call to Persona; `status` nil when no answer came back.
    public func recordUpstream(status: Int?, duration: Duration) {
        let statusLabel = status.map(String.init) ?? "error"
        Counter(label: Self.upstreamRequestsTotal, dimensions: [("status", statusLabel)], factory: factory).increment()
        Timer(label: Self.upstreamDuration, factory: factory).recordNanoseconds(Int64(duration.milliseconds * 1_000_000))
    }

    public func setCacheEntries(_ count: Int) {
        cacheEntriesGauge.record(count)
    }
}
