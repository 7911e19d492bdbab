import NIOCore
import NIOPosix
import Synchronization

/// Runs `operation` in a task of its own and returns its result, or nil once `timeout` has
/// passed. On timeout the operation is cancelled, but the caller does not wait for it to notice:
/// a peer that stalls mid-body cannot hold the caller past its deadline, whatever the library
/// under the operation does with cancellation.
func withDeadline<T: Sendable>(
    _ timeout: Duration, operation: @escaping @Sendable () async throws -> T
) async -> Result<T, any Error>? {
    let outcome = OneShot<Result<T, any Error>?>()
    let work = Task {
        do {
            outcome.resolve(.success(try await operation()))
        } catch {
            outcome.resolve(.failure(error))
        }
    }
    // A timer on an event loop, not `Task.sleep`: it costs no task and no dispatch timer thread on
    // every upstream call (this runs on every miss).
    let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: TimeAmount(timeout)) {
        if outcome.resolve(nil) { work.cancel() }
    }
    let result = await withTaskCancellationHandler {
        await outcome.value()
    } onCancel: {
        if outcome.resolve(.failure(CancellationError())) { work.cancel() }
    }
    timer.cancel()
    return result
}

/// A value set once, awaited once.
final class OneShot<Value: Sendable>: Sendable {
    private enum State {
        case pending(CheckedContinuation<Value, Never>?)
        case resolved(Value)
        case delivered
    }

    private let state = Mutex(State.pending(nil))

    /// Sets the value; false if it was set already (the first one wins).
    @discardableResult
    func resolve(_ value: Value) -> Bool {
        let waiter = state.withLock { state -> (continuation: CheckedContinuation<Value, Never>?, won: Bool) in
            guard case .pending(let continuation) = state else { return (nil, false) }
            if let continuation {
                state = .delivered
                return (continuation, true)
            }
            state = .resolved(value)
            return (nil, true)
        }
        waiter.continuation?.resume(returning: value)
        return waiter.won
    }

    func value() async -> Value {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Value? in
                if case .resolved(let value) = state {
                    state = .delivered
                    return value
                }
                state = .pending(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
