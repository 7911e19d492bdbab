public import Configuration
public import Foundation
public import Logging

/// Everything the daemon reads from configuration, with defaults, validated once at start-up.
///
/// Keys (YAML path ↔ environment variable ↔ command-line flag, e.g. `cache.ttl_seconds` ↔
/// `CACHE_TTL_SECONDS` ↔ `--cache-ttl-seconds`):
/// - `server.host` (127.0.0.1), `server.port` (8080), `server.max_connections` (4096),
///   `server.idle_timeout_seconds` (60), `server.max_header_bytes` (16384), `server.shutdown_grace_seconds` (10)
/// - `upstream.base_url` (https://api.withpersona.com), `upstream.api_key_file` (none),
///   `upstream.persona_version` (none), `upstream.timeout_seconds` (10)
/// - `cache.path` (./data/cache.sqlite), `cache.ttl_seconds` (300), `cache.not_found_ttl_seconds` (30),
///   `cache.stale_while_revalidate_seconds` (60), `cache.stale_if_error_seconds` (86400), `cache.memory_entries` (10000),
///   `cache.memory_bytes` (67108864), `cache.list_ttl_seconds` (30)
/// - `sweep.interval_seconds` (120; 0: off), `sweep.max_budget_fraction` (0.1)
/// - `rate_limit.max_wait_seconds` (10), `rate_limit.reserve_fraction` (0.15), `rate_limit.max_concurrency` (16),
///   `rate_limit.backoff_base_seconds` (1), `rate_limit.backoff_max_seconds` (60)
/// - `request_log.path` (requests.sqlite beside `cache.path`), `request_log.record_hits` (true), `request_log.retention_days` (30), `request_log.max_rows` (10000000)
/// - `log.level` (info), `log.format` (logfmt | json)
///
/// The API key is never a configuration value: see `APIKey.load`.
public struct ProxyConfiguration: Sendable, Equatable {
    public var serverHost = "127.0.0.1"
    public var serverPort = 8080
    /// Open connections at most; at the cap the longest-idle one is closed, or the new one refused.
    public var maxConnections = 4096
    /// A connection with no request for this long is closed.
    public var idleTimeoutSeconds: Double = 60
    /// Request line plus headers, at most (431 beyond).
    public var maxHeaderBytes = 16 * 1024
    /// On SIGTERM, in-flight work gets this long; background refreshes are then cancelled.
    public var shutdownGraceSeconds: Double = 10
    /// `/metrics` needs a client's token too (it is open by default, for scrapers).
    public var metricsRequireToken = false
    /// Answer fresh memory-tier hits on the event loop, before Hummingbird (`HitFastPath`).
    public var hitFastPath = true
    /// Event-loop threads serving connections; 0: one per core.
    public var eventLoopThreads = 0
    /// `clients:` from the configuration file (a list: not settable by environment or flag).
    public var clients: [ClientConfiguration] = []
    public var upstreamBaseURL = URL(string: "https://api.withpersona.com")!
    public var apiKeyFile: String?
    public var personaVersion: String?
    /// The `Persona-Version`s a caller may ask for (each is its own cache variant).
    public var allowedPersonaVersions: [String] = ProxyConfiguration.documentedPersonaVersions
    public var upstreamTimeoutSeconds: Double = 10
    public var cachePath = "./data/cache.sqlite"
    public var cacheTTLSeconds: Double = 300
    public var notFoundTTLSeconds: Double = 30
    public var staleWhileRevalidateSeconds: Double = 60
    public var staleIfErrorSeconds: Double = 86_400
    public var memoryEntries = 10_000
    /// Bytes the memory tier holds at most: bodies and the prepared answers the hit fast path keeps.
    public var memoryBytes = 64 << 20
    /// List pages (`GET /api/v1/connect/connections?...`) are fresh this long; writes drop them sooner.
    public var listTTLSeconds: Double = 30
    /// A complete walk of the list starts this often (`ConnectionSweep`); 0 turns the sweep off.
    public var sweepIntervalSeconds: Double = 120
    /// The sweep's calls stay within this share of Persona's limit per window.
    public var sweepMaxBudgetFraction = 0.1
    public var rateLimit = RateLimitSettings()
    /// The audit database, apart from the disposable cache; by default in the same directory.
    public var requestLogPath = "./data/requests.sqlite"
    public var recordHits = true
    public var requestLogRetentionDays: Double = 30
    public var requestLogMaxRows: Int? = 10_000_000
    public var logLevel: Logger.Level = .info
    public var logFormat = ProxyLogHandler.Format.logfmt

