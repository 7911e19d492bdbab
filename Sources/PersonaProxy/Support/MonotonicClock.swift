/// Monotonic time for waiting: rate-limit windows, backoff, pacing. Seconds since an arbitrary
/// origin, so decisions are plain arithmetic. `ManualMonotonicClock` is the twin that tests
/// advance by hand; nothing in a test sleeps for real.
public protocol MonotonicClock: Sendable {
    func now() -> Double
    /// Suspends until `now() >= deadline`; throws `CancellationError` when the task is cancelled.
    func sleep(until deadline: Double) async throws
}

/// `ContinuousClock` (keeps counting while the machine sleeps, as Persona's windows do).
public struct SystemMonotonicClock: MonotonicClock {
    private let origin = ContinuousClock.now

    public init() {}

    public func now() -> Double {
        (ContinuousClock.now - origin).seconds
    }

    public func sleep(until deadline: Double) async throws {
        let delay = deadline - now()
        guard delay > 0 else { return }
        try await Task.sleep(for: .nanoseconds(Int64(delay * 1e9)))
    }
}
