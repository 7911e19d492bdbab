public import NIOCore

/// What the read-through layer decided to answer, before it becomes an HTTP response, together
/// with what the request log and metrics need to know about how it was produced.
public struct ProxiedResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: ByteBuffer
    public var cacheStatus: CacheStatus
    /// `hit`, `miss`, `expired`, `pass` (not stored) or `error`: the metrics and log label.
    public var cacheOutcome: String
    /// The Persona `Request-Id` behind the body served, if Persona produced it.
    public var personaRequestId: String?
    public var attempts: [UpstreamAttempt]

    public init(
        status: Int, headers: [(name: String, value: String)], body: ByteBuffer, cacheStatus: CacheStatus,
        cacheOutcome: String, personaRequestId: String?, attempts: [UpstreamAttempt]
    ) {
        self.status = status
        self.headers = headers
        self.body = body
        self.cacheStatus = cacheStatus
        self.cacheOutcome = cacheOutcome
        self.personaRequestId = personaRequestId
        self.attempts = attempts
    }

    /// A refusal in Persona's error shape.
    public static func error(_ error: ProxyError, cacheStatus: CacheStatus, cacheOutcome: String = "error", attempts: [UpstreamAttempt] = []) -> ProxiedResponse {
        ProxiedResponse(
            status: error.status,
            headers: [(name: "Content-Type", value: "application/json; charset=utf-8")] + error.headers,
            body: ByteBuffer(string: error.jsonBody), cacheStatus: cacheStatus, cacheOutcome: cacheOutcome,
            personaRequestId: nil, attempts: attempts)
    }
}
