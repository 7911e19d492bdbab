public import Foundation
public import NIOCore
import Synchronization

/// An in-memory `CacheStore`. Used alone in tests, and as the hot tier in front of SQLite so that
/// a hit costs a dictionary lookup, not a database read.
///
/// A least-recently-used cache bounded by entries and by body bytes: reading or storing an entry
/// makes it the most recent; past either bound the least recent go. SQLite keeps everything, so
/// the tier only has to keep the working set warm. Entries too old to serve even stale are
/// dropped by `pruneExpired` (the janitor calls it through the tiered store).
public final class MemoryCacheStore: CacheStore {
    /// A doubly linked list threaded through an array: O(1) touch, insert and evict, no
    /// allocation per hit.
    private struct Node {
        var entry: CachedEntry
        /// Bytes a reader made from the entry once and keeps beside it (`entry(for:prepared:)`).
        var prepared: ByteBuffer?
        var previous: Int
        var next: Int
    }

    private struct State {
        var nodes: [Node] = []
        var free: [Int] = []
        var index: [CacheKey: Int] = [:]
        /// Most recent first; -1 when empty.
        var head = -1
        var tail = -1
        var bytes = 0
        /// Purges so far (`removeAll`, `removeEverything`): a read from SQLite that began before
        /// the last one may have read a row the purge was deleting, and must not be kept.
        var removals: UInt64 = 0

        mutating func unlink(_ slot: Int) {
            let node = nodes[slot]
            if node.previous >= 0 { nodes[node.previous].next = node.next } else { head = node.next }
            if node.next >= 0 { nodes[node.next].previous = node.previous } else { tail = node.previous }
        }

        mutating func pushFront(_ slot: Int) {
            nodes[slot].previous = -1
            nodes[slot].next = head
            if head >= 0 { nodes[head].previous = slot }
            head = slot
            if tail < 0 { tail = slot }
        }

        /// The key's slot, made the most recent; nil if the key is not held.
        mutating func touch(_ key: CacheKey) -> Int? {
            guard let slot = index[key] else { return nil }
            if head != slot {
                unlink(slot)
                pushFront(slot)
            }
            return slot
        }

        mutating func remove(_ key: CacheKey) -> Bool {
            guard let slot = index.removeValue(forKey: key) else { return false }
            unlink(slot)
            bytes -= nodes[slot].entry.body.readableBytes + (nodes[slot].prepared?.readableBytes ?? 0)
            // Keep the slot's storage but drop the bytes it references.
            nodes[slot].entry.body = .init()
            nodes[slot].prepared = nil
            free.append(slot)
            return true
        }
    }

    private let state = Mutex(State())
    private let capacity: Int
    private let maxBytes: Int

    /// - Parameters:
    ///   - capacity: entries held at most.
    ///   - maxBytes: bytes held at most, bodies and prepared bytes together (one entry larger than
    ///     this is not held at all).
    public init(capacity: Int = .max, maxBytes: Int = .max) {
        precondition(capacity > 0 && maxBytes > 0, "bounds must be positive")
        self.capacity = capacity
        self.maxBytes = maxBytes
    }

    public func entry(for key: CacheKey) -> CachedEntry? {
        state.withLock { state in state.touch(key).map { state.nodes[$0].entry } }
    }

    /// The entry, and the bytes `prepare` made from it: made on the first read after the entry was
    /// stored, then kept beside it (and counted in its size) until it is replaced or evicted. The
    /// hit fast path keeps the unchanging part of its answer here.
    public func entry(for key: CacheKey, prepared prepare: (CachedEntry) -> ByteBuffer) -> (entry: CachedEntry, prepared: ByteBuffer)? {
        state.withLock { state in
            guard let slot = state.touch(key) else { return nil }
            if let prepared = state.nodes[slot].prepared { return (state.nodes[slot].entry, prepared) }
            let prepared = prepare(state.nodes[slot].entry)
            state.nodes[slot].prepared = prepared
            state.bytes += prepared.readableBytes
            return (state.nodes[slot].entry, prepared)
        }
    }

    public func store(_ entry: CachedEntry) {
        state.withLock { state in insert(entry, into: &state) }
    }

