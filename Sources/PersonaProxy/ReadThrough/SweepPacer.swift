/// Pure: spaces the sweep's calls evenly, `windowSeconds / allowance` apart, so they stay within
/// `fraction` of Persona's limit in any window. Evenly, not in bursts: a burst spends the share at
/// the start of a window and then waits out the rest, so the same page would be reached at different
/// points of successive walks, and a change could wait a whole extra window to be seen. Spaced
/// calls reach page k of every walk at the same offset from its start: a change is seen within one
/// interval plus one page. Times are `MonotonicClock` seconds.
public struct SweepPacer: Sendable, Equatable {
    public var fraction: Double
    public var windowSeconds: Double
    /// When the last call started.
    private(set) var last: Double?

    public init(fraction: Double, windowSeconds: Double = 60) {
        self.fraction = fraction
        self.windowSeconds = windowSeconds
    }

    /// Calls allowed per window for a limit (Persona's `RateLimit-Limit`, 300 when not yet known);
    /// at least one, so a walk always makes progress.
    public func allowance(limit: Int?) -> Int {
        max(1, Int((Double(limit ?? 300) * fraction).rounded(.down)))
    }

    /// Seconds between two calls: 2 s for 30 calls a minute.
    public func spacing(limit: Int?) -> Double {
        windowSeconds / Double(allowance(limit: limit))
    }

    /// Seconds to wait before the next call may start (0: now).
    public func delay(now: Double, limit: Int?) -> Double {
        guard let last else { return 0 }
        return max(0, last + spacing(limit: limit) - now)
    }

    public mutating func called(at now: Double) {
        last = now
    }
}
