public import Foundation

/// Where cached upstream answers live. `SQLiteCacheStore` is the durable one,
/// `MemoryCacheStore` its in-memory twin (and the hot tier in front of SQLite); both, and the
/// tiered pair, pass `CacheStoreContractTests`.
///
/// Errors are storage errors (`StorageError`); the layers above decide what a caller hears.
public protocol CacheStore: Sendable {
    func entry(for key: CacheKey) async throws -> CachedEntry?
    /// Inserts or replaces the entry for `entry.key`.
    func store(_ entry: CachedEntry) async throws
    /// Removes every variant of one connection; returns how many were removed.
    @discardableResult
    func removeAll(connectionId: String) async throws -> Int
    /// How many entries are held, fresh or not.
    func count() async throws -> Int
    /// Every variant held for one connection.
    func entries(connectionId: String) async throws -> [CachedEntry]
    /// Empties the cache; returns how many entries went.
    @discardableResult
    func removeEverything() async throws -> Int
    /// Deletes up to `limit` entries that expired before `cutoff`; returns how many went.
    func pruneExpired(before cutoff: Date, limit: Int) async throws -> Int
    func statistics(now: Date) async throws -> CacheStatistics
    /// Every connection id with at least one entry (list pages are held under the empty id).
    func connectionIds() async throws -> [String]
    /// Marks the entry confirmed unchanged at `at` and fresh until `expiresAt`, only if it is still
    /// the one fetched at `fetchedAt` (a newer fetch or a purge wins); returns whether it was.
    func revalidate(_ key: CacheKey, fetchedAt: Date, at: Date, expiresAt: Date) async throws -> Bool
}
