/// The `Cache-Status` response header (RFC 9211), naming this proxy as the cache.
///
/// Examples: `persona-proxy; hit; ttl=212`,
/// `persona-proxy; fwd=miss; fwd-status=200; stored; ttl=300`,
/// `persona-proxy; fwd=miss; detail=upstream-timeout`.
public struct CacheStatus: Sendable, Equatable {
    public var hit = false
    public var forward: ForwardReason?
    public var forwardStatus: Int?
    public var ttl: Int?
    public var stored = false
    public var collapsed = false
    /// A token explaining an unusual outcome (`upstream-timeout`, `upstream-unreachable`).
    public var detail: String?

    public init(
        hit: Bool = false, forward: ForwardReason? = nil, forwardStatus: Int? = nil, ttl: Int? = nil, stored: Bool = false,
        collapsed: Bool = false, detail: String? = nil
    ) {
        self.hit = hit
        self.forward = forward
        self.forwardStatus = forwardStatus
        self.ttl = ttl
        self.stored = stored
        self.collapsed = collapsed
        self.detail = detail
    }

    /// A hit on an entry the sweep confirmed against Persona's list since it was fetched.
    public static let revalidatedBySweep = "revalidated-by-sweep"

    /// What the read path did, in RFC 9211's terms.
    public init(_ result: ReadResult) {
        self.init(forward: result.forward, ttl: result.ttl, collapsed: result.collapsed)
        switch result.outcome {
        case .hit:
            hit = true
            if case .entry(let entry, _) = result.source, entry.revalidatedAt != nil { detail = Self.revalidatedBySweep }
        case .refreshLimited:
            hit = true
            detail = "forced-refresh-limited"
        case .stale(let reason):
            hit = true
            detail = reason.rawValue
        case .forwarded(let stored):
            if case .upstream(let response) = result.source { forwardStatus = response.status }
            self.stored = stored
        case .staleIfError(let failure):
            switch failure {
            case .status(let status):
                forwardStatus = status
                detail = CachePolicy.StaleReason.ifError.rawValue
            case .error(let error):
                detail = "stale-if-error-" + ProxyError.detail(for: error)
            case .invalid:
                detail = "stale-if-error-upstream-invalid-response"
            case .rateLimited:
                detail = "stale-if-error-rate-limit-wait-exceeded"
            }
        case .failed(let error):
            detail = ProxyError.detail(for: error)
        case .invalidAnswer(let invalid):
            forwardStatus = invalid.status
            detail = "upstream-invalid-response"
        case .refused:
            detail = "rate-limit-wait-exceeded"
        case .unsatisfiable:
            detail = "only-if-cached"
        }
    }

    public static let cacheName = "persona-proxy"

    public var headerValue: String {
        var parts = [Self.cacheName]
        if hit { parts.append("hit") }
        if let forward { parts.append("fwd=\(forward.rawValue)") }
        if let forwardStatus { parts.append("fwd-status=\(forwardStatus)") }
        if stored { parts.append("stored") }
        if collapsed { parts.append("collapsed") }
        if let ttl { parts.append("ttl=\(ttl)") }
        if let detail { parts.append("detail=\(detail)") }
        return parts.joined(separator: "; ")
    }
}