    /// The purges so far; taken before reading SQLite, handed back to `promote`.
    public var removalGeneration: UInt64 { state.withLock { $0.removals } }

    /// Keeps an entry read from SQLite, unless the key is held already (a store since the read
    /// holds the newer document) or a purge happened since `generation` was taken: that read may
    /// have seen the row before the purge's delete committed, and keeping it would serve a purged
    /// document after the purge returned (`TieredCacheStore.removeAll` clears memory again once
    /// SQLite's delete is in, so a read that began earlier cannot slip in between).
    @discardableResult
    public func promote(_ entry: CachedEntry, ifNoRemovalSince generation: UInt64) -> Bool {
        state.withLock { state in
            guard state.removals == generation, state.index[entry.key] == nil else { return false }
            insert(entry, into: &state)
            return true
        }
    }

    private func insert(_ entry: CachedEntry, into state: inout State) {
        let size = entry.body.readableBytes
        _ = state.remove(entry.key)
        guard size <= maxBytes else { return }
        let node = Node(entry: entry, prepared: nil, previous: -1, next: -1)
        let slot: Int
        if let reused = state.free.popLast() {
            state.nodes[reused] = node
            slot = reused
        } else {
            state.nodes.append(node)
            slot = state.nodes.count - 1
        }
        state.index[entry.key] = slot
        state.pushFront(slot)
        state.bytes += size
        while state.index.count > capacity || state.bytes > maxBytes, state.tail >= 0 {
            _ = state.remove(state.nodes[state.tail].entry.key)
        }
    }

    @discardableResult
    public func removeAll(connectionId: String) -> Int {
        state.withLock { state in
            state.removals &+= 1
            let doomed = state.index.keys.filter { $0.connectionId == connectionId }
            for key in doomed { _ = state.remove(key) }
            return doomed.count
        }
    }

    public func entries(connectionId: String) -> [CachedEntry] {
        state.withLock { state in
            state.index.compactMap { key, slot in key.connectionId == connectionId ? state.nodes[slot].entry : nil }
        }
    }

    @discardableResult
    public func removeEverything() -> Int {
        state.withLock { state in
            defer { state = State(removals: state.removals &+ 1) }
            return state.index.count
        }
    }

    public func connectionIds() -> [String] {
        state.withLock { Array(Set($0.index.keys.map(\.connectionId))) }
    }

    public func revalidate(_ key: CacheKey, fetchedAt: Date, at: Date, expiresAt: Date) -> Bool {
        state.withLock { state in
            // Within a millisecond: a time read back from SQLite may differ from the original in its last bit.
            guard let slot = state.index[key], abs(state.nodes[slot].entry.fetchedAt.timeIntervalSince(fetchedAt)) < 0.001 else { return false }
            state.nodes[slot].entry.revalidatedAt = at
            state.nodes[slot].entry.expiresAt = expiresAt
            // Made again on the next read: what was prepared may depend on any field.
            state.bytes -= state.nodes[slot].prepared?.readableBytes ?? 0
            state.nodes[slot].prepared = nil
            return true
        }
    }

    public func count() -> Int {
        state.withLock { $0.index.count }
    }

    /// Bytes held: bodies and prepared bytes.
    public var bytes: Int { state.withLock { $0.bytes } }

    public func pruneExpired(before cutoff: Date, limit: Int) -> Int {
        state.withLock { state in
            var keys: [CacheKey] = []
            for (key, slot) in state.index where state.nodes[slot].entry.expiresAt < cutoff {
                guard keys.count < limit else { break }
                keys.append(key)
            }
            for key in keys { _ = state.remove(key) }
            return keys.count
        }
    }

    public func statistics(now: Date) -> CacheStatistics {
        state.withLock { state in
            let entries = state.index.values.map { state.nodes[$0].entry }
            return CacheStatistics(
                entries: entries.count, fresh: entries.count { $0.expiresAt > now }, notFound: entries.count { $0.status == 404 },
                bodyBytes: entries.reduce(0) { $0 + $1.body.readableBytes }, databaseBytes: 0, revalidated: entries.count { $0.revalidatedAt != nil },
                oldestVerifiedAt: entries.map(\.verifiedAt).min(), newestVerifiedAt: entries.map(\.verifiedAt).max())
        }
    }
}
