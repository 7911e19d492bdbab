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
    public static let databaseBytes = "persona_proxy_database_bytes"
    public static let uptime = "persona_proxy_uptime_seconds"
    public static let residentMemory = "process_resident_memory_bytes"
    public static let openFDs = "process_open_fds"
    public static let startTime = "process_start_time_seconds"
    public static let coalescedRequests = "persona_proxy_coalesced_requests_total"
    public static let staleServed = "persona_proxy_stale_served_total"
    public static let backgroundRefreshes = "persona_proxy_background_refreshes_total"
    public static let invalidRateLimitHeaders = "persona_proxy_upstream_invalid_rate_limit_headers_total"
    public static let invalidResponses = "persona_proxy_upstream_invalid_responses_total"
    public static let databaseWriteFailures = "persona_proxy_database_write_failures_total"
    public static let connectionsClosed = "persona_proxy_connections_closed_total"
    public static let logLinesDropped = "persona_proxy_log_lines_dropped_total"

    /// `# HELP` text for every family; swift-metrics has no place for it, so `/metrics` adds it.
    public static let help: [String: String] = [
        requestsTotal: "Answered requests by route template, status and cache outcome.",
        upstreamRequestsTotal: "Calls to Persona by status (error: no answer came back).",
        upstreamDuration: "Duration of each call to Persona.",
        cacheEntries: "Entries in the SQLite cache, fresh or not.",
        rateLimited: "429 answers from Persona.",
        rateLimitRemaining: "Calls the current Persona window still allows, as the governor estimates.",
        rateLimitLimit: "Persona's RateLimit-Limit.",
        rateLimitWait: "Time upstream calls waited for rate-limit budget.",
        upstreamRetries: "Upstream calls sent again (429, connection error, 502/503/504).",
        requestLogRows: "Rows in the request log.",
        databaseBytes: "Size of each SQLite database file (cache, request_log) and its WAL.",
        uptime: "Seconds since the process started.",
        residentMemory: "Resident memory of the process.",
        openFDs: "Open file descriptors of the process.",
        startTime: "Start time of the process since the Unix epoch.",
        coalescedRequests: "Requests that joined another request's upstream fetch.",
        staleServed: "Stale answers served, by reason.",
        backgroundRefreshes: "Background refreshes by result.",
        invalidRateLimitHeaders: "RateLimit-* headers from Persona ignored as unusable (not a number, infinite, negative, absurd), by header.",
        invalidResponses: "Answers from Persona that were not what they claimed (never stored), by reason.",
        databaseWriteFailures: "Writes a database refused (full disk, read-only, locked past the busy timeout), by database.",
        logLinesDropped: "Log lines dropped because stderr could not keep up (the queue was full).",
        connectionsClosed: "Connections closed by server.max_connections: idle_evicted (the longest-idle, to make room) or refused (all busy).",
    ].merging(clientHelp) { first, _ in first }.merging(sweepHelp) { first, _ in first }

    /// Adds a `# HELP` line before each `# TYPE` line of a family that has help text.
    public static func withHelp(_ exposition: String) -> String {
        var out = ""
        out.reserveCapacity(exposition.utf8.count + help.count * 80)
        for line in exposition.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE "), let name = line.split(separator: " ").dropFirst(2).first, let text = help[String(name)] {
                out += "# HELP \(name) \(text)\n"
            }
            out += line
            out += "\n"
        }
        return String(out.dropLast())
    }

    let factory: any MetricsFactory
    /// Log-line drops already added to the counter (the buffer keeps the running total).
    private let logDropsCounted = CountedSoFar()
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

    public func recordInvalidRateLimitHeader(_ name: String) {
        Counter(label: Self.invalidRateLimitHeaders, dimensions: [("header", name)], factory: factory).increment()
    }

    public func recordConnectionClosed(reason: String) {
        Counter(label: Self.connectionsClosed, dimensions: [("reason", reason)], factory: factory).increment()
    }

    public func recordDatabaseWrite(database: String, committed: Bool) {
        guard !committed else { return }
        Counter(label: Self.databaseWriteFailures, dimensions: [("database", database)], factory: factory).increment()
    }

    public func recordInvalidResponse(reason: String) {
        Counter(label: Self.invalidResponses, dimensions: [("reason", reason)], factory: factory).increment()
    }

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
        if route.hasPrefix("/api/v1/connect/connections/") { countRetrieve(hit: cache == "hit") }
        requestCounter(route: route, status: status, cache: cache).increment()
    }

    /// The counter `recordRequest` increments, to hold on to where one label set is hot (the hit fast path).
    public func requestCounter(route: String, status: Int, cache: String) -> Counter {
        Counter(label: Self.requestsTotal, dimensions: [("route", route), ("status", String(status)), ("cache", cache)], factory: factory)
    }

    /// For the hit ratio on systemd's STATUS line.
    public func countRetrieve(hit: Bool) {
        retrieveCounts.state.withLock { counts in
            counts.total += 1
            if hit { counts.hits += 1 }
        }
    }

    /// One call to Persona; `status` nil when no answer came back.
    public func recordUpstream(status: Int?, duration: Duration) {
        let statusLabel = status.map(String.init) ?? "error"
        Counter(label: Self.upstreamRequestsTotal, dimensions: [("status", statusLabel)], factory: factory).increment()
        Timer(label: Self.upstreamDuration, factory: factory).recordNanoseconds(Int64(duration.milliseconds * 1_000_000))
    }

    /// Process and storage gauges, refreshed at scrape time.
    /// - Parameter databases: name (`cache`, `request_log`) → file path.
    public func recordProcess(databases: [(name: String, path: String)]) {
        let dropped = LogLineBuffer.standardError.droppedLines
        let counted = logDropsCounted.value.withLock { counted -> Int in
            defer { counted = max(counted, dropped) }
            return counted
        }
        Counter(label: Self.logLinesDropped, factory: factory).increment(by: max(0, dropped - counted))
        for database in databases {
            Gauge(label: Self.databaseBytes, dimensions: [("database", database.name)], factory: factory)
                .record(ProcessStatistics.databaseBytes(path: database.path))
        }
        Gauge(label: Self.uptime, factory: factory).record(Date().timeIntervalSince1970 - ProcessStatistics.startTime)
        Gauge(label: Self.startTime, factory: factory).record(ProcessStatistics.startTime)
        if let rss = ProcessStatistics.residentMemoryBytes() { Gauge(label: Self.residentMemory, factory: factory).record(rss) }
        if let fds = ProcessStatistics.openFileDescriptors() { Gauge(label: Self.openFDs, factory: factory).record(fds) }
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

/// A running total already reported, shared by every copy of `ProxyMetrics`.
private final class CountedSoFar: Sendable {
    let value = Mutex(0)
}
