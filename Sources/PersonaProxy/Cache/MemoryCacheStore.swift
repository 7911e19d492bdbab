public import Foundation
import Synchronization

/// An in-memory `CacheStore`. Used alone in tests, and as the hot tier in front of SQLite so that
/// a hit costs a dictionary lookup, not a database read.
///
/// When `capacity` is reached the oldest-inserted entry is dropped: the tier only has to keep
/// the working set warm, SQLite keeps everything.
public final class MemoryCacheStore: CacheStore {
    private struct State {
        var entries: [CacheKey: CachedEntry] = [:]
        var insertionOrder: [CacheKey] = []
        var head = 0
    }

    private let state = Mutex(State())
    private let capacity: Int

    public init(capacity: Int = .max) {
        precondition(capacity > 0, "capacity must be positive")
        self.capacity = capacity
    }

    public func entry(for key: CacheKey) -> CachedEntry? {
        state.withLock { $0.entries[key] }
    }

    public func store(_ entry: CachedEntry) {
        state.withLock { state in
            if state.entries.updateValue(entry, forKey: entry.key) == nil {
                state.insertionOrder.append(entry.key)
            }
            while state.entries.count > capacity, state.head < state.insertionOrder.count {
                state.entries[state.insertionOrder[state.head]] = nil
                state.head += 1
            }
            // Compact the order list once the consumed prefix dominates it.
            if state.head > 1024, state.head * 2 > state.insertionOrder.count {
                state.insertionOrder.removeFirst(state.head)
                state.head = 0
            }
        }
    }

    @discardableResult
    public func removeAll(connectionId: String) -> Int {
        state.withLock { state in
            let doomed = state.entries.keys.filter { $0.connectionId == connectionId }
            for key in doomed { state.entries[key] = nil }
            return doomed.count
        }
    }

    public func entries(connectionId: String) -> [CachedEntry] {
        state.withLock { $0.entries.values.filter { $0.key.connectionId == connectionId } }
    }

    @discardableResult
    public func removeEverything() -> Int {
        state.withLock { state in
            defer { state = State() }
            return state.entries.count
        }
    }

    public func count() -> Int {
        state.withLock { $0.entries.count }
    }

    public func pruneExpired(before cutoff: Date, limit: Int) -> Int {
        state.withLock { state in
            let doomed = state.entries.values.lazy.filter { $0.expiresAt < cutoff }.prefix(limit).map(\.key)
            for key in doomed { state.entries[key] = nil }
            return doomed.count
        }
    }

    public func statistics(now: Date) -> CacheStatistics {
        state.withLock { state in
            let values = state.entries.values
            return CacheStatistics(
                entries: values.count, fresh: values.count { $0.expiresAt > now }, notFound: values.count { $0.status == 404 },
                bodyBytes: values.reduce(0) { $0 + $1.body.readableBytes }, databaseBytes: 0)
        }
    }
}
