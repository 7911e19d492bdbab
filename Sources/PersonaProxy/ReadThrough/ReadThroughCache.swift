import Foundation
public import Logging
import NIOCore

/// The heart of the proxy: answer a retrieve from the cache while the entry is fresh, otherwise
/// fetch it from Persona, store what is worth storing, and say which happened.
public struct ReadThroughCache: Sendable {
    let store: any CacheStore
    let upstream: GovernedUpstream
    let clock: any WallClock
    let policy: @Sendable () -> CachePolicy
    let metrics: ProxyMetrics
    let logger: Logger

    /// - Parameter policy: read on every request, so a reload takes effect for the next one.
    public init(
        store: any CacheStore, upstream: GovernedUpstream, clock: any WallClock, policy: @escaping @Sendable () -> CachePolicy,
        metrics: ProxyMetrics, logger: Logger
    ) {
        self.store = store
        self.upstream = upstream
        self.clock = clock
        self.policy = policy
        self.metrics = metrics
        self.logger = logger
    }

    /// Headers of Persona's that a cached answer keeps, so a hit looks like the original.
    static let storedHeaderNames = ["Content-Type", "Request-Id", "Persona-Environment-Id", "Persona-Organization-Id"]
    /// Headers of Persona's passed through on a forwarded answer (rate-limit state included,
    /// so callers that watch it keep working).
    static let forwardedHeaderNames = storedHeaderNames + ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]

    public func retrieve(_ request: ConnectionRequest, caller: CallerIdentity) async throws(ProxyError) -> ProxiedResponse {
        let key = request.cacheKey
        let policy = policy()
        let stored: CachedEntry?
        do {
            stored = try await store.entry(for: key)
        } catch let error as ProxyError {
            throw error
        } catch {
            logger.error("cache read failed", metadata: ["error": "\(error)"])
            throw .unavailable("the cache database cannot be read")
        }
        let now = clock.now()
        switch policy.decide(entry: stored, now: now) {
        case .fresh(let age, let ttlRemaining):
            return Self.hit(stored!, age: age, ttl: ttlRemaining)
        case .expired:
            return await fetch(request, key: key, policy: policy, caller: caller, forward: .stale)
        case .miss:
            return await fetch(request, key: key, policy: policy, caller: caller, forward: .miss)
        }
    }

    static func hit(_ entry: CachedEntry, age: Int, ttl: Int) -> ProxiedResponse {
        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(6)
        if let contentType = entry.contentType { headers.append((name: "Content-Type", value: contentType)) }
        if let id = entry.personaRequestId { headers.append((name: "Request-Id", value: id)) }
        if let id = entry.environmentId { headers.append((name: "Persona-Environment-Id", value: id)) }
        if let id = entry.organizationId { headers.append((name: "Persona-Organization-Id", value: id)) }
        headers.append((name: "Age", value: String(age)))
        return ProxiedResponse(
            status: entry.status, headers: headers, body: entry.body, cacheStatus: CacheStatus(hit: true, ttl: ttl),
            cacheOutcome: "hit", personaRequestId: entry.personaRequestId, attempts: [])
    }

    private func fetch(
        _ request: ConnectionRequest, key: CacheKey, policy: CachePolicy, caller: CallerIdentity, forward: CacheStatus.Forward
    ) async -> ProxiedResponse {
        var headers: [(name: String, value: String)] = [(name: "User-Agent", value: caller.userAgent)]
        if let version = request.personaVersion { headers.append((name: "Persona-Version", value: version)) }
        if let inflection = request.keyInflection { headers.append((name: "Key-Inflection", value: inflection)) }
        let upstreamRequest = UpstreamRequest(
            method: "GET", path: "/api/v1/connect/connections/\(request.connectionId)", query: request.upstreamQuery,
            headers: headers)
        let outcomeLabel = forward == .miss ? "miss" : "expired"
        let exchange = await upstream.perform(upstreamRequest)
        let response: UpstreamResponse
        switch exchange.result {
        case .answered(let answer):
            response = answer
        case .failed(let error):
            let (proxyError, detail) = Self.proxyError(for: error)
            logger.warning("upstream call failed", metadata: ["connection_id": "\(request.connectionId)", "error": "\(error.summary)"])
            return .error(proxyError, cacheStatus: CacheStatus(forward: forward, detail: detail), attempts: exchange.attempts)
        case .refused(let refusal):
            return .error(
                Self.rateLimitError(refusal), cacheStatus: CacheStatus(forward: forward, detail: "rate-limit-wait-exceeded"),
                cacheOutcome: "rate_limited", attempts: exchange.attempts)
        }
        var cacheStatus = CacheStatus(forward: forward, forwardStatus: response.status)
        if let lifetime = policy.lifetime(forStatus: response.status) {
            let fetchedAt = clock.now()
            let entry = CachedEntry(
                key: key, status: response.status, body: response.body, contentType: response.header("Content-Type"),
                personaRequestId: response.personaRequestId, environmentId: response.header("Persona-Environment-Id"),
                organizationId: response.header("Persona-Organization-Id"), fetchedAt: fetchedAt,
                expiresAt: fetchedAt.addingTimeInterval(lifetime))
            do {
                try await store.store(entry)
                cacheStatus.stored = true
                cacheStatus.ttl = CachePolicy.wholeSeconds(lifetime)
            } catch {
                // The caller still gets Persona's answer; only the next request pays again.
                logger.error("cache write failed", metadata: ["connection_id": "\(request.connectionId)", "error": "\(error)"])
            }
        }
        let passed = Self.forwardedHeaderNames.compactMap { name in response.header(name).map { (name: name, value: $0) } }
        return ProxiedResponse(
            status: response.status, headers: passed, body: response.body, cacheStatus: cacheStatus,
            cacheOutcome: cacheStatus.stored ? outcomeLabel : "pass", personaRequestId: response.personaRequestId,
            attempts: exchange.attempts)
    }

    /// The proxy's own 429 when budget will not come within `rate_limit.max_wait_seconds`: Persona's
    /// body, plus `Retry-After` (which Persona never sends) so well-behaved callers back off.
    static func rateLimitError(_ refusal: RateLimitRefusal) -> ProxyError {
        var headers = [(name: "Retry-After", value: String(refusal.retryAfterSeconds))]
        if let limit = refusal.limit { headers.append((name: "RateLimit-Limit", value: String(limit))) }
        headers.append((name: "RateLimit-Remaining", value: "0"))
        headers.append((name: "RateLimit-Reset", value: String(refusal.resetSeconds ?? refusal.retryAfterSeconds)))
        let limitText = refusal.limit.map { " (\($0) requests per window)" } ?? ""
        return ProxyError(
            status: 429, title: "Rate limit exceeded",
            details: "The shared Persona rate limit\(limitText) is spent; persona-proxy could not get budget within rate_limit.max_wait_seconds. Retry after \(refusal.retryAfterSeconds) s.",
            headers: headers)
    }

    static func proxyError(for error: UpstreamError) -> (ProxyError, String) {
        switch error {
        case .timedOut(let seconds):
            return (.upstreamTimeout("Persona did not answer within \(seconds.clean) seconds (upstream.timeout_seconds)."), "upstream-timeout")
        case .unreachable(let reason):
            return (.upstreamUnreachable("Persona could not be reached: \(reason)"), "upstream-unreachable")
        case .responseTooLarge(let limit):
            return (.upstreamUnreachable("Persona's answer was larger than \(limit) bytes."), "upstream-too-large")
        }
    }

}

extension Duration {
    var milliseconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }
}
