import AsyncHTTPClient
public import Hummingbird
import HummingbirdCore
import NIOCore
import NIOPosix
public import Logging
import Metrics
public import Prometheus
import ServiceLifecycle

/// What can be swapped when the application is built: the real parts by default, twins in tests.
public struct ProxyDependencies: Sendable {
    public var clock: any WallClock
    /// Waiting and pacing (rate limits, backoff).
    public var monotonicClock: any MonotonicClock
    /// Uniform samples in [0, 1) for jitter.
    public var random: @Sendable () -> Double
    /// nil: the real `HTTPPersonaClient` on an `HTTPClient` the application owns and shuts down.
    public var client: (any PersonaClient)?
    public var registry: PrometheusCollectorRegistry
    public var logger: Logger

    public init(
        clock: any WallClock = SystemWallClock(), monotonicClock: any MonotonicClock = SystemMonotonicClock(),
        random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }, client: (any PersonaClient)? = nil,
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), logger: Logger = Logger(label: "persona-proxy")
    ) {
        self.clock = clock
        self.monotonicClock = monotonicClock
        self.random = random
        self.client = client
        self.registry = registry
        self.logger = logger
    }
}

/// The wired daemon: the Hummingbird application (a `Service` that runs everything else) and
/// handles to its parts for tests and the CLI.
public struct ProxyApplication: Sendable {
    public let application: Application<RouterResponder<ProxyRequestContext>>
    /// `cache.path`: disposable.
    public let cacheDatabase: SQLiteDatabase
    /// `request_log.path`: the audit trail.
    public let requestLogDatabase: SQLiteDatabase
    public let store: any CacheStore
    public let requestLog: any RequestLogStore
    public let metrics: ProxyMetrics
    /// Hit rows waiting to be written (tests flush it).
    public let hitWriter: BatchedRequestLogWriter
    /// The list sweep, also run by the service group (tests drive `walk()` directly).
    public let sweep: ConnectionSweep
    /// The configuration in force; `ReloadService` replaces it on SIGHUP.
    public let live: LiveConfiguration
    public let readiness: Readiness
    /// Yields the bound port once the listener is up (after the database was opened).
    public let serverRunning: AsyncStream<Int>
    let listener: BoundListener
    let statistics: @Sendable () async -> String

