/// The `Cache-Status` response header (RFC 9211), naming this proxy as the cache.
///
/// Examples: `persona-proxy; hit; ttl=212`,
/// `persona-proxy; fwd=miss; fwd-status=200; stored; ttl=300`,
/// `persona-proxy; fwd=miss; detail=upstream-timeout`.
public struct CacheStatus: Sendable, Equatable {
    public enum Forward: String, Sendable {
        /// Nothing was stored.
        case miss
        /// A stored entry was too old to use.
        case stale
        /// The caller's request (its directives) required going upstream.
        case request
    }

    public var hit = false
    public var forward: Forward?
    public var forwardStatus: Int?
    public var ttl: Int?
    public var stored = false
    public var collapsed = false
    /// A token explaining an unusual outcome (`upstream-timeout`, `upstream-unreachable`).
    public var detail: String?

    public init(
        hit: Bool = false, forward: Forward? = nil, forwardStatus: Int? = nil, ttl: Int? = nil, stored: Bool = false,
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
