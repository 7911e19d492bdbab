import Synchronization

/// A clock the test moves by hand, injected as `SimulatorState`'s `now`, so window and expiry
/// tests step time instead of sleeping.
final class ManualClock: Sendable {
    private let current: Mutex<ContinuousClock.Instant>

    init(start: ContinuousClock.Instant = .now) {
        current = Mutex(start)
    }

    var now: ContinuousClock.Instant {
        current.withLock { $0 }
    }

    func advance(by duration: Duration) {
        current.withLock { $0 = $0.advanced(by: duration) }
    }
}
