/// The `rate_limit.*` keys. Read per call, so a reload applies to the next decision.
public struct RateLimitSettings: Sendable, Equatable {
    /// The longest a caller waits for budget before it is answered (stale copy or 429).
    public var maxWaitSeconds: Double = 10
    /// Below this share of `RateLimit-Limit` left, background work waits for the next window
    /// and foreground calls are spread over the time left (Persona advises 15 %).
    public var reserveFraction: Double = 0.15
    /// Upstream calls in flight at most.
    public var maxConcurrency = 16
    /// Exponential backoff (full jitter) after a 429 without `RateLimit-Reset`, and between
    /// retries of failed calls.
    public var backoffBaseSeconds: Double = 1
    public var backoffMaxSeconds: Double = 60
    /// Spread added after a window reset so waiters do not all land at the same instant.
    public var resetJitterSeconds: Double = 0.25

    public init() {}

    public init(
        maxWaitSeconds: Double, reserveFraction: Double, maxConcurrency: Int, backoffBaseSeconds: Double, backoffMaxSeconds: Double,
        resetJitterSeconds: Double = 0.25
    ) {
        self.maxWaitSeconds = maxWaitSeconds
        self.reserveFraction = reserveFraction
        self.maxConcurrency = maxConcurrency
        self.backoffBaseSeconds = backoffBaseSeconds
        self.backoffMaxSeconds = backoffMaxSeconds
        self.resetJitterSeconds = resetJitterSeconds
    }

    /// Full-jitter backoff for the `attempt`-th consecutive failure (1-based): a uniform draw
    /// in [0, min(max, base · 2^(attempt-1))]. `sample` is in [0, 1).
    public func backoff(attempt: Int, sample: Double) -> Double {
        let ceiling = min(backoffMaxSeconds, backoffBaseSeconds * Double(1 << min(max(attempt - 1, 0), 30)))
        return ceiling * sample
    }
}
