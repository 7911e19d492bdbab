import Synchronization
import Testing

/// Holds tasks at `wait()` until `open()`; counts how many are waiting. Lets a test keep an
/// upstream call in flight for exactly as long as it needs, without sleeping.
final class Gate: Sendable {
    private struct State {
        var isOpen = false
        var waiting: [CheckedContinuation<Void, Never>] = []
        var arrivals = 0
    }

    private let state = Mutex(State())

    func wait() async {
        await withCheckedContinuation { continuation in
            let resume = state.withLock { state -> Bool in
                state.arrivals += 1
                if state.isOpen { return true }
                state.waiting.append(continuation)
                return false
            }
            if resume { continuation.resume() }
        }
    }

    func open() {
        let waiting = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.isOpen = true
            defer { state.waiting = [] }
            return state.waiting
        }
        for continuation in waiting { continuation.resume() }
    }

    var arrivals: Int { state.withLock { $0.arrivals } }

    /// Yields until `count` tasks have reached `wait()`; records an issue instead of spinning
    /// forever when they never do.
    func waitForArrivals(_ count: Int, maxYields: Int = 2_000_000, sourceLocation: SourceLocation = #_sourceLocation) async {
        var yields = 0
        while arrivals < count {
            guard yields < maxYields else {
                Issue.record("only \(arrivals) of \(count) tasks reached the gate", sourceLocation: sourceLocation)
                open()
                return
            }
            await Task.yield()
            yields += 1
        }
    }
}
