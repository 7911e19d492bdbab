import Foundation

/// Everything the simulated Persona environment remembers: connections, API log, idempotency
/// results, the rate-limit window, and the switches tests and benchmarks turn.
///
/// Shared by the server and the code driving it. Time comes from the injected `now`, so rate
/// limits, idempotency expiry and timestamps can be stepped in tests.
public actor SimulatorState {
    public nonisolated let configuration: SimulatorConfiguration
    let now: @Sendable () -> ContinuousClock.Instant
    /// Wall-clock time is derived from `now` so that one injected clock drives everything.
    private let startInstant: ContinuousClock.Instant
    private let startTimestamp: Timestamp

    var limiter: FixedWindowRateLimiter
    private var forcedRateLimited = 0
    public private(set) var latency: Duration
    var connections: ConnectionStore
    var apiLogs: APILogStore
    var idempotency = IdempotencyStore()
    public private(set) var requests: [SimulatorRequestRecord] = []
    public private(set) var statistics = SimulatorStatistics()
    private let seed: [ConnectConnection]

    public init(
        configuration: SimulatorConfiguration,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) {
        self.configuration = configuration
        self.now = now
        self.startInstant = now()
        self.startTimestamp = Timestamp(millisecondsSince1970: Int64((Date().timeIntervalSince1970 * 1000).rounded()))
        self.limiter = FixedWindowRateLimiter(limit: configuration.rateLimit, window: configuration.rateLimitWindow)
        self.latency = configuration.latency
        self.seed = ConnectConnection.seed(count: configuration.seededConnections, organizationId: configuration.organizationId)
        self.connections = ConnectionStore(seed)
        self.apiLogs = APILogStore(capacity: configuration.maxRecordedRequests)
    }

    // MARK: Switches for tests and benchmarks

    /// The next `count` authenticated requests get Persona's 429, whatever the window says.
    public func forceRateLimited(next count: Int) {
        forcedRateLimited = max(0, count)
    }

    public func setLatency(_ latency: Duration) {
        self.latency = max(.zero, latency)
    }

    /// Takes effect with a fresh window.
    public func setRateLimit(_ limit: Int, window: Duration) {
        limiter.reconfigure(limit: limit, window: window)
    }

    /// The fixed id first, then the seeded ones, oldest first; the same on every start.
    public var connectionIds: [String] { seed.map(\.id) }

    /// Clears records, API log, idempotency results, counters, forced 429s and the rate-limit
    /// window, and restores the seeded connections, so each run starts from the same state.
    /// Settings (latency, limit, window) are kept.
    public func reset() {
        requests = []
        statistics = SimulatorStatistics()
        apiLogs = APILogStore(capacity: configuration.maxRecordedRequests)
        idempotency = IdempotencyStore()
        forcedRateLimited = 0
        limiter.reset()
        connections = ConnectionStore(seed)
    }

    // MARK: The request pipeline's steps

    /// What the gateway learns when a request arrives.
    struct Admission: Sendable {
        /// nil when the request was not authenticated: then no Request-Id and no RateLimit-*.
        var rateLimit: FixedWindowRateLimiter.Decision?
        var requestId: String?
        var latency: Duration
        var receivedAt: Timestamp
    }

    /// Rate limiting runs before anything else Persona does for an authenticated request, and
    /// only for those: a 401 costs nothing from the window.
    func admit(authenticated: Bool) -> Admission {
        let receivedAt = currentTimestamp()
        guard authenticated else {
            return Admission(rateLimit: nil, requestId: nil, latency: latency, receivedAt: receivedAt)
        }
        let instant = now()
        let decision: FixedWindowRateLimiter.Decision
        if forcedRateLimited > 0 {
            // A forced 429 leaves the window alone but reports it as spent, as a real one would.
            forcedRateLimited -= 1
            var status = limiter.status(at: instant)
            status.isAllowed = false
            status.remaining = 0
            decision = status
        } else {
            decision = limiter.decide(at: instant)
        }
        return Admission(
            rateLimit: decision, requestId: Token.random(prefix: "req_"), latency: latency, receivedAt: receivedAt)
    }

    func lookupIdempotency(key: String, fingerprint: IdempotencyStore.Fingerprint) -> IdempotencyStore.Lookup {
        idempotency.lookup(key: key, fingerprint: fingerprint, at: now())
    }

    /// Everything learned from one answered request, stored in one step.
    struct Completion: Sendable {
        var record: SimulatorRequestRecord
        var apiLog: APILogEntry?
        /// The first result for an `Idempotency-Key`, to replay later.
        var idempotentResult: (key: String, result: IdempotencyStore.Stored)?
    }

    func complete(_ completion: Completion) {
        let record = completion.record
        if let entry = completion.apiLog { apiLogs.append(entry) }
        if let first = completion.idempotentResult {
            idempotency.store(key: first.key, first.result, at: now())
        }
        statistics.requests += 1
        statistics.byStatus[record.status, default: 0] += 1
        requests.append(record)
        let capacity = max(1, configuration.maxRecordedRequests)
        if requests.count > capacity + capacity / 10 { requests.removeFirst(requests.count - capacity) }
    }

    // MARK: Access for the endpoints

    func withConnections<Result: Sendable>(
        _ body: @Sendable (inout ConnectionStore, Timestamp) throws -> Result
    ) throws -> Result {
        try body(&connections, currentTimestamp())
    }

    func apiLog(id: String) -> APILogEntry? { apiLogs.entry(id: id) }

    func apiLogsNewestFirst() -> [APILogEntry] { apiLogs.newestFirst }

    func currentTimestamp() -> Timestamp {
        let elapsed = startInstant.duration(to: now())
        let (seconds, attoseconds) = elapsed.components
        return startTimestamp.adding(milliseconds: seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }
}
