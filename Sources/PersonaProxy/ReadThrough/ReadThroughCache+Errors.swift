extension ReadThroughCache {
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
