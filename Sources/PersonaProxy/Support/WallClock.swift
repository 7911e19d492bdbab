public import Foundation
import Synchronization

/// Wall-clock time, injected everywhere a decision depends on it.
///
/// Cache expiry is stored in SQLite and must survive a restart, so it is wall time (`Date`),
/// not a monotonic instant. Tests advance a `ManualWallClock` instead of sleeping.
public protocol WallClock: Sendable {
    func now() -> Date
}

/// The real clock.
public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// A clock that only moves when told to: the twin of `SystemWallClock` for tests and demos.
public final class ManualWallClock: WallClock {
    private let current: Mutex<Date>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        self.current = Mutex(start)
    }

    public func now() -> Date { current.withLock { $0 } }

    public func advance(by seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}
