public import Foundation

/// What the proxy remembers of one request: enough to go from a Persona `Request-Id` to the
/// internal caller and back. Never a key, a token or a body.
public struct RequestLogRecord: Sendable, Equatable {
    /// The row id once stored (the pagination cursor); nil before.
    public var id: Int64?
    /// The proxy's own id, unique, returned to the caller as `X-Request-Id`.
    public var requestId: String
    /// The `X-Request-Id` the caller sent, if any: searchable, never trusted as the row's identity.
    public var callerRequestId: String?
    public var receivedAt: Date
    /// `X-Client-Name` if sent, else the peer address.
    public var caller: String
    public var method: String
    public var path: String
    public var connectionId: String?
    /// `hit`, `miss`, `expired`, `error`…: what the cache did.
    public var cacheOutcome: String
    /// The status returned to the caller.
    public var status: Int
    /// The Persona `Request-Id` behind the bytes served (for a hit, that of the fetch that filled the entry).
    public var personaRequestId: String?
    public var durationMs: Double
    public var attempts: [UpstreamAttempt]

    public init(
        requestId: String, receivedAt: Date, caller: String, method: String, path: String, connectionId: String?,
        cacheOutcome: String, status: Int, personaRequestId: String?, durationMs: Double, attempts: [UpstreamAttempt], id: Int64? = nil,
        callerRequestId: String? = nil
    ) {
        self.id = id
        self.callerRequestId = callerRequestId
        self.requestId = requestId
        self.receivedAt = receivedAt
        self.caller = caller
        self.method = method
        self.path = path
        self.connectionId = connectionId
        self.cacheOutcome = cacheOutcome
        self.status = status
        self.personaRequestId = personaRequestId
        self.durationMs = durationMs
        self.attempts = attempts
    }
}

/// One call to Persona made on behalf of a request.
public struct UpstreamAttempt: Sendable, Equatable {
    public var attempt: Int
    public var personaRequestId: String?
    /// nil when no answer came back (see `error`).
    public var status: Int?
    public var error: String?
    public var durationMs: Double
    /// Time spent waiting for rate-limit budget before this attempt.
    public var waitedMs: Double

    public init(attempt: Int, personaRequestId: String?, status: Int?, error: String?, durationMs: Double, waitedMs: Double = 0) {
        self.attempt = attempt
        self.personaRequestId = personaRequestId
        self.status = status
        self.error = error
        self.durationMs = durationMs
        self.waitedMs = waitedMs
    }
}

extension UpstreamAttempt {
    /// The log's row for one call the upstream layer reports.
    public init(_ call: UpstreamCall) {
        self.init(
            attempt: call.attempt, personaRequestId: call.personaRequestId, status: call.status, error: call.error?.summary,
            durationMs: call.duration.milliseconds, waitedMs: call.waitedSeconds * 1000)
    }
}
