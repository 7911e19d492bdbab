import Synchronization

/// A value shared with `@Sendable` callbacks (a `Mutex` itself cannot be captured: it is
/// not copyable).
final class LockedValue<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>

    init(_ value: Value) {
        storage = Mutex(value)
    }

    var value: Value { storage.withLock { $0 } }

    func set(_ value: Value) {
        storage.withLock { $0 = value }
    }
}