    /// Builds the whole daemon from configuration. Wiring only: every decision lives in the parts.
    ///
    /// The databases are opened here once so that the first request finds them ready; if that
    /// fails the daemon still starts, `/readyz` says why, and a `DatabaseService` keeps retrying.
    /// The request log opens first: it takes over the rows a single-file database of an earlier
    /// version kept in the cache file.
    public init(
        configuration: ProxyConfiguration, apiKey: APIKey, dependencies: ProxyDependencies = ProxyDependencies(),
        logLevel: LogLevelControl = LogLevelControl(), onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        let live = LiveConfiguration(configuration, logLevel: logLevel)
        var logger = dependencies.logger
        logger.logLevel = configuration.logLevel
        let metrics = ProxyMetrics(factory: PrometheusMetricsFactory(registry: dependencies.registry))
        let requestLogDatabase = RequestLogSchema.database(
            path: configuration.requestLogPath, legacyCachePath: configuration.cachePath,
            onWrite: { metrics.recordDatabaseWrite(database: "request_log", committed: $0) })
        let cacheDatabase = CacheSchema.database(
            path: configuration.cachePath, onWrite: { metrics.recordDatabaseWrite(database: "cache", committed: $0) },
            report: { [logger] message in logger.error("\(message)") })
        for database in [requestLogDatabase, cacheDatabase] {
            do {
                try database.open()
            } catch {
                logger.error("database unavailable at start-up", metadata: ["reason": "\(database.unavailableReason ?? "\(error)")"])
            }
        }
        let store = TieredCacheStore(memory: MemoryCacheStore(capacity: configuration.memoryEntries, maxBytes: configuration.memoryBytes), durable: SQLiteCacheStore(database: cacheDatabase))
        let requestLog = SQLiteRequestLogStore(
            database: requestLogDatabase,
            commitSlackSeconds: configuration.rateLimit.maxWaitSeconds + 3 * configuration.upstreamTimeoutSeconds + 120)
        let readiness = Readiness()

        // Closed last (first in the list): the request log after the cache.
        var services: [any Service] = [
            DatabaseService(database: requestLogDatabase, logger: logger), DatabaseService(database: cacheDatabase, logger: logger),
        ]
        let client: any PersonaClient
        if let injected = dependencies.client {
            client = injected
        } else {
            let httpClient = HTTPPersonaClient.makeHTTPClient()
            services.append(HTTPClientService(httpClient: httpClient))
            client = HTTPPersonaClient(
                httpClient: httpClient, baseURL: configuration.upstreamBaseURL, apiKey: apiKey,
                timeout: .milliseconds(Int64(configuration.upstreamTimeoutSeconds * 1000)))
        }
        // Read per decision, so a reload applies to the next request.
        let policy: @Sendable () -> CachePolicy = { live.requestSettings.policy }
        let rateLimit: @Sendable () -> RateLimitSettings = { live.value.rateLimit }
        let governor = RateLimitGovernor(
            clock: dependencies.monotonicClock, settings: rateLimit, random: dependencies.random,
            onStateChange: { [metrics] state in metrics.recordRateLimitState(state) })
        let upstream = GovernedUpstream(
            client: client, governor: governor, clock: dependencies.monotonicClock, settings: rateLimit, random: dependencies.random,
            metrics: metrics, logger: logger, onAnswer: { status in readiness.observeUpstream(status: status) })
        let upstreamIdentity = UpstreamIdentity.fingerprint(baseURL: configuration.upstreamBaseURL, apiKey: apiKey)
        let readThrough = ReadThroughCache(
            store: store, upstream: upstream, upstreamIdentity: upstreamIdentity, clock: dependencies.clock,
            policy: policy, metrics: metrics, logger: logger)

        // Stopped in reverse order: the server first, then in-flight fetches drain, the hit
        // writer flushes, the janitors stop, the HTTP client and, last, the database close.
        services.append(
            CacheJanitor(store: store, clock: dependencies.clock, retentionAfterExpiry: { live.value.cachePolicy.retentionAfterExpiry }, logger: logger))
        let hitWriter = BatchedRequestLogWriter(
            store: requestLog, logger: logger, thread: BackgroundThread(), backlogThread: BackgroundThread(niceness: 0, name: "ppx-hit-backlog"))
        let recorder = RequestRecorder(store: requestLog, hits: hitWriter, recordHits: { live.value.recordHits })
        services.append(
            RequestLogJanitor(
                store: requestLog, clock: dependencies.clock,
                retention: { (days: live.value.requestLogRetentionDays, maxRows: live.value.requestLogMaxRows) }, logger: logger))
        services.append(hitWriter)
        services.append(
            FetchDrainService(readThrough: readThrough, grace: { .milliseconds(Int64(live.value.shutdownGraceSeconds * 1000)) }, logger: logger))

        let sweep = ConnectionSweep(
            cache: readThrough, upstream: upstream, clock: dependencies.clock, monotonic: dependencies.monotonicClock,
            settings: {
                let value = live.value
                return .init(
                    intervalSeconds: value.sweepIntervalSeconds, maxBudgetFraction: value.sweepMaxBudgetFraction, personaVersion: value.personaVersion)
            },
            limit: { [governor] in await governor.snapshot.limit },
            report: { [recorder, logger] path, connectionId, startedAt, exchange in
                let last = exchange.calls.last
                let status: Int = if case .answered(let response) = exchange.result { response.status } else { 502 }
                let record = RequestLogRecord(
                    requestId: RequestIdGenerator.shared.next(), receivedAt: startedAt, caller: "persona-proxy/sweep", method: "GET", path: path,
                    connectionId: connectionId, cacheOutcome: "sweep", status: status, personaRequestId: last?.personaRequestId,
                    durationMs: exchange.calls.reduce(0) { $0 + $1.duration.milliseconds }, attempts: exchange.calls.map(UpstreamAttempt.init))
                await recorder.record(record, durable: true, logger: logger)
            },
            metrics: metrics, logger: logger)
        services.append(sweep)

        let access: @Sendable () -> AccessControl = { live.requestSettings.access }
        let health = HealthRoutes(databases: [cacheDatabase, requestLogDatabase], readiness: readiness, clock: dependencies.clock)
        let router = Router(context: ProxyRequestContext.self)
        router.add(
            middleware: RequestEdgeMiddleware(
                metrics: metrics, logger: logger, access: access))
        health.register(on: router)
        MetricsRoutes(
            registry: dependencies.registry, metrics: metrics, cache: readThrough, requestLog: requestLog, sweep: sweep.status, clock: dependencies.clock,
            databases: [(name: "cache", path: configuration.cachePath), (name: "request_log", path: configuration.requestLogPath)]
        ).register(on: router)
        let personaVersion: @Sendable () -> String? = { live.requestSettings.defaultPersonaVersion }
        let allowedVersions: @Sendable () -> Set<String>? = { live.requestSettings.allowedPersonaVersions }
        ConnectionRoutes(
            cache: readThrough, recorder: recorder, clock: dependencies.clock, defaultPersonaVersion: personaVersion,
            allowedPersonaVersions: allowedVersions
        ).register(on: router)
        ConnectionWriteRoutes(
            cache: readThrough, recorder: recorder, clock: dependencies.clock, defaultPersonaVersion: personaVersion,
            allowedPersonaVersions: allowedVersions
        ).register(on: router)
        let personaLogs = PersonaAPILogReader(
            upstream: upstream, copies: SQLiteAPILogCopyStore(database: requestLogDatabase), clock: dependencies.clock)
        AdminRequestRoutes(requestLog: requestLog, personaLogs: personaLogs).register(on: router)
        CacheAdminRoutes(cache: readThrough, clock: dependencies.clock).register(on: router)
        SweepAdminRoutes(sweep: sweep).register(on: router)

        let limiter = ConnectionLimiter(maxConnections: configuration.maxConnections) { reason in metrics.recordConnectionClosed(reason: reason) }
        let fastPath = HitFastPath(
            memory: store.memory, durable: SQLiteEntryReader(path: configuration.cachePath), upstreamIdentity: upstreamIdentity,
            clock: dependencies.clock, settings: { live.requestSettings },
            recorder: recorder, metrics: metrics, logger: logger)
        let (serverRunning, running) = AsyncStream.makeStream(of: Int.self)
        let listener = BoundListener()
        self.application = Application(
            router: router,
            server: ProxyHTTP1Channel.builder(
                .init(
                    limiter: limiter, fastPath: configuration.hitFastPath ? fastPath : nil,
                    idleTimeout: .milliseconds(Int64(configuration.idleTimeoutSeconds * 1000)), maxHeaderBytes: configuration.maxHeaderBytes)),
            configuration: .init(address: .hostname(configuration.serverHost, port: configuration.serverPort), serverName: nil),
            services: services,
            onServerRunning: { channel in
                listener.bound(to: channel.localAddress)
                let port = channel.localAddress?.port ?? 0
                readiness.phase = .serving
                running.yield(port)
                running.finish()
                await onServerRunning(port)
            },
            // A group of its own lives as long as the process (nothing else runs on it).
            eventLoopGroupProvider: configuration.eventLoopThreads > 0
                ? .shared(MultiThreadedEventLoopGroup(numberOfThreads: configuration.eventLoopThreads)) : .singleton,
            logger: logger)
        self.cacheDatabase = cacheDatabase
        self.sweep = sweep
        self.requestLogDatabase = requestLogDatabase
        self.store = store
        self.requestLog = requestLog
        self.metrics = metrics
        self.hitWriter = hitWriter
        self.live = live
        self.readiness = readiness
        self.serverRunning = serverRunning
        self.listener = listener
        self.statistics = { [governor] in
            let degraded = [cacheDatabase, requestLogDatabase].compactMap { $0.unavailableReason ?? $0.writeFailure }.first
            // A count, not `statistics()`: that sums every body, a read of the whole file (720 MB
            // at a million entries, most of a core for a second) every `statusInterval`.
            let entries = try? await readThrough.entryCount()
            let budget = await governor.snapshot
            return (degraded.map { "degraded: \($0.prefix(120)); " } ?? "") + "entries \(entries ?? 0), hit ratio \(metrics.hitRatioText), rate-limit remaining \(budget.remaining.map(String.init) ?? "unknown")"
        }
    }

    /// The systemd side of this application (readiness, status, watchdog); run it in the same
    /// service group, after `application`.
    public func systemdLifecycle(environment: [String: String], logger: Logger) -> SystemdLifecycleService {
        let listener = listener
        return SystemdLifecycleService(
            notifier: SystemdNotifier(environment: environment), readiness: readiness, serverRunning: serverRunning, environment: environment,
            check: { _ in await SelfCheck.passes(url: listener.url) }, status: statistics, logger: logger)
    }
}

/// Shuts the upstream HTTP client down after the server has drained.
struct HTTPClientService: Service {
    let httpClient: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await httpClient.shutdown()
    }
}
