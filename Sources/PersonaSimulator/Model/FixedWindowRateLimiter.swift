/// Persona's rate limit: a fixed window that opens with the first request after the previous
/// window ended, allows `limit` requests, then refuses until the window closes.
///
/// A pure value: the caller passes the instant, so tests step time without sleeping.
public struct FixedWindowRateLimiter: Sendable {
    /// What the limiter says about one request, and the numbers for the `RateLimit-*` headers.
    public struct Decision: Sendable, Equatable {
        public var isAllowed: Bool
        public var limit: Int
        /// Requests left in the current window; never negative.
        public var remaining: Int
        /// Whole seconds until the window ends, rounded up, at least 1.
        public var secondsToReset: Int

        public init(isAllowed: Bool, limit: Int, remaining: Int, secondsToReset: Int) {
            self.isAllowed = isAllowed
            self.limit = limit
            self.remaining = remaining
            self.secondsToReset = secondsToReset
        }
    }

    public private(set) var limit: Int
    public private(set) var window: Duration
    private var windowStart: ContinuousClock.Instant?
    private var used = 0

    public init(limit: Int, window: Duration) {
        self.limit = max(0, limit)
        self.window = window
    }

    /// Counts one request at `now` and says whether it may proceed.
    public mutating func decide(at now: ContinuousClock.Instant) -> Decision {
        if !isWindowOpen(at: now) {
            windowStart = now
            used = 0
        }
        let allowed = used < limit
        if allowed { used += 1 }
        return Decision(
            isAllowed: allowed,
            limit: limit,
            remaining: max(0, limit - used),
            secondsToReset: secondsToReset(at: now)
        )
    }

    /// The current numbers without counting a request (what `GET /rate-limits` would show
    /// before it is itself counted). With no open window, the full limit and window remain.
    public func status(at now: ContinuousClock.Instant) -> Decision {
        let open = isWindowOpen(at: now)
        let remaining = open ? max(0, limit - used) : limit
        return Decision(isAllowed: remaining > 0, limit: limit, remaining: remaining, secondsToReset: secondsToReset(at: now))
    }

    /// New settings take effect with a fresh window, so a test or benchmark phase starts clean.
    public mutating func reconfigure(limit: Int, window: Duration) {
        self.limit = max(0, limit)
        self.window = window
        reset()
    }

    public mutating func reset() {
        windowStart = nil
        used = 0
    }

    private func isWindowOpen(at now: ContinuousClock.Instant) -> Bool {
        guard let windowStart else { return false }
        return now < windowStart.advanced(by: window)
    }

    private func secondsToReset(at now: ContinuousClock.Instant) -> Int {
        let left: Duration =
            if let windowStart, isWindowOpen(at: now) { now.duration(to: windowStart.advanced(by: window)) } else { window }
        return max(1, Self.wholeSecondsRoundedUp(left))
    }

    static func wholeSecondsRoundedUp(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return Int(seconds) + (attoseconds > 0 ? 1 : 0)
    }
}
