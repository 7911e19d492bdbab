/// Turns a stored entry or an upstream answer into what the caller receives.
enum ResponseBuilder {
    /// Headers of Persona's that a cached answer keeps, so a hit looks like the original.
    static let storedHeaderNames = ["Content-Type", "Request-Id", "Persona-Environment-Id", "Persona-Organization-Id"]
    /// Headers of Persona's passed through on a forwarded answer (rate-limit state included,
    /// so callers that watch it keep working).
    static let forwardedHeaderNames = storedHeaderNames + ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]

    static func hit(_ entry: CachedEntry, age: Int, cacheStatus: CacheStatus, outcome: String = "hit") -> ProxiedResponse {
        var headers: [(name: String, value: String)] = []
        headers.reserveCapacity(5)
        if let contentType = entry.contentType { headers.append((name: "Content-Type", value: contentType)) }
        if let id = entry.personaRequestId { headers.append((name: "Request-Id", value: id)) }
        if let id = entry.environmentId { headers.append((name: "Persona-Environment-Id", value: id)) }
        if let id = entry.organizationId { headers.append((name: "Persona-Organization-Id", value: id)) }
        headers.append((name: "Age", value: String(age)))
        return ProxiedResponse(
            status: entry.status, headers: headers, body: entry.body, cacheStatus: cacheStatus, cacheOutcome: outcome,
            personaRequestId: entry.personaRequestId, attempts: [])
    }

    static func forwarded(_ response: UpstreamResponse, cacheStatus: CacheStatus, outcome: String, attempts: [UpstreamAttempt]) -> ProxiedResponse {
        let headers = forwardedHeaderNames.compactMap { name in response.header(name).map { (name: name, value: $0) } }
        return ProxiedResponse(
            status: response.status, headers: headers, body: response.body, cacheStatus: cacheStatus, cacheOutcome: outcome,
            personaRequestId: response.personaRequestId, attempts: attempts)
    }
}
