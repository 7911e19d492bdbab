import Foundation
public import Logging
import NIOCore

/// The heart of the proxy: answer a retrieve from the cache while the entry is usable, otherwise
/// fetch it from Persona (one fetch per variant at a time), store what is worth storing, fall
/// back to a stale copy when Persona fails, and say which of these happened.
public struct ReadThroughCache: Sendable {
    let store: any CacheStore
    let upstream: GovernedUpstream
    let clock: any WallClock
    let policy: @Sendable () -> CachePolicy
    let coalescer: RequestCoalescer<CacheKey, FetchOutcome>
    let purges = PurgeEpochs()
    let metrics: ProxyMetrics
    let logger: Logger

    /// - Parameter policy: read on every request, so a reload takes effect for the next one.
    public init(
        store: any CacheStore, upstream: GovernedUpstream, clock: any WallClock, policy: @escaping @Sendable () -> CachePolicy,
        coalescer: RequestCoalescer<CacheKey, FetchOutcome> = RequestCoalescer(), metrics: ProxyMetrics, logger: Logger
    ) {
        self.store = store
        self.upstream = upstream
        self.clock = clock
        self.policy = policy
        self.coalescer = coalescer
        self.metrics = metrics
        self.logger = logger
    }

    /// What one shared fetch produced; every waiter builds its own response from it.
    public struct FetchOutcome: Sendable {
        /// nil when no call was needed: another fetch stored a usable entry just before this one began.
        var exchange: UpstreamExchange?
        /// The entry written to the cache (or found there), if any.
        var stored: CachedEntry?
    }

    public func retrieve(
        _ request: ConnectionRequest, directives: CacheDirectives = CacheDirectives(), caller: CallerIdentity
    ) async throws(ProxyError) -> ProxiedResponse {
        let key = request.cacheKey
        let policy = policy()
        let entry: CachedEntry?
        do {
            entry = try await store.entry(for: key)
        } catch let error as ProxyError {
            throw error
        } catch {
            logger.error("cache read failed", metadata: ["error": "\(error)"])
            throw .unavailable("the cache database cannot be read")
        }
        switch policy.decide(entry: entry, now: clock.now(), directives: directives) {
        case .fresh(let age, let ttl):
            return ResponseBuilder.hit(entry!, age: age, cacheStatus: CacheStatus(hit: true, ttl: ttl))
        case .stale(let age, let staleFor, let revalidate, let reason):
            if revalidate { refreshInBackground(request, key: key, caller: caller) }
            metrics.recordStaleServed(reason: reason.rawValue)
            return ResponseBuilder.hit(
                entry!, age: age, cacheStatus: CacheStatus(hit: true, ttl: -staleFor, detail: reason.rawValue), outcome: "stale")
        case .unsatisfiable:
            return .error(
                ProxyError(status: 504, title: "Gateway timeout", details: "Cache-Control: only-if-cached was sent and no usable copy is cached."),
                cacheStatus: CacheStatus(detail: "only-if-cached"), cacheOutcome: "unsatisfiable")
        case .fetch(let forward, let staleFallback):
            let (outcome, collapsed) = await coalescer.run(key) {
                // A fetch for this key may have finished between the read above and this flight
                // starting: use what it stored rather than calling Persona a second time.
                if let latest = try? await store.entry(for: key), latest.fetchedAt != entry?.fetchedAt || latest.personaRequestId != entry?.personaRequestId,
                    case .fresh = policy.decide(entry: latest, now: clock.now(), directives: CacheDirectives())
                {
                    return FetchOutcome(exchange: nil, stored: latest)
                }
                return await fetchAndStore(request, key: key, caller: caller, priority: .foreground)
            }
            if collapsed { metrics.recordCoalesced() }
            return respond(to: outcome, forward: forward, collapsed: collapsed, fallback: staleFallback ? entry : nil)
        }
    }

    /// Removes every cached variant of a connection and forgets fetches in flight for them, so
    /// the next request starts a fresh fetch instead of joining one begun before the purge.
    public func purge(connectionId: String) async throws -> Int {
        purges.bump(connectionId)
        coalescer.forgetAll { $0.connectionId == connectionId }
        return try await store.removeAll(connectionId: connectionId)
    }

    public func purgeEverything() async throws -> Int {
        purges.bumpAll()
        coalescer.forgetAll { _ in true }
        return try await store.removeEverything()
    }

    /// Lets fetches in flight finish (and store) before the database closes.
    public func drain() async { await coalescer.drain() }

    private func refreshInBackground(_ request: ConnectionRequest, key: CacheKey, caller: CallerIdentity) {
        let metrics = metrics
        coalescer.start(key) {
            let outcome = await fetchAndStore(request, key: key, caller: caller, priority: .background)
            metrics.recordBackgroundRefresh(result: outcome.stored != nil ? "stored" : outcome.exchange.map { Self.failureLabel($0.result) } ?? "none")
            return outcome
        }
    }

