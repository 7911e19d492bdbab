import Foundation
import NIOCore
import PersonaProxy
import Testing

/// The memory tier in front of SQLite never brings back what a purge removed, whatever a read
/// running alongside the purge found.
@Suite struct TieredCacheStoreTests {
    /// The durable tier, whose deletes wait at a gate: a purge is held after it cleared memory and
    /// before SQLite's delete is in, the moment a concurrent read still finds the row.
    final class HeldDeletes: CacheStore {
        let inner = MemoryCacheStore()
        let gate: Gate

        init(gate: Gate) { self.gate = gate }

        func entry(for key: CacheKey) async throws -> CachedEntry? { inner.entry(for: key) }
        func store(_ entry: CachedEntry) async throws { inner.store(entry) }
        func removeAll(connectionId: String) async throws -> Int {
            await gate.wait()
            return inner.removeAll(connectionId: connectionId)
        }
        func count() async throws -> Int { inner.count() }
        func entries(connectionId: String) async throws -> [CachedEntry] { inner.entries(connectionId: connectionId) }
        func removeEverything() async throws -> Int {
            await gate.wait()
            return inner.removeEverything()
        }
        func pruneExpired(before cutoff: Date, limit: Int) async throws -> Int { inner.pruneExpired(before: cutoff, limit: limit) }
        func statistics(now: Date) async throws -> CacheStatistics { inner.statistics(now: now) }
        func connectionIds() async throws -> [String] { inner.connectionIds() }
        func revalidate(_ key: CacheKey, fetchedAt: Date, at: Date, expiresAt: Date) async throws -> Bool {
            inner.revalidate(key, fetchedAt: fetchedAt, at: at, expiresAt: expiresAt)
        }
    }

    @Test(arguments: [false, true])
    func aReadDuringAPurgeDoesNotPutThePurgedEntryBackInMemory(everything: Bool) async throws {
        let gate = Gate()
        let memory = MemoryCacheStore()
        let durable = HeldDeletes(gate: gate)
        let tiered = TieredCacheStore(memory: memory, durable: durable)
        let entry = MemoryCacheStoreTests.entry("cxn_ABC123")
        // In SQLite only, as an entry evicted from memory is.
        durable.inner.store(entry)

        let purge = Task { everything ? try await tiered.removeEverything() : try await tiered.removeAll(connectionId: "cxn_ABC123") }
        await gate.waitForArrivals(1)
        #expect(try await tiered.entry(for: entry.key) != nil, "the delete is not in yet: the read still finds the row")
        gate.open()
        #expect(try await purge.value == 1)

        #expect(memory.entry(for: entry.key) == nil, "what the read found is not kept past the purge")
        #expect(try await tiered.entry(for: entry.key) == nil, "the next read finds nothing: the purged document is never served")
    }

    @Test func aPromotionIsRefusedAfterAPurgeOrOverANewerCopy() {
        let memory = MemoryCacheStore()
        let old = MemoryCacheStoreTests.entry("cxn_ABC123", bytes: 1)
        var newer = old
        newer.body = ByteBuffer(string: "newer")

        let beforePurge = memory.removalGeneration
        memory.removeAll(connectionId: "cxn_someone_else")
        #expect(!memory.promote(old, ifNoRemovalSince: beforePurge), "a purge of any connection since the read began")
        #expect(memory.entry(for: old.key) == nil)

        let generation = memory.removalGeneration
        memory.store(newer)
        #expect(!memory.promote(old, ifNoRemovalSince: generation), "a store since the read holds the newer document")
        #expect(memory.entry(for: old.key)?.body == newer.body)

        memory.removeEverything()
        #expect(memory.promote(old, ifNoRemovalSince: memory.removalGeneration), "nothing since: kept")
        #expect(memory.entry(for: old.key)?.body == old.body)
    }
}
