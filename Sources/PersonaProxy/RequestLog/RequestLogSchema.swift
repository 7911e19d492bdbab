import Foundation
import GRDB

/// The audit database (`request_log.path`): the request log, one row per upstream attempt, and
/// the copies of Persona's API-log entries. It lives apart from the cache so that deleting or
/// rebuilding the cache never touches the audit trail, and each can be sized and backed up alone.
public enum RequestLogSchema {
    /// - Parameter legacyCachePath: `cache.path`. Versions before the split kept the request log in
    ///   the cache file; its rows are moved here when this database opens (see `importLegacyRows`).
    public static func database(
        path: String, legacyCachePath: String?, onWrite: @escaping @Sendable (_ committed: Bool) -> Void = { _ in }
    ) -> SQLiteDatabase {
        SQLiteDatabase(
            path: path, configurationKey: "request_log.path", migrator: migrator,
            afterMigration: { pool in
                if let legacyCachePath, legacyCachePath != path { try importLegacyRows(from: legacyCachePath, into: pool) }
            }, onWrite: onWrite, pageSize: Self.pageSize)
    }

    /// 16 KiB pages for a new request log: a hit batch is ~400 KB of JSON, and SQLite writes each
    /// page to the WAL with two system calls and copies it again at the checkpoint; with 4 KiB
    /// pages those calls were most of the hit writer's commit. Each Persona call's commit writes
    /// its few pages four times larger, at Persona's rate (5 a second by default).
    static let pageSize = 16_384

