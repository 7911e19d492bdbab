/// Who a call is for: a caller waiting now, or work nobody waits on (refreshes).
public enum UpstreamPriority: String, Sendable {
    case foreground
    case background
}

/// What the proxy knows of Persona's fixed-window budget, and the pure decisions made from it.
/// All times are `MonotonicClock` seconds. No I/O, no clock, no randomness of its own: the
/// governor feeds it `now` and random samples, and tests feed it plain values.
public struct RateLimitState: Sendable, Equatable {
    /// `RateLimit-Limit` from the last response that had it.
    public var limit: Int?
    /// Calls the current window still allows, net of calls issued since the last response.
    /// nil when unknown (start-up, a new window not yet answered, a 429 without a reset).
    public var remaining: Int?
    /// When the current window ends, as learned from `RateLimit-Reset`.
    public var windowEndsAt: Double?
    /// Calls this proxy issued in the current window.
    public var issuedInWindow = 0
    /// Calls Persona counted in this window that were not this proxy's (other users of the key),
    /// as far as its answers show.
    public var othersInWindow = 0
    /// After a 429: nothing goes upstream before this.
    public var blockedUntil: Double?
    /// Calls in flight, by the order they were issued in.
    public var inFlightSequences: Set<Int> = []
    public var inFlight: Int { inFlightSequences.count }
    private var nextSequence = 0
    /// Consecutive 429s that came without `RateLimit-Reset` (drives exponential backoff).
    public var backoffStreak = 0
    /// Under the reserve, the earliest moment the next foreground call may go.
    public var nextForegroundAt: Double = 0
    /// Foreground callers currently waiting; background work yields to them.
    public var foregroundWaiting = 0

    public init() {}

    public enum Decision: Sendable, Equatable {
        case proceed
        /// Nothing can change before this moment; wait for it.
        case waitUntil(Double)
        /// Wait for an in-flight call to finish (a slot, or the answer that reveals the budget).
        case waitForCompletion
    }

    public func reserve(_ settings: RateLimitSettings) -> Int {
        guard let limit else { return 0 }
        return Int((Double(limit) * settings.reserveFraction).rounded(.up))
    }

    public func decide(_ priority: UpstreamPriority, now: Double, settings: RateLimitSettings, jitterSample: Double) -> Decision {
        if let blockedUntil, now < blockedUntil {
            return .waitUntil(blockedUntil + settings.resetJitterSeconds * jitterSample)
        }
        if inFlight >= settings.maxConcurrency { return .waitForCompletion }
        if let windowEndsAt, now >= windowEndsAt, limit != nil {
            // The window is over: the next call opens a new one with the full limit.
            return priority == .background && foregroundWaiting > 0 ? .waitForCompletion : .proceed
        }
        guard let remaining, let windowEndsAt else {
            // Budget unknown: one probe at a time until an answer says what is left.
            return inFlight == 0 ? .proceed : .waitForCompletion
        }
        if remaining <= 0 { return .waitUntil(windowEndsAt + settings.resetJitterSeconds * jitterSample) }
        if remaining <= reserve(settings) {
            if priority == .background { return .waitUntil(windowEndsAt + settings.resetJitterSeconds * jitterSample) }
            if now < nextForegroundAt { return .waitUntil(nextForegroundAt) }
            return .proceed
        }
        if priority == .background, foregroundWaiting > 0 { return .waitForCompletion }
        return .proceed
    }

    /// A call is going upstream now; returns its sequence number, to be passed back with its answer.
    @discardableResult
    public mutating func issue(_ priority: UpstreamPriority, now: Double, settings: RateLimitSettings) -> Int {
        if let windowEndsAt, now >= windowEndsAt, let limit {
            // A new window: its end is learned from this call's answer.
            remaining = limit
            issuedInWindow = 0
            othersInWindow = 0
            self.windowEndsAt = nil
            blockedUntil = nil
            nextForegroundAt = 0
        }
        nextSequence += 1
        issuedInWindow += 1
        inFlightSequences.insert(nextSequence)
        let sequence = nextSequence
        guard var left = remaining else { return sequence }
        left = max(0, left - 1)
        remaining = left
        if priority == .foreground, left <= reserve(settings), let windowEndsAt {
            // Spread what is left over the time left, ending before the window does.
            nextForegroundAt = now + max(0, windowEndsAt - now) / Double(left + 1)
        }
        return sequence
    }

    /// An answer arrived for call `sequence` (nil: the oldest in flight). `limit/remainingHeader/reset`
    /// are the `RateLimit-*` values if present.
    public mutating func observe(
        status: Int, limit newLimit: Int?, remaining remainingHeader: Int?, reset: Double?, now: Double, settings: RateLimitSettings,
        jitterSample: Double, sequence: Int? = nil
    ) {
        let finished = sequence ?? inFlightSequences.min() ?? 0
        inFlightSequences.remove(finished)
        // No wait the proxy takes on Persona's word lasts longer than `backoff_max_seconds`.
        let reset = reset.map { min(max(0, $0), settings.backoffMaxSeconds) }
        if let newLimit { limit = newLimit }
        if let remainingHeader, let reset, let limit {
            var end = now + reset
            if let windowEndsAt, remaining != nil, end <= windowEndsAt + 1.5 {
                // The same window. `RateLimit-Reset` is whole seconds rounded up, so each answer
                // bounds the window's end from above: the smallest bound is the sharpest (it
                // finds the second's boundary to within the spacing of answers, instead of waiting
                // up to a second past the reset every window).
                end = min(end, windowEndsAt)
                // The same window. Persona's count covers our calls it has seen plus anyone
                // else's; ours are known exactly, so only the others are inferred from it. (Charging
                // the calls still in flight against the answer double-counts those Persona already
                // saw: concurrent calls arrive in any order.)
                othersInWindow = max(othersInWindow, limit - remainingHeader - issuedInWindow)
            } else {
                // A window we did not see open: assume what Persona counted is ours, and that calls
                // issued after this one and still in flight are not counted yet.
                let issuedLater = inFlightSequences.filter { $0 > finished }.count
                issuedInWindow = limit - remainingHeader + issuedLater
                othersInWindow = 0
            }
            remaining = max(0, limit - issuedInWindow - othersInWindow)
            windowEndsAt = end
        }
        guard status == 429 else {
            backoffStreak = 0
            return
        }
        if let reset {
            backoffStreak = 0
            remaining = 0
            windowEndsAt = now + reset
            blockedUntil = now + reset
        } else {
            backoffStreak += 1
            remaining = nil
            blockedUntil = now + settings.backoff(attempt: backoffStreak, sample: jitterSample)
        }
    }

    /// A call ended without an answer (connection error, timeout): it frees its slot only.
    public mutating func abandon(sequence: Int? = nil) {
        if let finished = sequence ?? inFlightSequences.min() { inFlightSequences.remove(finished) }
    }
}
