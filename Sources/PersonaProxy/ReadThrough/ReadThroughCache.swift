import Foundation
public import Logging
import NIOCore

/// The heart of the proxy: answer a retrieve from the cache while the entry is usable, otherwise
/// fetch it from Persona (one fetch per variant at a time), store what is worth storing, fall
/// back to a stale copy when Persona fails, and say which of these happened (`ReadResult`).
public struct ReadThroughCache: ConnectionCache {
    let store: any CacheStore
    let upstream: any UpstreamCalling
    /// Part of every cache key: answers from another base URL or key are never served.
    let upstreamIdentity: String
    let clock: any WallClock
    let policy: @Sendable () -> CachePolicy
    let coalescer: RequestCoalescer<CacheKey, FetchOutcome>
    let purges: PurgeBarrier
    let forcedRefreshes: ForcedRefreshAllowance
    let metrics: ProxyMetrics
    let logger: Logger

    /// - Parameter policy: read on every request, so a reload takes effect for the next one.
    public init(
        store: any CacheStore, upstream: any UpstreamCalling, upstreamIdentity: String = "", clock: any WallClock, policy: @escaping @Sendable () -> CachePolicy,
        coalescer: RequestCoalescer<CacheKey, FetchOutcome> = RequestCoalescer(), purges: PurgeBarrier = PurgeBarrier(),
        forcedRefreshes: ForcedRefreshAllowance = ForcedRefreshAllowance(), metrics: ProxyMetrics, logger: Logger
    ) {
        self.store = store
        self.upstream = upstream
        self.upstreamIdentity = upstreamIdentity
        self.clock = clock
        self.policy = policy
        self.coalescer = coalescer
        self.purges = purges
        self.forcedRefreshes = forcedRefreshes
        self.metrics = metrics
        self.logger = logger
    }

    /// What one shared fetch produced; every waiter builds its own result from it.
    public struct FetchOutcome: Sendable {
        /// nil when no call was needed: another fetch stored a usable entry just before this one began.
        var exchange: UpstreamExchange?
        /// The entry written to the cache (or found there), if any.
        var stored: CachedEntry?
        /// Set when Persona's answer was not what its status claimed.
        var invalid: InvalidAnswer?
    }

    public func retrieve(_ request: ConnectionRequest, directives: CacheDirectives, caller: CallerIdentity) async throws(StorageError) -> ReadResult {
        let key = request.cacheKey(upstream: upstreamIdentity)
        let policy = policy()
        let entry: CachedEntry?
        do {
            entry = try await store.entry(for: key)
        } catch {
            logger.error("cache read failed", metadata: ["error": "\(error)"])
            throw StorageError.wrapping(error)
        }
        let now = clock.now()
        switch policy.decide(entry: entry, now: now, directives: directives) {
        case .fresh(let age, let ttl):
            return ReadResult(outcome: .hit, source: .entry(entry!, age: age), ttl: ttl)
        case .stale(let age, let staleFor, let revalidate, let reason):
            if revalidate { refreshInBackground(request, key: key, caller: caller) }
            metrics.recordStaleServed(reason: reason.rawValue)
            return ReadResult(outcome: .stale(reason), source: .entry(entry!, age: age), ttl: -staleFor)
        case .unsatisfiable:
            return ReadResult(outcome: .unsatisfiable, source: .none)
        case .fetch(let forward, let staleFallback):
            if forward == .request, let entry, let limited = refreshLimited(entry, caller: caller, policy: policy, now: now) { return limited }
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
            return result(of: outcome, forward: forward, collapsed: collapsed, fallback: staleFallback ? entry : nil)
        }
    }

    /// A forced refresh of a fresh entry beyond the caller's allowance: the entry, served as a hit.
    private func refreshLimited(_ entry: CachedEntry, caller: CallerIdentity, policy: CachePolicy, now: Date) -> ReadResult? {
        guard let limit = caller.forcedRefreshesPerMinute, case .fresh(let age, let ttl) = policy.decide(entry: entry, now: now),
            !forcedRefreshes.take(caller.share.client, perMinute: limit, now: now)
        else { return nil }
        metrics.recordClientRefusal(client: caller.share.client, reason: .forcedRefreshLimited)
        return ReadResult(outcome: .refreshLimited, source: .entry(entry, age: age), ttl: ttl)
    }

    /// Removes every cached variant of a connection and forgets fetches in flight for them, so
    /// the next request starts a fresh fetch instead of joining one begun before the purge. Once
    /// this returns, no fetch begun before it can store (`PurgeBarrier`).
    public func purge(connectionId: String) async throws(StorageError) -> Int {
        do {
            return try await purges.purge(connectionId) {
                coalescer.forgetAll { $0.connectionId == connectionId }
                return try await store.removeAll(connectionId: connectionId)
            }
        } catch {
            throw .wrapping(error)
        }
    }

    public func purgeEverything() async throws(StorageError) -> Int {
        do {
            return try await purges.purgeEverything {
                coalescer.forgetAll { _ in true }
                return try await store.removeEverything()
            }
        } catch {
            throw .wrapping(error)
        }
    }

    /// Lets fetches in flight finish (and store) before the database closes.
    public func drain() async { await coalescer.drain() }

