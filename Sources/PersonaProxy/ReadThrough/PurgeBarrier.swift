import Synchronization

/// Makes a purge a barrier: once `purge` has returned, no fetch that began before it can store.
///
/// A fetch takes a `Ticket` when it starts and stores only through `storeIfCurrent`, which checks
/// the ticket and writes under the same lock a purge holds while it bumps the epoch and removes
/// the entries. Without the lock a fetch could pass the check, then write after the purge's
/// delete (the tiered store writes SQLite then memory, while a purge clears memory then SQLite).
///
/// Bounded: an epoch is kept only for a connection with a fetch in flight. Purging an id nobody is
/// fetching costs nothing and leaves nothing behind.
public final class PurgeBarrier: Sendable {
    public struct Ticket: Sendable {
        let connectionId: String
        let epoch: Int
        let global: Int
    }

    private struct Slot {
        var fetches = 0
        var epoch = 0
    }

    private let state = Mutex((global: 0, slots: [String: Slot]()))
    /// Striped by connection id: purges and stores of different connections rarely wait for each other.
    private let locks: [AsyncLock]

    public init(stripes: Int = 64) {
        locks = (0..<max(1, stripes)).map { _ in AsyncLock() }
    }

    /// Connections with a fetch in flight (what the barrier holds in memory).
    public var trackedConnections: Int { state.withLock { $0.slots.count } }

    public func begin(_ connectionId: String) -> Ticket {
        state.withLock { state in
            state.slots[connectionId, default: Slot()].fetches += 1
            return Ticket(connectionId: connectionId, epoch: state.slots[connectionId]!.epoch, global: state.global)
        }
    }

    /// Every ticket must be ended, stored or not.
    public func end(_ ticket: Ticket) {
        state.withLock { state in
            guard var slot = state.slots[ticket.connectionId] else { return }
            slot.fetches -= 1
            state.slots[ticket.connectionId] = slot.fetches > 0 ? slot : nil
        }
    }

    /// Runs `store` only if no purge of this connection (or of everything) happened since the
    /// ticket was taken; returns whether it ran.
    public func storeIfCurrent(_ ticket: Ticket, _ store: () async throws -> Void) async rethrows -> Bool {
        let lock = lock(for: ticket.connectionId)
        await lock.lock()
        defer { lock.unlock() }
        guard isCurrent(ticket) else { return false }
        try await store()
        return true
    }

    public func isCurrent(_ ticket: Ticket) -> Bool {
        state.withLock { state in
            state.global == ticket.global && state.slots[ticket.connectionId]?.epoch == ticket.epoch
        }
    }

    /// Invalidates fetches in flight for the connection, then runs `remove`, with no store of that
    /// connection in between.
    public func purge<T>(_ connectionId: String, _ remove: () async throws -> T) async rethrows -> T {
        let lock = lock(for: connectionId)
        await lock.lock()
        defer { lock.unlock() }
        state.withLock { state in state.slots[connectionId]?.epoch += 1 }
        return try await remove()
    }

    /// The same for every connection: takes every stripe, in order.
    public func purgeEverything<T>(_ remove: () async throws -> T) async rethrows -> T {
        for lock in locks { await lock.lock() }
        defer { for lock in locks { lock.unlock() } }
        state.withLock { $0.global += 1 }
        return try await remove()
    }

    private func lock(for connectionId: String) -> AsyncLock {
        var hasher = Hasher()
        hasher.combine(connectionId)
        return locks[Int(UInt(bitPattern: hasher.finalize()) % UInt(locks.count))]
    }
}

/// A lock for async code: `lock()` suspends (never blocks a thread) until the lock is free; waiters
/// are served in order.
final class AsyncLock: Sendable {
    private let state = Mutex((locked: false, waiters: [CheckedContinuation<Void, Never>]()))

    func lock() async {
        // Uncontended (almost always): take it without suspending the task.
        if state.withLock({ state -> Bool in
            guard !state.locked else { return false }
            state.locked = true
            return true
        }) {
            return
        }
        await withCheckedContinuation { continuation in
            let acquired = state.withLock { state -> Bool in
                if !state.locked {
                    state.locked = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if acquired { continuation.resume() }
        }
    }

    func unlock() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.locked = false
                return nil
            }
            // Ownership passes straight to the next waiter: the lock stays locked.
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
