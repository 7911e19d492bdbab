/// One request the simulator answered, for tests and benchmarks to inspect.
///
/// Unlike Persona's API log, records keep every header as received, Authorization included:
/// their purpose is to let the proxy's tests check what the proxy actually sent.
public struct SimulatorRequestRecord: Sendable {
    public var method: String
    /// Path without the query, e.g. `/api/v1/connect/connections/cxn_ABC123`.
    public var path: String
    /// The raw (still percent-encoded) query string, if any.
    public var query: String?
    /// Headers in arrival order, names lowercased; `host` comes from the request authority.
    public var headers: [(name: String, value: String)]
    /// The status answered.
    public var status: Int
    /// The `Request-Id` answered; nil for 401s and for paths outside `/api/v1`.
    public var requestId: String?
    /// True when an idempotent POST was answered from the stored first result.
    public var isReplay: Bool

    public init(
        method: String,
        path: String,
        query: String?,
        headers: [(name: String, value: String)],
        status: Int,
        requestId: String?,
        isReplay: Bool = false
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.status = status
        self.requestId = requestId
        self.isReplay = isReplay
    }

    /// First value of a header, name compared case-insensitively.
    public func header(_ name: String) -> String? {
        let lowered = name.lowercased()
        return headers.first { $0.name == lowered }?.value
    }
}

/// Counters behind `GET /_simulator/stats`; exact even after old records are dropped.
public struct SimulatorStatistics: Sendable, Equatable {
    public var requests: Int = 0
    public var byStatus: [Int: Int] = [:]

    public init() {}
}