    /// Cancels fetches in flight: a background refresh may otherwise wait a whole window for budget.
    public func cancelFetches() { coalescer.cancelAll() }

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
        let ticket = purges.begin(request.connectionId)
        defer { purges.end(ticket) }
        // A refresh nobody waits for may wait a whole window for budget.
        var exchange = await upstream.perform(request.upstreamRequest(caller: caller), priority: priority, maxWait: priority == .background ? 120 : nil)
        if case .answered(let response) = exchange.result,
            let invalid = request.isList ? AnswerCheck.list(response) : AnswerCheck.retrieve(response, connectionId: request.connectionId)
        {
            metrics.recordInvalidResponse(reason: invalid.reason.rawValue)
            logger.warning(
                "invalid answer from Persona; not stored",
                metadata: [
                    "connection_id": "\(request.connectionId)", "status": "\(invalid.status)", "reason": "\(invalid.reason.rawValue)",
                    "persona_request_id": "\(response.personaRequestId ?? "none")",
                ])
            return FetchOutcome(exchange: exchange, stored: nil, invalid: invalid)
        }
        if case .answered(let answer) = exchange.result { exchange.result = .answered(personaShaped(answer)) }
        guard case .answered(let response) = exchange.result, 
            let lifetime = request.isList ? policy().listLifetime(forStatus: response.status) : policy().lifetime(forStatus: response.status)
        else {
            if case .failed(let error) = exchange.result {
                logger.warning("upstream call failed", metadata: ["connection_id": "\(request.connectionId)", "error": "\(error.summary)"])
            }
            return FetchOutcome(exchange: exchange, stored: nil)
        }
        let fetchedAt = clock.now()
        let entry = CachedEntry(
            key: key, status: response.status, body: response.body, contentType: response.header("Content-Type"),
            personaRequestId: response.personaRequestId, environmentId: response.header("Persona-Environment-Id"),
            organizationId: response.header("Persona-Organization-Id"), fetchedAt: fetchedAt, expiresAt: fetchedAt.addingTimeInterval(lifetime))
        do {
            // A purge (a deactivate, an operator) since this fetch began makes its answer suspect:
            // pass it to the callers that asked, but do not keep it.
            let stored = try await purges.storeIfCurrent(ticket) { try await store.store(entry) }
            return FetchOutcome(exchange: exchange, stored: stored ? entry : nil)
        } catch {
            // The caller still gets Persona's answer; only the next request pays again.
            logger.error("cache write failed", metadata: ["connection_id": "\(request.connectionId)", "error": "\(error)"])
            return FetchOutcome(exchange: exchange, stored: nil)
        }
    }

    private func result(of outcome: FetchOutcome, forward: ForwardReason, collapsed: Bool, fallback: CachedEntry?) -> ReadResult {
        let now = clock.now()
        guard let exchange = outcome.exchange else {
            // Found stored by the flight itself: a hit after all.
            let entry = outcome.stored!
            return ReadResult(
                outcome: .hit, source: .entry(entry, age: CachePolicy.age(of: entry, at: now)), collapsed: collapsed,
                ttl: CachePolicy.wholeSeconds(entry.expiresAt.timeIntervalSince(now)))
        }
        // Only the caller that made the calls carries them in its log record.
        let calls = collapsed ? [] : exchange.calls
        let usableFallback = fallback.flatMap { policy().canServeIfError($0, now: now) ? $0 : nil }
        func staleIfError(_ entry: CachedEntry, _ failure: UpstreamFailure) -> ReadResult {
            metrics.recordStaleServed(reason: CachePolicy.StaleReason.ifError.rawValue)
            let staleFor = Int(now.timeIntervalSince(entry.expiresAt).rounded(.up))
            return ReadResult(
                outcome: .staleIfError(failure), source: .entry(entry, age: CachePolicy.age(of: entry, at: now)), forward: forward,
                collapsed: collapsed, ttl: -max(0, staleFor), calls: calls)
        }
        if let invalid = outcome.invalid {
            if let stale = usableFallback { return staleIfError(stale, .invalid(invalid)) }
            return ReadResult(outcome: .invalidAnswer(invalid), source: .none, forward: forward, collapsed: collapsed, calls: calls)
        }
        switch exchange.result {
        case .answered(let response):
            if let stale = usableFallback, response.status >= 500 || response.status == 429 {
                return staleIfError(stale, .status(response.status))
            }
            // Rounded, not floored: the entry was written milliseconds ago with a whole-second TTL.
            let ttl = outcome.stored.map { max(0, Int($0.expiresAt.timeIntervalSince(now).rounded())) }
            return ReadResult(
                outcome: .forwarded(stored: outcome.stored != nil), source: .upstream(response), forward: forward, collapsed: collapsed, ttl: ttl,
                calls: calls)
        case .failed(let error):
            if let stale = usableFallback { return staleIfError(stale, .error(error)) }
            return ReadResult(outcome: .failed(error), source: .none, forward: forward, collapsed: collapsed, calls: calls)
        case .refused(let refusal):
            if let stale = usableFallback { return staleIfError(stale, .rateLimited) }
            return ReadResult(outcome: .refused(refusal), source: .none, forward: forward, collapsed: collapsed, calls: calls)
        }
    }

    /// Persona's answer as passed on: an error that is not in Persona's shape is put in it (and counted).
    func personaShaped(_ answer: UpstreamResponse) -> UpstreamResponse {
        let shaped = AnswerCheck.personaShaped(answer)
        if shaped.body != answer.body { metrics.recordInvalidResponse(reason: "error_not_persona_shaped") }
        return shaped
    }

    static func failureLabel(_ result: UpstreamExchange.Result) -> String {
        switch result {
        case .answered(let response): "status_\(response.status)"
        case .failed: "error"
        case .refused: "rate_limited"
        }
    }
}
