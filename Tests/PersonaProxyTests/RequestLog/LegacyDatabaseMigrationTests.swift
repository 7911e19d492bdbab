import Foundation
import GRDB
import HummingbirdTesting
import NIOCore
import PersonaProxy
import Testing

/// Versions before the split kept the cache and the request log in one file (`cache.path`). The
/// first start of this version moves the request log to `request_log.path` without losing a row;
/// the cache file keeps only the cache.
@Suite struct LegacyDatabaseMigrationTests {
    /// The single-file schema exactly as the earlier version's migrations left it.
    static func makeLegacyDatabase(at path: String, requests: Int) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: """
                CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY);
                INSERT INTO grdb_migrations VALUES ('v1: cache and request log'), ('v2: Persona API-log copies'), ('v3: health probe');
                CREATE TABLE cache_entries (
                    key TEXT PRIMARY KEY NOT NULL, connection_id TEXT NOT NULL, persona_version TEXT NOT NULL,
                    key_inflection TEXT NOT NULL, fields TEXT NOT NULL, status INTEGER NOT NULL, body BLOB NOT NULL,
                    content_type TEXT, persona_request_id TEXT, environment_id TEXT, organization_id TEXT,
                    fetched_at REAL NOT NULL, expires_at REAL NOT NULL) WITHOUT ROWID;
                CREATE INDEX cache_entries_connection ON cache_entries(connection_id);
                CREATE INDEX cache_entries_expiry ON cache_entries(expires_at);
                CREATE TABLE request_log (
                    id INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, received_at REAL NOT NULL, caller TEXT NOT NULL,
                    method TEXT NOT NULL, path TEXT NOT NULL, connection_id TEXT, cache_outcome TEXT NOT NULL, status INTEGER NOT NULL,
                    persona_request_id TEXT, duration_ms REAL NOT NULL);
                CREATE TABLE upstream_attempts (
                    request_log_id INTEGER NOT NULL REFERENCES request_log(id) ON DELETE CASCADE, attempt INTEGER NOT NULL,
                    persona_request_id TEXT, status INTEGER, error TEXT, duration_ms REAL NOT NULL, waited_ms REAL NOT NULL DEFAULT 0,
                    PRIMARY KEY (request_log_id, attempt)) WITHOUT ROWID;
                CREATE TABLE persona_api_logs (persona_request_id TEXT PRIMARY KEY NOT NULL, body BLOB NOT NULL, fetched_at REAL NOT NULL) WITHOUT ROWID;
                CREATE TABLE health_probe (id INTEGER PRIMARY KEY CHECK (id = 1), probed_at REAL NOT NULL);
                INSERT INTO cache_entries VALUES ('cxn_OLD|v=2025-12-08;i=;f=', 'cxn_OLD', '2025-12-08', '', '', 200, CAST('{"data":{"id":"cxn_OLD"}}' AS BLOB),
                    'application/json; charset=utf-8', 'req_old', 'env_1', 'org_1', 1000, 4102444800);
                INSERT INTO persona_api_logs VALUES ('req_old_1', CAST('{"data":{"id":"req_old_1"}}' AS BLOB), 1000);
                """)
            for index in 1...requests {
                // Gaps in the ids, as pruning leaves them: they must survive as they are.
                let id = index * 3
                try db.execute(
                    sql: "INSERT INTO request_log VALUES (?, ?, ?, 'billing', 'GET', '/api/v1/connect/connections/cxn_OLD', 'cxn_OLD', 'miss', 200, ?, 1.5)",
                    arguments: [id, "old-\(index)", 1000 + Double(index), "req_old_\(index)"])
                try db.execute(
                    sql: "INSERT INTO upstream_attempts VALUES (?, 1, ?, 200, NULL, 1.2, 0)", arguments: [id, "req_old_\(index)"])
            }
        }
    }

    @Test func theFirstStartMovesEveryRequestRowAndKeepsTheCache() async throws {
        let directory = TestDirectory()
        try Self.makeLegacyDatabase(at: directory.path + "/cache.sqlite", requests: 250)
        let proxy = TestProxy(client: ScriptedPersonaClient.connections(), directory: directory)
        try await proxy.test { http in
            // Old cache entries carry no upstream identity, so the (disposable) cache starts empty:
            // the first request is a miss, never another environment's document.
            let first = try await http.execute(uri: "/api/v1/connect/connections/cxn_OLD", method: .get, headers: [.personaVersion: "2025-12-08"])
            #expect(first.status == .ok)
            #expect(first.headers[.cacheStatus]?.contains("fwd=miss") == true)
            // A new request is appended after the old ids, never over them.
            _ = try await http.execute(uri: "/api/v1/connect/connections/cxn_NEW", method: .get)
        }
        let requestLog = RequestLogSchema.database(path: proxy.requestLogPath, legacyCachePath: nil)
        try requestLog.open()
        defer { requestLog.close() }
        let records = try await SQLiteRequestLogStore(database: requestLog).query(RequestLogQuery(limit: 1000))
        let old = records.filter { $0.requestId.hasPrefix("old-") }
        #expect(old.count == 250)
        #expect(Set(old.compactMap(\.id)) == Set((1...250).map { Int64($0 * 3) }))
        #expect(old.allSatisfy { $0.attempts.count == 1 && $0.attempts[0].personaRequestId == $0.personaRequestId })
        #expect(records.filter { !$0.requestId.hasPrefix("old-") }.allSatisfy { ($0.id ?? 0) > 750 })
        let copy = try await SQLiteAPILogCopyStore(database: requestLog).copy(personaRequestId: "req_old_1", fetchedSince: Date(timeIntervalSince1970: 0))
        #expect(copy.map { String(decoding: $0, as: UTF8.self) } == #"{"data":{"id":"req_old_1"}}"#)
        // The cache file no longer holds the audit trail.
        let tables = try await DatabaseQueue(path: proxy.cachePath).read { db in
            try String.fetchSet(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        #expect(tables.isDisjoint(with: ["request_log", "upstream_attempts", "persona_api_logs"]))
        #expect(tables.contains("cache_entries"))
    }

    /// A crash after the copy committed and before the drop: the next start copies again and
    /// neither loses nor duplicates a row.
    @Test func anInterruptedMoveIsCompletedWithoutDuplicates() async throws {
        let directory = TestDirectory()
        let legacy = directory.path + "/cache.sqlite"
        try Self.makeLegacyDatabase(at: legacy, requests: 40)
        let target = directory.path + "/requests.sqlite"
        // The copy step alone, as if the process died before dropping the old tables.
        let partial = try DatabaseQueue(path: target)
        try await partial.write { db in
            try db.execute(sql: "CREATE TABLE scratch (x)")
        }
        try partial.close()
        let first = RequestLogSchema.database(path: target, legacyCachePath: nil)
        try first.open()
        first.close()
        try await DatabaseQueue(path: target).writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS legacy", arguments: [legacy])
            let columns = "id, request_id, received_at, caller, method, path, connection_id, cache_outcome, status, persona_request_id, duration_ms"
            try db.execute(sql: "INSERT INTO main.request_log_rows (\(columns)) SELECT \(columns) FROM legacy.request_log WHERE id <= 60")
            try db.execute(sql: "DETACH DATABASE legacy")
        }
        let database = RequestLogSchema.database(path: target, legacyCachePath: legacy)
        try database.open()
        defer { database.close() }
        let records = try await SQLiteRequestLogStore(database: database).query(RequestLogQuery(limit: 1000))
        #expect(records.count == 40)
        #expect(Set(records.map(\.requestId)).count == 40)
        #expect(records.allSatisfy { $0.attempts.count == 1 })
    }
}
