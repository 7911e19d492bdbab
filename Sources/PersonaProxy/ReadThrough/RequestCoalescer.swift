import Synchronization

/// One fetch per key at a time. The first caller starts it; every caller for the same key while
/// it runs awaits the same task and is resumed the moment it finishes (no polling). The fetch
/// runs in its own task, so a caller that goes away (a client disconnect cancels its handler)
/// does not cancel it for the others.
public final class RequestCoalescer<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Flight {
        let id: Int
        let task: Task<Value, Never>
    }

    private struct State {
        var flights: [Key: Flight] = [:]
        var nextId = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Joins the fetch for `key`, starting it with `operation` if none runs.
    /// - Returns: the value, and whether this caller joined another's fetch (`collapsed`).
    public func run(_ key: Key, operation: @escaping @Sendable () async -> Value) async -> (value: Value, collapsed: Bool) {
        let (task, collapsed) = flight(for: key, operation: operation)
        return (await task.value, collapsed)
    }

    /// Starts the fetch for `key` unless one runs, without waiting for it (background refresh).
    /// - Returns: false when a fetch was already running.
    @discardableResult
    public func start(_ key: Key, operation: @escaping @Sendable () async -> Value) -> Bool {
        !flight(for: key, operation: operation).collapsed
    }

    /// Forgets every fetch whose key matches.
    public func forgetAll(where matches: (Key) -> Bool) {
        state.withLock { state in
            for key in state.flights.keys where matches(key) { state.flights[key] = nil }
        }
    }

    /// Cancels every fetch running now (shutdown, once the grace period is over).
    public func cancelAll() {
        let tasks = state.withLock { $0.flights.values.map(\.task) }
        for task in tasks { task.cancel() }
    }

    /// Waits for every fetch running now (shutdown: let them store what they fetched).
    public func drain() async {
        let tasks = state.withLock { $0.flights.values.map(\.task) }
        for task in tasks { _ = await task.value }
    }

    private func flight(for key: Key, operation: @escaping @Sendable () async -> Value) -> (Task<Value, Never>, collapsed: Bool) {
        state.withLock { state in
            if let existing = state.flights[key] { return (existing.task, true) }
            state.nextId += 1
            let id = state.nextId
            // Created under the lock, so the removal below cannot run before the insertion.
            let task = Task<Value, Never> {
                let value = await operation()
                self.finish(key, id: id)
                return value
            }
            state.flights[key] = Flight(id: id, task: task)
            return (task, false)
        }
    }

    private func finish(_ key: Key, id: Int) {
        state.withLock { state in
            if state.flights[key]?.id == id { state.flights[key] = nil }
        }
    }
}
