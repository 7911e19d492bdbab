/// One call to Persona made within an exchange: what came back (or why nothing did), and how
/// long it took. The request log keeps one row per call.
public struct UpstreamCall: Sendable, Equatable {
    /// 1 for the first call of an exchange, 2 for its first retry…
    public var attempt: Int
    public var personaRequestId: String?
    /// nil when no answer came back (see `error`).
    public var status: Int?
    public var error: UpstreamError?
    public var duration: Duration
    /// Time spent waiting for rate-limit budget before this call.
    public var waitedSeconds: Double

    public init(attempt: Int, personaRequestId: String?, status: Int?, error: UpstreamError?, duration: Duration, waitedSeconds: Double = 0) {
        self.attempt = attempt
        self.personaRequestId = personaRequestId
        self.status = status
        self.error = error
        self.duration = duration
        self.waitedSeconds = waitedSeconds
    }
}

/// How a governed upstream exchange ended, with every call it took.
public struct UpstreamExchange: Sendable {
    public enum Result: Sendable {
        case answered(UpstreamResponse)
        case failed(UpstreamError)
        /// No budget within the caller's wait deadline.
        case refused(RateLimitRefusal)
    }

    public var result: Result
    public var calls: [UpstreamCall]

    public init(result: Result, calls: [UpstreamCall]) {
        self.result = result
        self.calls = calls
    }
}

/// The seam between the read-through layer and Persona: every call goes through a governor that
/// spends the shared budget. `GovernedUpstream` is the real one; tests use `ScriptedUpstream`.
public protocol UpstreamCalling: Sendable {
    /// - Parameter maxWait: how long this request may wait for budget in total (nil: `rate_limit.max_wait_seconds`).
    func perform(_ request: UpstreamRequest, priority: UpstreamPriority, maxWait: Double?) async -> UpstreamExchange
}

extension UpstreamCalling {
    public func perform(_ request: UpstreamRequest, priority: UpstreamPriority = .foreground) async -> UpstreamExchange {
        await perform(request, priority: priority, maxWait: nil)
    }
}
