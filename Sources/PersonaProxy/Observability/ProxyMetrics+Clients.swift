public import CoreMetrics

/// Per-client metrics, labelled with the client's name (`clients[].name`, `local` without
/// clients, `unauthenticated` for a request no token matched): names come from the configuration,
/// so the label set is bounded, however many names callers make up.
extension ProxyMetrics {
    public static let clientRequests = "persona_proxy_client_requests_total"
    public static let clientRefusals = "persona_proxy_client_refusals_total"
    public static let clientUpstreamCalls = "persona_proxy_client_upstream_calls_total"
    public static let clientBudgetWait = "persona_proxy_client_budget_wait_seconds"

    static let clientHelp: [String: String] = [
        clientRequests: "Requests by client.",
        clientRefusals:
            "Requests refused by client and reason: unauthenticated (401), forbidden (403), invalid (400), rate_limited (no budget in time), forced_refresh_limited (the cached copy was served instead).",
        clientUpstreamCalls: "Calls to Persona by client whose budget they spent (retries included).",
        clientBudgetWait: "Time each client's upstream calls waited for rate-limit budget.",
    ]

    public enum RefusalReason: String, Sendable {
        case unauthenticated
        case forbidden
        case invalid
        case rateLimited = "rate_limited"
        case forcedRefreshLimited = "forced_refresh_limited"
    }

    public func recordClientRequest(client: String) {
        clientRequestCounter(client: client).increment()
    }

    /// The counter `recordClientRequest` increments, to hold on to (the hit fast path).
    public func clientRequestCounter(client: String) -> Counter {
        Counter(label: Self.clientRequests, dimensions: [("client", client)], factory: factory)
    }

    public func recordClientRefusal(client: String, reason: RefusalReason) {
        Counter(label: Self.clientRefusals, dimensions: [("client", client), ("reason", reason.rawValue)], factory: factory).increment()
    }

    /// A permit was spent on `client`'s behalf after waiting `waited` seconds.
    public func recordBudgetSpent(client: String, waited: Double) {
        Counter(label: Self.clientUpstreamCalls, dimensions: [("client", client)], factory: factory).increment()
        Timer(label: Self.clientBudgetWait, dimensions: [("client", client)], factory: factory).recordNanoseconds(Int64(waited * 1e9))
        if waited > 0 { recordRateLimitWait(seconds: waited) }
    }
}
