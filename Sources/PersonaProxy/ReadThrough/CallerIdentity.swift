/// Who asked, as far as the proxy can tell, and the request id it gave the call. Persona's API
/// log keeps the `User-Agent`, so naming the caller there makes Persona's own dashboard show
/// which internal service caused each call.
public struct CallerIdentity: Sendable, Equatable {
    /// `X-Client-Name` if sent (sanitised), else the peer address, else `unknown`.
    public var name: String
    public var requestId: String
    /// The authenticated client (clients configured), which namespaces its idempotency keys.
    public var client: String?
    /// Whose share of the budget its calls spend.
    public var share: BudgetShare
    /// Forced refreshes (`no-cache` and the like on a fresh entry) allowed a minute; nil: no limit
    /// (loopback callers when no clients are configured).
    public var forcedRefreshesPerMinute: Int?

    public init(
        name: String, requestId: String, client: String? = nil, share: BudgetShare = .local, forcedRefreshesPerMinute: Int? = nil
    ) {
        self.name = name
        self.requestId = requestId
        self.client = client
        self.share = share
        self.forcedRefreshesPerMinute = forcedRefreshesPerMinute
    }

    public init(clientName: String?, peerAddress: String?, requestId: String) {
        let sanitised = clientName.map(Self.sanitise).flatMap { $0.isEmpty ? nil : $0 }
        self.init(name: sanitised ?? peerAddress ?? "unknown", requestId: requestId)
    }

    public var userAgent: String {
        "persona-proxy/\(PersonaProxyVersion.string) (caller=\(name); request-id=\(requestId))"
    }

    /// Keeps a caller-supplied name to a short token that cannot break the `User-Agent` comment
    /// or a log line.
    static func sanitise(_ name: String) -> String {
        String(name.unicodeScalars.filter { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "-_.:/@".unicodeScalars.contains(scalar))
        }.prefix(64).map(Character.init))
    }
}