    /// `IF NOT EXISTS` throughout: a single-file database of an earlier version (`--db old.sqlite`)
    /// already has these tables, under other migration names, and is read as it is.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("request log v1") { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS request_log (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    request_id TEXT NOT NULL,
                    received_at REAL NOT NULL,
                    caller TEXT NOT NULL,
                    method TEXT NOT NULL,
                    path TEXT NOT NULL,
                    connection_id TEXT,
                    cache_outcome TEXT NOT NULL,
                    status INTEGER NOT NULL,
                    persona_request_id TEXT,
                    duration_ms REAL NOT NULL
                );
                CREATE INDEX IF NOT EXISTS request_log_request_id ON request_log(request_id);
                CREATE INDEX IF NOT EXISTS request_log_received_at ON request_log(received_at);
                CREATE INDEX IF NOT EXISTS request_log_connection ON request_log(connection_id);

                CREATE TABLE IF NOT EXISTS upstream_attempts (
                    request_log_id INTEGER NOT NULL REFERENCES request_log(id) ON DELETE CASCADE,
                    attempt INTEGER NOT NULL,
                    persona_request_id TEXT,
                    status INTEGER,
                    error TEXT,
                    duration_ms REAL NOT NULL,
                    waited_ms REAL NOT NULL DEFAULT 0,
                    PRIMARY KEY (request_log_id, attempt)
                ) WITHOUT ROWID;
                CREATE INDEX IF NOT EXISTS upstream_attempts_persona_request_id ON upstream_attempts(persona_request_id);

                -- Persona's API-log entries only change when redacted: a copy saves budget on repeat lookups.
                CREATE TABLE IF NOT EXISTS persona_api_logs (
                    persona_request_id TEXT PRIMARY KEY NOT NULL,
                    body BLOB NOT NULL,
                    fetched_at REAL NOT NULL
                ) WITHOUT ROWID;
                """)
            try db.execute(sql: SQLiteDatabase.healthProbeTable)
        }
        migrator.registerMigration("request log v2: an index for every filter") { db in
            // Each index also holds the rowid (id), so `WHERE x = ? ORDER BY id DESC LIMIT n` reads
            // n entries of one index instead of scanning up to request_log.max_rows rows.
            try db.execute(sql: """
                CREATE INDEX IF NOT EXISTS request_log_caller ON request_log(caller);
                CREATE INDEX IF NOT EXISTS request_log_status ON request_log(status);
                CREATE INDEX IF NOT EXISTS request_log_persona_request_id ON request_log(persona_request_id);
                """)
        }
        // The proxy issues every request id itself; what a caller sent is kept beside it.
        migrator.registerMigration("request log v3: the caller's request id") { db in
            try db.execute(sql: "ALTER TABLE request_log ADD COLUMN caller_request_id TEXT")
            try db.execute(sql: "CREATE INDEX request_log_caller_request_id ON request_log(caller_request_id)")
        }
        // Most rows (every hit from a caller that sends no X-Request-Id) have none: a partial index
        // skips them, one B-tree insert less per row. `caller_request_id = ?` still uses it.
        migrator.registerMigration("request log v4: partial caller request id index") { db in
            try db.execute(sql: """
                DROP INDEX IF EXISTS request_log_caller_request_id;
                CREATE INDEX request_log_caller_request_id ON request_log(caller_request_id) WHERE caller_request_id IS NOT NULL;
                """)
        }
        // A hit row used to cost eight B-tree inserts; at tens of thousands of hits a second that
        // writer took a third of the CPU. Rows that made no upstream call are now `grouped`: the
        // per-column indexes skip them, and each commit adds one `request_log_groups` row per
        // distinct connection, caller, status and Persona request id, naming the id range that
        // holds them. A query by one of those walks the matching ranges (see SQLiteRequestLogStore).
        // `request_id`, `received_at` and `caller_request_id` stay indexed for every row.
        migrator.registerMigration("request log v5: grouped rows") { db in
            try db.execute(sql: """
                ALTER TABLE request_log ADD COLUMN grouped INTEGER NOT NULL DEFAULT 0;
                DROP INDEX IF EXISTS request_log_connection;
                DROP INDEX IF EXISTS request_log_caller;
                DROP INDEX IF EXISTS request_log_status;
                DROP INDEX IF EXISTS request_log_persona_request_id;
                CREATE INDEX request_log_connection ON request_log(connection_id) WHERE grouped = 0;
                CREATE INDEX request_log_caller ON request_log(caller) WHERE grouped = 0;
                CREATE INDEX request_log_status ON request_log(status) WHERE grouped = 0;
                CREATE INDEX request_log_persona_request_id ON request_log(persona_request_id) WHERE grouped = 0;
                CREATE TABLE request_log_groups (
                    kind TEXT NOT NULL,
                    value TEXT NOT NULL,
                    first_id INTEGER NOT NULL,
                    last_id INTEGER NOT NULL,
                    PRIMARY KEY (kind, value, first_id)
                ) WITHOUT ROWID;
                CREATE INDEX request_log_groups_last_id ON request_log_groups(last_id);
                """)
        }
        // Grouped rows still cost a table insert and three index inserts each, and at tens of
        // thousands of hits a second that writer took a quarter of the CPU the event loop needs.
        // Hits are now *packed*: each commit stores its hits as one row of
        // `request_log_hit_batches`, a JSON array with one array per hit in `request_log`'s column
        // order, its id included: a commit takes one id per record, rows and hits alike, in order.
        // `request_log` becomes a view over both, so operators' SQL reads every request as before;
        // the rows the proxy inserts one by one live in `request_log_rows`. A batch's request ids
        // form an interval no other batch's overlaps (the writer sees to it), which is how a
        // request id finds its batch; `request_log_groups` names the id ranges of every value as
        // before, and the received-at bounds turn time filters into id bounds.
        migrator.registerMigration("request log v6: packed hits") { db in
            try db.execute(sql: """
                ALTER TABLE request_log RENAME TO request_log_rows;
                CREATE TABLE request_log_hit_batches (
                    first_id INTEGER PRIMARY KEY,
                    last_id INTEGER NOT NULL,
                    first_request_id TEXT NOT NULL,
                    last_request_id TEXT NOT NULL,
                    first_received_at REAL NOT NULL,
                    last_received_at REAL NOT NULL,
                    count INTEGER NOT NULL,
                    hits TEXT NOT NULL
                );
                CREATE INDEX request_log_hit_batches_request_id ON request_log_hit_batches(first_request_id);
                CREATE INDEX request_log_hit_batches_first_received ON request_log_hit_batches(first_received_at);
                CREATE INDEX request_log_hit_batches_last_received ON request_log_hit_batches(last_received_at);
                \(hitsView)
                \(requestLogView)
                """)
        }
        // A commit whose hits name many connections (or Persona request ids) stores a Bloom filter
        // of them instead of one group row each (see `BatchFilter`): `batch` is the batch's
        // `first_id`, `kinds` the bits of the kinds it holds.
        migrator.registerMigration("request log v7: batch filters") { db in
            try db.execute(sql: """
                CREATE TABLE request_log_batch_filters (
                    batch INTEGER PRIMARY KEY,
                    kinds INTEGER NOT NULL,
                    filter BLOB NOT NULL
                );
                """)
        }
        return migrator
    }

    /// One row per packed hit, in `request_log`'s columns, plus the batch (`first_id`) it is in.
    static let hitsView = """
        CREATE VIEW request_log_hits AS
        SELECT j.value->>0 AS id, j.value->>1 AS request_id, j.value->>2 AS received_at, j.value->>3 AS caller,
               j.value->>4 AS method, j.value->>5 AS path, j.value->>6 AS connection_id, j.value->>7 AS cache_outcome,
               j.value->>8 AS status, j.value->>9 AS persona_request_id, j.value->>10 AS duration_ms,
               j.value->>11 AS caller_request_id, 1 AS grouped, b.first_id AS batch
        FROM request_log_hit_batches b, json_each(b.hits) j;
        """

    /// Every request, inserted one by one or packed: what operators query.
    static let requestLogView = """
        CREATE VIEW request_log AS
        SELECT id, request_id, received_at, caller, method, path, connection_id, cache_outcome, status, persona_request_id,
               duration_ms, caller_request_id, grouped
        FROM request_log_rows
        UNION ALL
        SELECT id, request_id, received_at, caller, method, path, connection_id, cache_outcome, status, persona_request_id,
               duration_ms, caller_request_id, grouped
        FROM request_log_hits;
        """

    /// Each legacy table, the table its rows go to here, and the columns copied.
    static let movedTables: [(name: String, target: String, columns: String)] = [
        ("request_log", "request_log_rows", "id, request_id, received_at, caller, method, path, connection_id, cache_outcome, status, persona_request_id, duration_ms"),
        ("upstream_attempts", "upstream_attempts", "request_log_id, attempt, persona_request_id, status, error, duration_ms, waited_ms"),
        ("persona_api_logs", "persona_api_logs", "persona_request_id, body, fetched_at"),
    ]

    /// Moves the request-log tables of a single-file database (the cache file of earlier
    /// versions) into this one, keeping every row and its id, then drops them from the old file.
    ///
    /// Crash-safe in two steps: the copy commits first and is idempotent (`INSERT OR IGNORE` on
    /// the same primary keys), so an interruption before the drop only means the copy runs again
    /// at the next start; the drop happens only after the copy committed.
    static func importLegacyRows(from legacyPath: String, into pool: DatabasePool) throws {
        guard FileManager.default.fileExists(atPath: legacyPath) else { return }
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS legacy", arguments: [legacyPath])
            defer { try? db.execute(sql: "DETACH DATABASE legacy") }
            let present = try String.fetchSet(
                db, sql: "SELECT name FROM legacy.sqlite_master WHERE type = 'table' AND name IN ('request_log', 'upstream_attempts', 'persona_api_logs')")
            guard !present.isEmpty else { return }
            try db.inTransaction {
                for table in movedTables where present.contains(table.name) {
                    try db.execute(sql: "INSERT OR IGNORE INTO main.\(table.target) (\(table.columns)) SELECT \(table.columns) FROM legacy.\(table.name)")
                }
                return .commit
            }
            try db.inTransaction {
                // Children first: upstream_attempts references request_log.
                for name in ["upstream_attempts", "request_log", "persona_api_logs"] where present.contains(name) {
                    try db.execute(sql: "DROP TABLE legacy.\(name)")
                }
                return .commit
            }
        }
    }
}
