import Foundation
import GRDB
import NIOCore
import PersonaProxy
import Testing

/// Files written before the cache was keyed by hash (schema v3) keep their entries: after the
/// upgrade each is found by the slow path's store and by the fast path's reader alike.
@Suite struct CacheSchemaUpgradeTests {
    @Test func aVersion3FileKeepsItsEntriesAndBothReadersFindThem() async throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/cache.sqlite"
        let entries = (1...3).map { CacheStoreContractTests.entry("cxn_Old\($0)") }
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(sql: """
                CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                INSERT INTO grdb_migrations VALUES ('cache v1: entries'), ('cache v2: upstream identity'), ('cache v3: revalidated at');
                CREATE TABLE cache_entries (
                    key TEXT PRIMARY KEY NOT NULL, connection_id TEXT NOT NULL, persona_version TEXT NOT NULL,
                    key_inflection TEXT NOT NULL, fields TEXT NOT NULL, status INTEGER NOT NULL, body BLOB NOT NULL,
                    content_type TEXT, persona_request_id TEXT, environment_id TEXT, organization_id TEXT,
                    fetched_at REAL NOT NULL, expires_at REAL NOT NULL, upstream TEXT NOT NULL DEFAULT '', revalidated_at REAL) WITHOUT ROWID;
                CREATE INDEX cache_entries_connection ON cache_entries(connection_id);
                CREATE INDEX cache_entries_expiry ON cache_entries(expires_at);
                CREATE TABLE health_probe (id INTEGER PRIMARY KEY CHECK (id = 1), probed_at REAL NOT NULL);
                """)
            for entry in entries {
                try db.execute(
                    sql: "INSERT INTO cache_entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                    arguments: [
                        entry.key.storageKey, entry.key.connectionId, entry.key.personaVersion, entry.key.keyInflection, entry.key.fields,
                        entry.status, Data(entry.body.readableBytesView), entry.contentType, entry.personaRequestId, entry.environmentId,
                        entry.organizationId, entry.fetchedAt.timeIntervalSince1970, entry.expiresAt.timeIntervalSince1970, entry.key.upstream,
                    ])
            }
        }
        try queue.close()

        let database = CacheSchema.database(path: path)
        try database.open()
        defer { database.close() }
        let store = SQLiteCacheStore(database: database)
        let reader = SQLiteEntryReader(path: path)
        for entry in entries {
            #expect(try await store.entry(for: entry.key) == entry)
            #expect(reader.entry(for: entry.key) == entry)
        }
        #expect(try await store.count() == 3)
        // Stored again after the upgrade: replaced in place, not added beside.
        try await store.store(entries[0])
        #expect(try await store.count() == 3)
        let ids = try await database.pool().read { db in try Int64.fetchSet(db, sql: "SELECT id FROM cache_entries") }
        #expect(ids == Set(entries.map(\.key.storageHash)))
    }

    /// The hash is part of the file format: it must not change between builds or processes.
    @Test func theKeyHashIsFNV1aOfTheStorageKey() {
        let key = CacheKey(connectionId: "cxn_ABC123", personaVersion: "2025-12-08", keyInflection: "", fields: "", upstream: "u1")
        #expect(key.storageKey == "cxn_ABC123|u=u1;v=2025-12-08;i=;f=")
        // Computed independently (Benchmarks/peers.py `key_hash`, which fills benchmark files).
        #expect(key.storageHash == 6_449_426_555_234_702_584)
        #expect(CacheKey(connectionId: "a", personaVersion: "", keyInflection: "", fields: "").storageHash != key.storageHash)
    }
}
