public import CoreMetrics
import Metrics
import Foundation
import Synchronization

/// Every metric the proxy emits, named in one place. Built from an injected factory, so each
/// application (and each test) has its own registry and `/metrics` shows exactly its numbers.
/// Labels are route templates and status codes, never raw paths or ids.
public struct ProxyMetrics: Sendable {
    public static let requestsTotal = "persona_proxy_requests_total"
    public static let upstreamRequestsTotal = "persona_proxy_upstream_requests_total"
    public static let upstreamDuration = "persona_proxy_upstream_request_duration_seconds"
    public static let cacheEntries = "persona_proxy_cache_entries"
    public static let rateLimited = "persona_proxy_upstream_rate_limited_total"
    public static let rateLimitRemaining = "persona_proxy_rate_limit_remaining"
    public static let rateLimitLimit = "persona_proxy_rate_limit_limit"
    public static let rateLimitWait = "persona_proxy_rate_limit_wait_seconds"
    public static let upstreamRetries = "persona_proxy_upstream_retries_total"
    public static let requestLogRows = "persona_proxy_request_log_rows"
    public static let coalescedRequests = "persona_proxy_coalesced_requests_total"
    public static let staleServed = "persona_proxy_stale_served_total"
    public static let backgroundRefreshes = "persona_proxy_background_refreshes_total"

    let factory: any MetricsFactory
    private let retrieveCounts = RetrieveCounts()
    private let cacheEntriesGauge: Gauge
    private let rateLimitedCounter: Counter
    private let retriesCounter: Counter
    private let remainingGauge: Gauge
    private let limitGauge: Gauge
    private let waitTimer: Timer

    public init(factory: any MetricsFactory) {
        self.factory = factory
        self.cacheEntriesGauge = Gauge(label: Self.cacheEntries, factory: factory)
        self.rateLimitedCounter = Counter(label: Self.rateLimited, factory: factory)
        self.retriesCounter = Counter(label: Self.upstreamRetries, factory: factory)
        self.remainingGauge = Gauge(label: Self.rateLimitRemaining, factory: factory)
        self.limitGauge = Gauge(label: Self.rateLimitLimit, factory: factory)
        self.waitTimer = Timer(label: Self.rateLimitWait, factory: factory)
    }

    /// A request joined another's upstream fetch instead of making its own.
    public func recordCoalesced() {
        Counter(label: Self.coalescedRequests, factory: factory).increment()
    }

    /// An expired entry was served; `reason` is `stale-while-revalidate`, `max-stale` or `stale-if-error`.
    public func recordStaleServed(reason: String) {
        Counter(label: Self.staleServed, dimensions: [("reason", reason)], factory: factory).increment()
    }

    /// A background refresh ended: `stored`, `status_NNN`, `error` or `rate_limited`.
    public func recordBackgroundRefresh(result: String) {
        Counter(label: Self.backgroundRefreshes, dimensions: [("result", result)], factory: factory).increment()
    }

    /// Persona answered 429.
    public func recordRateLimited() { rateLimitedCounter.increment() }

    /// The proxy sent a call again (after a 429, a connection error or a 502/503/504).
    public func recordRetry() { retriesCounter.increment() }

    /// A call waited for rate-limit budget.
    public func recordRateLimitWait(seconds: Double) {
        waitTimer.recordNanoseconds(Int64(seconds * 1e9))
    }

    /// The governor's view of the budget after an answer.
    public func recordRateLimitState(_ state: RateLimitState) {
        if let remaining = state.remaining { remainingGauge.record(remaining) }
        if let limit = state.limit { limitGauge.record(limit) }
    }

    /// One answered request. `cache` is `hit`, `miss`, `expired`, `pass`, `error` or `none`.
    /// For systemd's STATUS line; the exact ratio is derivable from `persona_proxy_requests_total`.
    public var hitRatioText: String {
        let (hits, total) = retrieveCounts.state.withLock { ($0.hits, $0.total) }
        guard total > 0 else { return "n/a" }
        return String(format: "%.1f%%", Double(hits) * 100 / Double(total))
    }

    public func recordRequest(route: String, status: Int, cache: String) {
        if route.hasPrefix("/api/v1/connect/connections/") {
            retrieveCounts.state.withLock { counts in
                counts.total += 1
                if cache == "hit" { counts.hits += 1 }
            }
        }
        Counter(label: Self.requestsTotal, dimensions: [("route", route), ("status", String(status)), ("cache", cache)], factory: factory)
            .increment()
    }

    /// One call to Persona; `status` nil when no answer came back.
    public func recordUpstream(status: Int?, duration: Duration) {
        let statusLabel = status.map(String.init) ?? "error"
        Counter(label: Self.upstreamRequestsTotal, dimensions: [("status", statusLabel)], factory: factory).increment()
        Timer(label: Self.upstreamDuration, factory: factory).recordNanoseconds(Int64(duration.milliseconds * 1_000_000))
    }

    public func setRequestLogRows(_ count: Int) {
        Gauge(label: Self.requestLogRows, factory: factory).record(count)
    }

    public func setCacheEntries(_ count: Int) {
        cacheEntriesGauge.record(count)
    }
}

/// Shared by every copy of `ProxyMetrics`.
private final class RetrieveCounts: Sendable {
    let state = Mutex((hits: 0, total: 0))
}
