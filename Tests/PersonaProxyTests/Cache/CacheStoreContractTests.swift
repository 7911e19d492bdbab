import Foundation
import NIOCore
import PersonaProxy
import Testing

/// One contract every `CacheStore` must keep, one test per requirement of the protocol; the
/// in-memory twin, SQLite and the tiered pair (with a memory tier small enough to evict) all run it.
@Suite struct CacheStoreContractTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        case memory, sqlite, tiered
        var testDescription: String { rawValue }
    }

    static func withStore(_ kind: Kind, _ body: (any CacheStore) async throws -> Void) async throws {
        let directory = TemporaryDirectory()
        let database = CacheSchema.database(path: directory.path + "/cache.sqlite")
        defer { database.close() }
        switch kind {
        case .memory: try await body(MemoryCacheStore())
        case .sqlite:
            try database.open()
            try await body(SQLiteCacheStore(database: database))
        case .tiered:
            try database.open()
            try await body(TieredCacheStore(memory: MemoryCacheStore(capacity: 2), durable: SQLiteCacheStore(database: database)))
        }
    }

    static func entry(
        _ id: String, inflection: String = "", body: String = "{\"a\":1}", status: Int = 200, expiresAt: Double = 1_800_000_300.25
    ) -> CachedEntry {
        CachedEntry(
            key: CacheKey(connectionId: id, personaVersion: "2025-12-08", keyInflection: inflection, fields: ""), status: status,
            body: ByteBuffer(string: body), contentType: "application/json; charset=utf-8", personaRequestId: "req_\(id)",
            environmentId: "env_1", organizationId: "org_1", fetchedAt: Date(timeIntervalSince1970: expiresAt - 300),
            expiresAt: Date(timeIntervalSince1970: expiresAt))
    }

    @Test(arguments: Kind.allCases)
    func storedEntryComesBackUnchanged(kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            let original = Self.entry("cxn_1", body: "{\"data\":{\"id\":\"cxn_1\",\"x\":\"\\u00e9 ü\"}}")
            try await store.store(original)
            #expect(try await store.entry(for: original.key) == original)
            #expect(try await store.entry(for: Self.entry("cxn_2").key) == nil)
        }
    }

    /// The sweep's two needs: every cached id, and a revalidation that only lands on the entry it
    /// judged (a newer fetch stored since wins).
    @Test(arguments: Kind.allCases)
    func revalidationMovesExpiryOnlyForTheEntryJudged(kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            // A time with no exact binary form, judged as the sweep reads it (back from SQLite in the
            // tiered store): the memory tier must still recognise its entry.
            var original = Self.entry("cxn_1")
            // As `Date()` makes them: this one is not the same Date after a trip through SQLite's seconds since 1970.
            original.fetchedAt = Date(timeIntervalSinceReferenceDate: 821_692_800.134_364_2)
            original.expiresAt = original.fetchedAt.addingTimeInterval(300)
            try await store.store(Self.entry("cxn_2"))
            try await store.store(Self.entry("cxn_2", inflection: "camel"))
            // Stored last, so the tiered store's memory tier (2 entries) holds it too.
            try await store.store(original)
            let judged = try #require(try await store.entries(connectionId: "cxn_1").first)
            #expect(try await Set(store.connectionIds()) == ["cxn_1", "cxn_2"])
            let at = judged.expiresAt.addingTimeInterval(-10)
            #expect(try await store.revalidate(judged.key, fetchedAt: judged.fetchedAt, at: at, expiresAt: at.addingTimeInterval(300)))
            let revalidated = try #require(try await store.entry(for: judged.key))
            #expect(revalidated.revalidatedAt == at)
            #expect(revalidated.expiresAt == at.addingTimeInterval(300))
            #expect(revalidated.verifiedAt == at)
            #expect(revalidated.body == judged.body)
            // Refetched in between: the revalidation of the old fetch is refused.
            let refetched = Self.entry("cxn_1", body: "{\"b\":2}", expiresAt: 1_800_000_400.5)
            try await store.store(refetched)
            #expect(try await !store.revalidate(judged.key, fetchedAt: judged.fetchedAt, at: at, expiresAt: at.addingTimeInterval(900)))
            #expect(try await store.entry(for: judged.key) == refetched)
        }
    }

    @Test(arguments: Kind.allCases)
    func variantsAreSeparateEntries(kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            try await store.store(Self.entry("cxn_1", inflection: "camel", body: "camel"))
            try await store.store(Self.entry("cxn_1", inflection: "snake", body: "snake"))
            #expect(try await store.entry(for: Self.entry("cxn_1", inflection: "camel").key)?.body == ByteBuffer(string: "camel"))
            #expect(try await store.entry(for: Self.entry("cxn_1", inflection: "snake").key)?.body == ByteBuffer(string: "snake"))
            #expect(try await store.entry(for: Self.entry("cxn_1").key) == nil)
            #expect(try await store.count() == 2)
        }
    }

    @Test(arguments: Kind.allCases)
    func storingAgainReplaces(kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            try await store.store(Self.entry("cxn_1", body: "old"))
            try await store.store(Self.entry("cxn_1", body: "new", status: 404))
            let entry = try await store.entry(for: Self.entry("cxn_1").key)
            #expect(entry?.body == ByteBuffer(string: "new"))
            #expect(entry?.status == 404)
            #expect(try await store.count() == 1)
        }
    }

    @Test(arguments: Kind.allCases)
    func removeAllDropsEveryVariantOfOneConnectionOnly(kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            try await store.store(Self.entry("cxn_1", inflection: "camel"))
            try await store.store(Self.entry("cxn_1", inflection: "snake"))
            try await store.store(Self.entry("cxn_2"))
            #expect(try await store.removeAll(connectionId: "cxn_1") == 2)
            #expect(try await store.entry(for: Self.entry("cxn_1", inflection: "camel").key) == nil)
            #expect(try await store.entry(for: Self.entry("cxn_2").key) != nil)
            #expect(try await store.removeAll(connectionId: "cxn_1") == 0)
        }
    }

    @Test(arguments: Kind.allCases)
    func entriesListsEveryVariantOfOneConnection(kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            try await store.store(Self.entry("cxn_1", inflection: "camel", body: "camel"))
            try await store.store(Self.entry("cxn_1", inflection: "snake", body: "snake"))
            try await store.store(Self.entry("cxn_2"))
            let variants = try await store.entries(connectionId: "cxn_1")
            #expect(Set(variants.map { String(buffer: $0.body) }) == ["camel", "snake"])
            #expect(try await store.entries(connectionId: "cxn_9").isEmpty)
        }
    }

    @Test(arguments: Kind.allCases)
    func removeEverythingEmptiesTheStore(kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            for id in ["cxn_1", "cxn_2", "cxn_3"] { try await store.store(Self.entry(id)) }
            #expect(try await store.removeEverything() == 3)
            #expect(try await store.count() == 0)
            #expect(try await store.entry(for: Self.entry("cxn_1").key) == nil)
        }
    }

    /// A purge must not be undone by a tier that still holds the old copy, and the next store after
    /// it must be the one that is read back.
    @Test(arguments: Kind.allCases)
    func purgeThenStoreServesOnlyTheNewEntry(kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            try await store.store(Self.entry("cxn_1", body: "before"))
            _ = try await store.entry(for: Self.entry("cxn_1").key)
            try await store.removeAll(connectionId: "cxn_1")
            #expect(try await store.entry(for: Self.entry("cxn_1").key) == nil)
            try await store.store(Self.entry("cxn_1", body: "after"))
            #expect(try await store.entry(for: Self.entry("cxn_1").key)?.body == ByteBuffer(string: "after"))
            #expect(try await store.count() == 1)
        }
    }

    /// More entries than the tiered store's memory tier holds (2): evicted ones still come back.
    @Test(arguments: Kind.allCases)
    func entriesSurviveEvictionFromTheMemoryTier(kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            let ids = (1...5).map { "cxn_\($0)" }
            for id in ids { try await store.store(Self.entry(id, body: id)) }
            for id in ids {
                #expect(try await store.entry(for: Self.entry(id).key)?.body == ByteBuffer(string: id))
            }
            #expect(try await store.count() == 5)
        }
    }

    @Test(arguments: Kind.allCases)
    func pruneExpiredRemovesOnlyEntriesExpiredBeforeTheCutoffInBatches(kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            for index in 0..<3 { try await store.store(Self.entry("cxn_old\(index)", expiresAt: 1_000)) }
            try await store.store(Self.entry("cxn_new", expiresAt: 3_000))
            let cutoff = Date(timeIntervalSince1970: 2_000)
            #expect(try await store.pruneExpired(before: cutoff, limit: 2) == 2)
            #expect(try await store.pruneExpired(before: cutoff, limit: 2) == 1)
            #expect(try await store.pruneExpired(before: cutoff, limit: 2) == 0)
            #expect(try await store.count() == 1)
            #expect(try await store.entry(for: Self.entry("cxn_new").key) != nil)
            #expect(try await store.entry(for: Self.entry("cxn_old0").key) == nil)
        }
    }

    @Test(arguments: Kind.allCases)
    func statisticsCountEntriesFreshNotFoundAndBytes(kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            try await store.store(Self.entry("cxn_1", body: "12345", expiresAt: 2_000))
            try await store.store(Self.entry("cxn_2", body: "123", status: 404, expiresAt: 500))
            let stats = try await store.statistics(now: Date(timeIntervalSince1970: 1_000))
            #expect(stats.entries == 2)
            #expect(stats.fresh == 1)
            #expect(stats.notFound == 1)
            #expect(stats.bodyBytes == 8)
        }
    }
}

@Suite struct SQLiteDatabaseTests {
    @Test func unopenableDatabaseReportsWhyAndNamesTheKey() throws {
        let directory = TemporaryDirectory()
        // A regular file where the cache directory should be: no directory can be created there.
        let blocker = directory.path + "/not-a-directory"
        _ = FileManager.default.createFile(atPath: blocker, contents: Data("x".utf8))
        let database = CacheSchema.database(path: blocker + "/cache.sqlite")
        #expect(throws: (any Error).self) { try database.open() }
        let reason = try #require(database.unavailableReason)
        #expect(reason.contains("cache.path"))
        #expect(throws: StorageError.self) { try database.pool() }
    }

    @Test func committedEntrySurvivesAnUncleanStop() async throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/cache.sqlite"
        let first = CacheSchema.database(path: path)
        try first.open()
        try await SQLiteCacheStore(database: first).store(CacheStoreContractTests.entry("cxn_1"))
        // No close(): the WAL is not checkpointed, as after kill -9. A new process opens the file.
        let second = CacheSchema.database(path: path)
        try second.open()
        defer { second.close(); first.close() }
        #expect(try await SQLiteCacheStore(database: second).entry(for: CacheStoreContractTests.entry("cxn_1").key) != nil)
    }
}