    /// The shared part of a miss: one governed upstream exchange, and the store if worth it.
    private func fetchAndStore(_ request: ConnectionRequest, key: CacheKey, caller: CallerIdentity, priority: UpstreamPriority) async -> FetchOutcome {
        var headers: [(name: String, value: String)] = [(name: "User-Agent", value: caller.userAgent)]
        if let version = request.personaVersion { headers.append((name: "Persona-Version", value: version)) }
        if let inflection = request.keyInflection { headers.append((name: "Key-Inflection", value: inflection)) }
        let upstreamRequest = UpstreamRequest(
            method: "GET", path: "/api/v1/connect/connections/\(request.connectionId)", query: request.upstreamQuery, headers: headers)
        let epoch = purges.epoch(for: request.connectionId)
        // A refresh nobody waits for may wait a whole window for budget.
        let exchange = await upstream.perform(upstreamRequest, priority: priority, maxWait: priority == .background ? 120 : nil)
        guard case .answered(let response) = exchange.result, let lifetime = policy().lifetime(forStatus: response.status) else {
            if case .failed(let error) = exchange.result {
                logger.warning("upstream call failed", metadata: ["connection_id": "\(request.connectionId)", "error": "\(error.summary)"])
            }
            return FetchOutcome(exchange: exchange, stored: nil)
        }
        // A purge (a deactivate, an operator) since this fetch began makes its answer suspect:
        // pass it to the callers that asked, but do not keep it.
        guard purges.epoch(for: request.connectionId) == epoch else { return FetchOutcome(exchange: exchange, stored: nil) }
        let fetchedAt = clock.now()
        let entry = CachedEntry(
            key: key, status: response.status, body: response.body, contentType: response.header("Content-Type"),
            personaRequestId: response.personaRequestId, environmentId: response.header("Persona-Environment-Id"),
            organizationId: response.header("Persona-Organization-Id"), fetchedAt: fetchedAt, expiresAt: fetchedAt.addingTimeInterval(lifetime))
        do {
            try await store.store(entry)
            return FetchOutcome(exchange: exchange, stored: entry)
        } catch {
            // The caller still gets Persona's answer; only the next request pays again.
            logger.error("cache write failed", metadata: ["connection_id": "\(request.connectionId)", "error": "\(error)"])
            return FetchOutcome(exchange: exchange, stored: nil)
        }
    }

    private func respond(to outcome: FetchOutcome, forward: CacheStatus.Forward, collapsed: Bool, fallback: CachedEntry?) -> ProxiedResponse {
        let now = clock.now()
        guard let exchange = outcome.exchange else {
            // Found stored by the flight itself: a hit after all.
            let entry = outcome.stored!
            return ResponseBuilder.hit(
                entry, age: CachePolicy.age(of: entry, at: now),
                cacheStatus: CacheStatus(hit: true, ttl: CachePolicy.wholeSeconds(entry.expiresAt.timeIntervalSince(now)), collapsed: collapsed))
        }
        // Only the caller that made the calls carries them in its log record.
        let attempts = collapsed ? [] : exchange.attempts
        let usableFallback = fallback.flatMap { policy().canServeIfError($0, now: now) ? $0 : nil }
        switch exchange.result {
        case .answered(let response):
            if let stale = usableFallback, response.status >= 500 || response.status == 429 {
                return staleIfError(stale, now: now, forward: forward, status: response.status, detail: nil, collapsed: collapsed, attempts: attempts)
            }
            var status = CacheStatus(forward: forward, forwardStatus: response.status, collapsed: collapsed)
            if let stored = outcome.stored {
                status.stored = true
                // Rounded, not floored: the entry was written milliseconds ago with a whole-second TTL.
                status.ttl = max(0, Int(stored.expiresAt.timeIntervalSince(now).rounded()))
            }
            let label = collapsed ? "collapsed" : outcome.stored == nil ? "pass" : forward == .miss ? "miss" : "expired"
            return ResponseBuilder.forwarded(response, cacheStatus: status, outcome: label, attempts: attempts)
        case .failed(let error):
            let (proxyError, detail) = Self.proxyError(for: error)
            if let stale = usableFallback {
                return staleIfError(stale, now: now, forward: forward, status: nil, detail: detail, collapsed: collapsed, attempts: attempts)
            }
            return .error(proxyError, cacheStatus: CacheStatus(forward: forward, collapsed: collapsed, detail: detail), attempts: attempts)
        case .refused(let refusal):
            if let stale = usableFallback {
                return staleIfError(
                    stale, now: now, forward: forward, status: nil, detail: "rate-limit-wait-exceeded", collapsed: collapsed, attempts: attempts)
            }
            return .error(
                Self.rateLimitError(refusal), cacheStatus: CacheStatus(forward: forward, collapsed: collapsed, detail: "rate-limit-wait-exceeded"),
                cacheOutcome: "rate_limited", attempts: attempts)
        }
    }

    private func staleIfError(
        _ entry: CachedEntry, now: Date, forward: CacheStatus.Forward, status: Int?, detail: String?, collapsed: Bool, attempts: [UpstreamAttempt]
    ) -> ProxiedResponse {
        metrics.recordStaleServed(reason: CachePolicy.StaleReason.ifError.rawValue)
        let staleFor = Int(now.timeIntervalSince(entry.expiresAt).rounded(.up))
        let cacheStatus = CacheStatus(
            forward: forward, forwardStatus: status, ttl: -max(0, staleFor), collapsed: collapsed,
            detail: detail.map { "stale-if-error-\($0)" } ?? CachePolicy.StaleReason.ifError.rawValue)
        var response = ResponseBuilder.hit(entry, age: CachePolicy.age(of: entry, at: now), cacheStatus: cacheStatus, outcome: "stale")
        response.attempts = attempts
        return response
    }

    static func failureLabel(_ result: UpstreamExchange.Result) -> String {
        switch result {
        case .answered(let response): "status_\(response.status)"
        case .failed: "error"
        case .refused: "rate_limited"
        }
    }
}
