/// Pure: keeps the sweep's calls within `fraction` of Persona's limit in any window (a sliding
/// window, so also in each of Persona's fixed ones). Times are `MonotonicClock` seconds.
public struct SweepPacer: Sendable, Equatable {
    public var fraction: Double
    public var windowSeconds: Double
    /// Start times of the calls in the last window, oldest first.
    private(set) var recent: [Double] = []

    public init(fraction: Double, windowSeconds: Double = 60) {
        self.fraction = fraction
        self.windowSeconds = windowSeconds
    }

    /// Calls allowed per window for a limit (Persona's `RateLimit-Limit`, 300 when not yet known);
    /// at least one, so a walk always makes progress.
    public func allowance(limit: Int?) -> Int {
        max(1, Int((Double(limit ?? 300) * fraction).rounded(.down)))
    }

    /// Seconds to wait before the next call may start (0: now).
    public func delay(now: Double, limit: Int?) -> Double {
        let live = recent.filter { $0 > now - windowSeconds }
        guard live.count >= allowance(limit: limit) else { return 0 }
        return live[live.count - allowance(limit: limit)] + windowSeconds - now
    }

    public mutating func called(at now: Double) {
        recent.removeAll { $0 <= now - windowSeconds }
        recent.append(now)
    }
}