    public init() {}

    /// Every key this configuration reads, in the order `check-config` prints them.
    public static let keys: [String] = [
        "server.host", "server.port", "server.max_connections", "server.idle_timeout_seconds", "server.max_header_bytes",
        "server.shutdown_grace_seconds", "server.metrics_require_token", "server.hit_fast_path", "server.event_loop_threads",
        "upstream.base_url", "upstream.api_key_file", "upstream.persona_version", "upstream.allowed_persona_versions", "upstream.timeout_seconds",
        "cache.path", "cache.ttl_seconds", "cache.not_found_ttl_seconds",
        "cache.stale_while_revalidate_seconds", "cache.stale_if_error_seconds", "cache.memory_entries", "cache.memory_bytes", "cache.list_ttl_seconds",
        "sweep.interval_seconds", "sweep.max_budget_fraction",
        "rate_limit.max_wait_seconds", "rate_limit.reserve_fraction", "rate_limit.max_concurrency",
        "rate_limit.backoff_base_seconds", "rate_limit.backoff_max_seconds",
        "request_log.path", "request_log.record_hits", "request_log.retention_days", "request_log.max_rows",
        "log.level", "log.format",
    ]

    /// Reads and validates every key; the first invalid one stops start-up with its name.
    public init(reader: ConfigReader) throws(ConfigurationError) {
        let values = ConfigValueParser(reader: reader)
        let defaults = ProxyConfiguration()
        serverHost = try values.string("server.host", default: defaults.serverHost, nonEmpty: true)
        serverPort = try values.int("server.port", default: defaults.serverPort, range: 0...65535)
        maxConnections = try values.int("server.max_connections", default: defaults.maxConnections, range: 1...1_000_000)
        idleTimeoutSeconds = try values.double("server.idle_timeout_seconds", default: defaults.idleTimeoutSeconds, range: 1...86_400)
        maxHeaderBytes = try values.int("server.max_header_bytes", default: defaults.maxHeaderBytes, range: 1024...1_048_576)
        // Below the unit's TimeoutStopSec=30, with room to flush the request log and close.
        shutdownGraceSeconds = try values.double("server.shutdown_grace_seconds", default: defaults.shutdownGraceSeconds, range: 0...25)
        metricsRequireToken = try values.bool("server.metrics_require_token", default: defaults.metricsRequireToken)
        hitFastPath = try values.bool("server.hit_fast_path", default: defaults.hitFastPath)
        eventLoopThreads = try values.int("server.event_loop_threads", default: defaults.eventLoopThreads, range: 0...256)
        upstreamBaseURL = try values.url("upstream.base_url", default: defaults.upstreamBaseURL)
        apiKeyFile = try values.optionalString("upstream.api_key_file")
        personaVersion = try values.optionalString("upstream.persona_version")
        if let personaVersion, (try? ConnectionRequest.parse(
            connectionId: "x", personaVersion: personaVersion, keyInflection: nil, query: [], defaultPersonaVersion: nil)) == nil {
            throw ConfigurationError(key: "upstream.persona_version", message: "expected a date like 2025-12-08, got \"\(personaVersion)\"")
        }
        let versions = try values.optionalString("upstream.allowed_persona_versions")
        if let versions {
            allowedPersonaVersions = versions.split(separator: ",").map { String($0).trimmed }.filter { !$0.isEmpty }
            for version in allowedPersonaVersions where (try? ConnectionRequest.parse(
                connectionId: "x", personaVersion: version, keyInflection: nil, query: [], defaultPersonaVersion: nil)) == nil {
                throw ConfigurationError(key: "upstream.allowed_persona_versions", message: "expected dates like 2025-12-08, got \"\(version)\"")
            }
        } else {
            // Default: the pinned version alone, or every version Persona documents when none is pinned.
            allowedPersonaVersions = personaVersion.map { [$0] } ?? Self.documentedPersonaVersions
        }
        upstreamTimeoutSeconds = try values.double("upstream.timeout_seconds", default: defaults.upstreamTimeoutSeconds, range: 0.001...600)
        cachePath = try values.string("cache.path", default: defaults.cachePath, nonEmpty: true)
        cacheTTLSeconds = try values.double("cache.ttl_seconds", default: defaults.cacheTTLSeconds, range: 0...31_536_000)
        notFoundTTLSeconds = try values.double("cache.not_found_ttl_seconds", default: defaults.notFoundTTLSeconds, range: 0...31_536_000)
        staleWhileRevalidateSeconds = try values.double(
            "cache.stale_while_revalidate_seconds", default: defaults.staleWhileRevalidateSeconds, range: 0...31_536_000)
        staleIfErrorSeconds = try values.double("cache.stale_if_error_seconds", default: defaults.staleIfErrorSeconds, range: 0...31_536_000)
        memoryEntries = try values.int("cache.memory_entries", default: defaults.memoryEntries, range: 1...10_000_000)
        memoryBytes = try values.int("cache.memory_bytes", default: defaults.memoryBytes, range: 65_536...(1 << 40))
        listTTLSeconds = try values.double("cache.list_ttl_seconds", default: defaults.listTTLSeconds, range: 0...86_400)
        sweepIntervalSeconds = try values.double("sweep.interval_seconds", default: defaults.sweepIntervalSeconds, range: 0...86_400)
        sweepMaxBudgetFraction = try values.double("sweep.max_budget_fraction", default: defaults.sweepMaxBudgetFraction, range: 0.01...0.5)
        rateLimit.maxWaitSeconds = try values.double("rate_limit.max_wait_seconds", default: defaults.rateLimit.maxWaitSeconds, range: 0...3600)
        rateLimit.reserveFraction = try values.double("rate_limit.reserve_fraction", default: defaults.rateLimit.reserveFraction, range: 0...0.9)
        rateLimit.maxConcurrency = try values.int("rate_limit.max_concurrency", default: defaults.rateLimit.maxConcurrency, range: 1...1024)
        rateLimit.backoffBaseSeconds = try values.double(
            "rate_limit.backoff_base_seconds", default: defaults.rateLimit.backoffBaseSeconds, range: 0.001...3600)
        rateLimit.backoffMaxSeconds = try values.double(
            "rate_limit.backoff_max_seconds", default: defaults.rateLimit.backoffMaxSeconds, range: 0.001...86400)
        guard rateLimit.backoffMaxSeconds >= rateLimit.backoffBaseSeconds else {
            throw ConfigurationError(key: "rate_limit.backoff_max_seconds", message: "must be at least rate_limit.backoff_base_seconds")
        }
        requestLogPath = try values.optionalString("request_log.path") ?? Self.requestLogPath(besideCache: cachePath)
        guard requestLogPath != cachePath else {
            throw ConfigurationError(key: "request_log.path", message: "must differ from cache.path: the cache may be deleted at any time, the request log may not")
        }
        recordHits = try values.bool("request_log.record_hits", default: defaults.recordHits)
        requestLogRetentionDays = try values.double("request_log.retention_days", default: defaults.requestLogRetentionDays, range: 0.001...36_500)
        let maxRows = try values.int("request_log.max_rows", default: defaults.requestLogMaxRows ?? 0, range: 0...Int(Int32.max))
        requestLogMaxRows = maxRows == 0 ? nil : maxRows
        logLevel = try values.logLevel("log.level", default: defaults.logLevel)
        let format = try values.string("log.format", default: defaults.logFormat.rawValue, nonEmpty: true).lowercased()
        guard let logFormat = ProxyLogHandler.Format(rawValue: format) else {
            throw ConfigurationError(key: "log.format", message: "expected logfmt or json, got \"\(format)\"")
        }
        self.logFormat = logFormat
    }

