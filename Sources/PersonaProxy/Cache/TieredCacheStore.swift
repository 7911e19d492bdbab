public import Foundation

/// SQLite behind a bounded memory tier: a hit on a warm entry never touches the database, a
/// write goes to SQLite first (durability) and then to memory, and an entry read from SQLite
/// after a restart is promoted so the next hit is a memory hit.
public struct TieredCacheStore: CacheStore {
    let memory: MemoryCacheStore
    let durable: any CacheStore

    public init(memory: MemoryCacheStore, durable: any CacheStore) {
        self.memory = memory
        self.durable = durable
    }

    public func entry(for key: CacheKey) async throws -> CachedEntry? {
        if let entry = memory.entry(for: key) { return entry }
        // Taken before SQLite is read: see `MemoryCacheStore.promote`.
        let generation = memory.removalGeneration
        guard let entry = try await durable.entry(for: key) else { return nil }
        memory.promote(entry, ifNoRemovalSince: generation)
        return entry
    }

    public func store(_ entry: CachedEntry) async throws {
        try await durable.store(entry)
        memory.store(entry)
    }

    /// Memory, then SQLite, then memory again: a read that found the row in SQLite before the
    /// delete committed may have put it back in memory meanwhile (see `MemoryCacheStore.promote`).
    @discardableResult
    public func removeAll(connectionId: String) async throws -> Int {
        memory.removeAll(connectionId: connectionId)
        defer { memory.removeAll(connectionId: connectionId) }
        return try await durable.removeAll(connectionId: connectionId)
    }

    public func entries(connectionId: String) async throws -> [CachedEntry] {
        try await durable.entries(connectionId: connectionId)
    }

    @discardableResult
    public func removeEverything() async throws -> Int {
        memory.removeEverything()
        defer { memory.removeEverything() }
        return try await durable.removeEverything()
    }

    public func count() async throws -> Int {
        try await durable.count()
    }

    public func pruneExpired(before cutoff: Date, limit: Int) async throws -> Int {
        _ = memory.pruneExpired(before: cutoff, limit: .max)
        return try await durable.pruneExpired(before: cutoff, limit: limit)
    }

    public func connectionIds() async throws -> [String] {
        try await durable.connectionIds()
    }

    public func revalidate(_ key: CacheKey, fetchedAt: Date, at: Date, expiresAt: Date) async throws -> Bool {
        let done = try await durable.revalidate(key, fetchedAt: fetchedAt, at: at, expiresAt: expiresAt)
        // The memory copy follows; one evicted or never promoted is read from SQLite next time.
        _ = memory.revalidate(key, fetchedAt: fetchedAt, at: at, expiresAt: expiresAt)
        return done
    }

    public func statistics(now: Date) async throws -> CacheStatistics {
        try await durable.statistics(now: now)
    }
}
