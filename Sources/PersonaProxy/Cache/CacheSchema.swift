import GRDB

/// The cache file's schema (`cache.path`). The cache is disposable: the file may be deleted at any
/// time and is rebuilt empty. Statements use `IF NOT EXISTS` because files written before the
/// request log moved out (one file for both) already hold these tables under other migration
/// names; the request log's own import removes the tables that moved.
public enum CacheSchema {
    /// - Parameter report: told when a damaged file was moved aside at start.
    public static func database(
        path: String, onWrite: @escaping @Sendable (_ committed: Bool) -> Void = { _ in }, report: @escaping @Sendable (String) -> Void = { _ in }
    ) -> SQLiteDatabase {
        // Disposable: an entry lost with power costs one upstream call, so a miss does not pay an
        // fsync for it (the request-log row, the audit trail, still does).
        SQLiteDatabase(
            path: path, configurationKey: "cache.path", migrator: migrator, onWrite: onWrite, onDamage: .moveAsideAndStartEmpty(report: report),
            survivesPowerLoss: false)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("cache v1: entries") { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS cache_entries (
                    key TEXT PRIMARY KEY NOT NULL,
                    connection_id TEXT NOT NULL,
                    persona_version TEXT NOT NULL,
                    key_inflection TEXT NOT NULL,
                    fields TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    body BLOB NOT NULL,
                    content_type TEXT,
                    persona_request_id TEXT,
                    environment_id TEXT,
                    organization_id TEXT,
                    fetched_at REAL NOT NULL,
                    expires_at REAL NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX IF NOT EXISTS cache_entries_connection ON cache_entries(connection_id);
                CREATE INDEX IF NOT EXISTS cache_entries_expiry ON cache_entries(expires_at);
                """)
            try db.execute(sql: SQLiteDatabase.healthProbeTable)
        }
        migrator.registerMigration("cache v2: upstream identity") { db in
            // Entries from before have no upstream identity and cannot be told apart by
            // environment: the cache is disposable, so they go.
            try db.execute(sql: "DELETE FROM cache_entries")
            try db.execute(sql: "ALTER TABLE cache_entries ADD COLUMN upstream TEXT NOT NULL DEFAULT ''")
        }
        // The sweep confirms entries against Persona's list without fetching them again.
        migrator.registerMigration("cache v3: revalidated at") { db in
            try db.execute(sql: "ALTER TABLE cache_entries ADD COLUMN revalidated_at REAL")
        }
        // The hit fast path reads entries that are not in memory on the event loop. Keyed by a
        // 64-bit hash of the key in a rowid table, such a read is one leaf page: a row of up to
        // ~4 KB stays on its leaf, and the interior pages (an integer per child) stay in the
        // reader's page cache. The TEXT-keyed WITHOUT ROWID table before needed three or four page
        // reads: long keys make a deep tree, and rows over ~1 KB spill onto overflow pages.
        migrator.registerMigration("cache v4: rows by key hash") { db in
            db.add(function: keyHash)
            try db.execute(sql: """
                CREATE TABLE cache_entries_v4 (
                    id INTEGER PRIMARY KEY,
                    key TEXT NOT NULL UNIQUE,
                    connection_id TEXT NOT NULL,
                    persona_version TEXT NOT NULL,
                    key_inflection TEXT NOT NULL,
                    fields TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    body BLOB NOT NULL,
                    content_type TEXT,
                    persona_request_id TEXT,
                    environment_id TEXT,
                    organization_id TEXT,
                    fetched_at REAL NOT NULL,
                    expires_at REAL NOT NULL,
                    upstream TEXT NOT NULL DEFAULT '',
                    revalidated_at REAL
                );
                INSERT OR REPLACE INTO cache_entries_v4 (id, key, connection_id, persona_version, key_inflection, fields, status, body,
                    content_type, persona_request_id, environment_id, organization_id, fetched_at, expires_at, upstream, revalidated_at)
                SELECT persona_proxy_key_hash(key), key, connection_id, persona_version, key_inflection, fields, status, body,
                    content_type, persona_request_id, environment_id, organization_id, fetched_at, expires_at, upstream, revalidated_at
                FROM cache_entries;
                DROP TABLE cache_entries;
                ALTER TABLE cache_entries_v4 RENAME TO cache_entries;
                CREATE INDEX cache_entries_connection ON cache_entries(connection_id);
                CREATE INDEX cache_entries_expiry ON cache_entries(expires_at);
                """)
            db.remove(function: keyHash)
        }
        return migrator
    }

    /// `CacheKey.storageHash` of a stored key, for the migration that numbers existing rows.
    static let keyHash = DatabaseFunction("persona_proxy_key_hash", argumentCount: 1, pure: true) { values in
        guard var key = String.fromDatabaseValue(values[0]) else { return nil }
        return key.withUTF8 { CacheKey.fnv1a($0) }
    }
}
