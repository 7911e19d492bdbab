import Foundation
import Logging
import NIOCore
import PersonaProxy
import Testing

@Suite struct CacheJanitorTests {
    @Test func prunesOnlyEntriesTooOldToServeEvenStaleInBatches() async throws {
        let directory = TemporaryDirectory()
        let database = CacheSchema.database(path: directory.path + "/c.sqlite")
        try database.open()
        defer { database.close() }
        let store = SQLiteCacheStore(database: database)
        let clock = ManualWallClock(Date(timeIntervalSince1970: 1_000_000))
        func entry(_ id: String, expiresAt: Double) -> CachedEntry {
            CachedEntry(
                key: CacheKey(connectionId: id, personaVersion: "", keyInflection: "", fields: ""), status: 200, body: ByteBuffer(string: "{}"),
                contentType: nil, personaRequestId: nil, environmentId: nil, organizationId: nil,
                fetchedAt: Date(timeIntervalSince1970: expiresAt - 300), expiresAt: Date(timeIntervalSince1970: expiresAt))
        }
        // Retention after expiry: max(60, 3600) = 3600 s.
        for index in 0..<5 { try await store.store(entry("cxn_old\(index)", expiresAt: 1_000_000 - 3601)) }
        try await store.store(entry("cxn_staleButUsable", expiresAt: 1_000_000 - 3599))
        try await store.store(entry("cxn_fresh", expiresAt: 1_000_100))
        let janitor = CacheJanitor(
            store: store, clock: clock,
            retentionAfterExpiry: { CachePolicy(ttlSeconds: 300, notFoundTTLSeconds: 30, staleWhileRevalidateSeconds: 60, staleIfErrorSeconds: 3600).retentionAfterExpiry },
            batchSize: 2, logger: Logger(label: "test"))
        #expect(try await janitor.pruneOnce() == 5)
        #expect(try await store.count() == 2)
        #expect(try await store.entry(for: entry("cxn_staleButUsable", expiresAt: 0).key) != nil)
    }
}
