/// Which failed upstream calls are tried again. Pure: from the method, the attempt number and
/// how the attempt ended.
public enum RetryPolicy {
    /// Retries of failures other than 429 (connection errors, 502/503/504) after the first try.
    public static let maxFailureRetries = 2
    /// A bound on 429 retries too; the caller's wait deadline usually ends them first.
    public static let maxAttempts = 6

    public enum Outcome: Sendable, Equatable {
        case answered(status: Int)
        case unreachable
        case timedOut
    }

    public enum Decision: Sendable, Equatable {
        case done
        /// Retry; the governor decides when (after a 429 it holds every call until the reset).
        case retryWhenPermitted
        /// Retry after this backoff attempt number (1-based), then ask the governor.
        case retryAfterBackoff(failure: Int)
    }

    /// - Parameters:
    ///   - attempt: 1-based number of the attempt that just ended.
    ///   - failuresSoFar: earlier non-429 failures of this request (not counting this one).
    ///   - hasIdempotencyKey: a POST carrying `Idempotency-Key` is safe to send again:
    ///     Persona replays the stored result instead of acting twice.
    public static func decide(
        method: String, outcome: Outcome, attempt: Int, failuresSoFar: Int, hasIdempotencyKey: Bool
    ) -> Decision {
        guard attempt < maxAttempts else { return .done }
        // Persona rate-limits before its idempotency layer, so a 429 never did anything: always safe.
        if outcome == .answered(status: 429) { return .retryWhenPermitted }
        let retryable: Bool
        switch outcome {
        case .answered(let status): retryable = [502, 503, 504].contains(status)
        // The caller already waited the whole upstream timeout; another would double it.
        case .timedOut: retryable = false
        case .unreachable: retryable = true
        }
        guard retryable, failuresSoFar < maxFailureRetries else { return .done }
        let safe = method == "GET" || (method == "POST" && hasIdempotencyKey)
        return safe ? .retryAfterBackoff(failure: failuresSoFar + 1) : .done
    }
}
