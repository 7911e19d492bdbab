/// The proxy's own answers for what went wrong below HTTP, each in Persona's error shape.
extension ProxyError {
    /// The proxy's own 429 when budget will not come within `rate_limit.max_wait_seconds`: Persona's
    /// body, plus `Retry-After` (which Persona never sends) so well-behaved callers back off.
    static func rateLimited(_ refusal: RateLimitRefusal) -> ProxyError {
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

    /// 504 for a timeout, 502 for anything else that kept Persona's answer from arriving.
    static func upstream(_ error: UpstreamError) -> ProxyError {
        switch error {
        case .timedOut(let seconds):
            .upstreamTimeout("Persona did not answer within \(seconds.clean) seconds (upstream.timeout_seconds).")
        case .unreachable(let reason):
            .upstreamUnreachable("Persona could not be reached: \(reason)")
        case .responseTooLarge(let limit):
            .upstreamUnreachable("Persona's answer was larger than \(limit) bytes.")
        }
    }

    /// The `Cache-Status` detail token for an upstream failure.
    static func detail(for error: UpstreamError) -> String {
        switch error {
        case .timedOut: "upstream-timeout"
        case .unreachable: "upstream-unreachable"
        case .responseTooLarge: "upstream-too-large"
        }
    }

    /// 503: a database the request needs cannot be used.
    static func storage(_ error: StorageError) -> ProxyError {
        .unavailable(error.description)
    }

    static func invalid(_ error: InvalidRequest) -> ProxyError {
        .badRequest(error.message)
    }
}
