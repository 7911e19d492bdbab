import Synchronization

/// A `MonotonicClock` that moves only when `advance` is called; sleepers wake as it passes
/// their deadline. Tests wait for `sleepers` to reach a count before advancing.
public final class ManualMonotonicClock: MonotonicClock {
    private struct Sleeper {
        let deadline: Double
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Double = 0
        var nextId = 0
        var sleepers: [Int: Sleeper] = [:]
    }

    private let state = Mutex(State())

    public init(now: Double = 0) {
        state.withLock { $0.now = now }
    }

    public func now() -> Double { state.withLock { $0.now } }

    /// How many tasks are currently sleeping on this clock.
    public var sleepers: Int { state.withLock { $0.sleepers.count } }

    /// The earliest deadline anyone sleeps until, if any.
    public var nextWake: Double? { state.withLock { $0.sleepers.values.map(\.deadline).min() } }

    public func sleep(until deadline: Double) async throws {
        let id = state.withLock { state -> Int in
            state.nextId += 1
            return state.nextId
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { state -> Bool in
                    if Task.isCancelled || deadline <= state.now { return true }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.continuation.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }

    public func advance(by seconds: Double) {
        let due = state.withLock { state -> [Sleeper] in
            state.now += seconds
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { state.sleepers[id] = nil }
            return due.sorted { $0.key < $1.key }.map(\.value)
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Waits (yielding, not sleeping) until at least `count` tasks sleep on this clock.
    public func waitForSleepers(_ count: Int, maxYields: Int = 1_000_000) async {
        var yields = 0
        while sleepers < count, yields < maxYields {
            await Task.yield()
            yields += 1
        }
    }
}