    /// Persona's `Persona-Version` values (docs/persona-api.md).
    public static let documentedPersonaVersions = [
        "2025-12-08", "2025-10-27", "2023-01-05", "2022-09-01", "2021-08-18", "2021-07-05", "2021-02-21", "2020-05-18",
    ]

    /// Without clients nobody is authenticated, so the proxy must not listen beyond loopback.
    public func validateExposure() throws(ConfigurationError) {
        guard clients.isEmpty, !AccessControl.isLoopback(host: serverHost), serverHost != "::1" else { return }
        throw ConfigurationError(
            key: "server.host",
            message: "\(serverHost) is not a loopback address, and no clients are configured: anyone who reaches the port could use the "
                + "Persona key. Add clients (persona-proxy token new --name SERVICE) or listen on 127.0.0.1")
    }

    /// `requests.sqlite` in the directory of `cache.path`.
    public static func requestLogPath(besideCache cachePath: String) -> String {
        guard let slash = cachePath.lastIndex(of: "/") else { return "requests.sqlite" }
        return cachePath[...slash] + "requests.sqlite"
    }

    public var cachePolicy: CachePolicy {
        CachePolicy(
            ttlSeconds: cacheTTLSeconds, notFoundTTLSeconds: notFoundTTLSeconds, staleWhileRevalidateSeconds: staleWhileRevalidateSeconds,
            staleIfErrorSeconds: staleIfErrorSeconds, listTTLSeconds: listTTLSeconds)
    }

