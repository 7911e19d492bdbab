import Foundation
import NIOCore
import PersonaProxy
import Testing

/// One contract every `CacheStore` must keep; the in-memory twin and SQLite both run it.
@Suite struct CacheStoreContractTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        case memory, sqlite, tiered
        var testDescription: String { rawValue }
    }

    static func withStore(_ kind: Kind, _ body: (any CacheStore) async throws -> Void) async throws {
        let directory = TemporaryDirectory()
        let database = ProxyDatabase(path: directory.path + "/cache.sqlite")
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

    static func entry(_ id: String, inflection: String = "", body: String = "{\"a\":1}", status: Int = 200) -> CachedEntry {
        CachedEntry(
            key: CacheKey(connectionId: id, personaVersion: "2025-12-08", keyInflection: inflection, fields: ""), status: status,
            body: ByteBuffer(string: body), contentType: "application/json; charset=utf-8", personaRequestId: "req_\(id)",
            environmentId: "env_1", organizationId: "org_1", fetchedAt: Date(timeIntervalSince1970: 1_800_000_000.25),
            expiresAt: Date(timeIntervalSince1970: 1_800_000_300.25))
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
        }
    }
}

@Suite struct MemoryCacheStoreTests {
    @Test func capacityEvictsTheOldestInsertedEntry() {
        let store = MemoryCacheStore(capacity: 2)
        store.store(CacheStoreContractTests.entry("cxn_1"))
        store.store(CacheStoreContractTests.entry("cxn_2"))
        store.store(CacheStoreContractTests.entry("cxn_3"))
        #expect(store.count() == 2)
        #expect(store.entry(for: CacheStoreContractTests.entry("cxn_1").key) == nil)
        #expect(store.entry(for: CacheStoreContractTests.entry("cxn_3").key) != nil)
    }
}

@Suite struct ProxyDatabaseTests {
    @Test func unopenableDatabaseReportsWhyAndNamesTheKey() throws {
        let directory = TemporaryDirectory()
        // A regular file where the cache directory should be: no directory can be created there.
        let blocker = directory.path + "/not-a-directory"
        _ = FileManager.default.createFile(atPath: blocker, contents: Data("x".utf8))
        let database = ProxyDatabase(path: blocker + "/cache.sqlite")
        #expect(throws: (any Error).self) { try database.open() }
        let reason = try #require(database.unavailableReason)
        #expect(reason.contains("cache.path"))
        #expect(throws: ProxyError.self) { try database.pool() }
    }

    @Test func committedEntrySurvivesAnUncleanStop() async throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/cache.sqlite"
        let first = ProxyDatabase(path: path)
        try first.open()
        try await SQLiteCacheStore(database: first).store(CacheStoreContractTests.entry("cxn_1"))
        // No close(): the WAL is not checkpointed, as after kill -9. A new process opens the file.
        let second = ProxyDatabase(path: path)
        try second.open()
        defer { second.close(); first.close() }
        #expect(try await SQLiteCacheStore(database: second).entry(for: CacheStoreContractTests.entry("cxn_1").key) != nil)
    }
}