    /// The effective configuration as `key: value` lines, for `check-config`. Holds no secret:
    /// the key file is a path, and the key itself is not a configuration value.
    public var effectiveLines: [String] {
        [
            "server.host: \(serverHost)",
            "server.port: \(serverPort)",
            "server.max_connections: \(maxConnections)",
            "server.idle_timeout_seconds: \(idleTimeoutSeconds.clean)",
            "server.max_header_bytes: \(maxHeaderBytes)",
            "server.shutdown_grace_seconds: \(shutdownGraceSeconds.clean)",
            "server.metrics_require_token: \(metricsRequireToken)",
            "server.hit_fast_path: \(hitFastPath)",
            "server.event_loop_threads: \(eventLoopThreads == 0 ? "0 (one per core)" : String(eventLoopThreads))",
            // Names and scopes only: never a token or its hash.
            "clients: " + (clients.isEmpty
                ? "(none: loopback callers only)"
                : clients.map { "\($0.name) [\($0.scopes.map(\.rawValue).sorted().joined(separator: ","))] weight \($0.weight), \($0.maxForcedRefreshesPerMinute) forced refreshes/min" }.joined(separator: "; ")),
            "upstream.base_url: \(upstreamBaseURL.absoluteString)",
            "upstream.api_key_file: \(apiKeyFile ?? "(not set)")",
            "upstream.persona_version: \(personaVersion ?? "(not set: the API key's default applies)")",
            "upstream.allowed_persona_versions: \(allowedPersonaVersions.joined(separator: ", "))",
            "upstream.timeout_seconds: \(upstreamTimeoutSeconds.clean)",
            "cache.path: \(cachePath)",
            "cache.ttl_seconds: \(cacheTTLSeconds.clean)",
            "cache.not_found_ttl_seconds: \(notFoundTTLSeconds.clean)",
            "cache.stale_while_revalidate_seconds: \(staleWhileRevalidateSeconds.clean)",
            "cache.stale_if_error_seconds: \(staleIfErrorSeconds.clean)",
            "cache.memory_entries: \(memoryEntries)",
            "cache.memory_bytes: \(memoryBytes)",
            "cache.list_ttl_seconds: \(listTTLSeconds.clean)",
            "sweep.interval_seconds: \(sweepIntervalSeconds == 0 ? "0 (off)" : sweepIntervalSeconds.clean)",
            "sweep.max_budget_fraction: \(sweepMaxBudgetFraction.clean)",
            "rate_limit.max_wait_seconds: \(rateLimit.maxWaitSeconds.clean)",
            "rate_limit.reserve_fraction: \(rateLimit.reserveFraction.clean)",
            "rate_limit.max_concurrency: \(rateLimit.maxConcurrency)",
            "rate_limit.backoff_base_seconds: \(rateLimit.backoffBaseSeconds.clean)",
            "rate_limit.backoff_max_seconds: \(rateLimit.backoffMaxSeconds.clean)",
            "request_log.path: \(requestLogPath)",
            "request_log.record_hits: \(recordHits)",
            "request_log.retention_days: \(requestLogRetentionDays.clean)",
            "request_log.max_rows: \(requestLogMaxRows.map(String.init) ?? "0 (no limit)")",
            "log.level: \(logLevel.rawValue)",
            "log.format: \(logFormat.rawValue)",
        ]
    }
}

extension Double {
    /// `300` rather than `300.0` in printed configuration.
    var clean: String {
        self == rounded() && abs(self) < 1e15 ? String(Int64(self)) : String(self)
    }
}
