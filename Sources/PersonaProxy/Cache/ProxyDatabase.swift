public import GRDB
import Foundation
import Synchronization

/// The SQLite database that holds the cache and the request log, and whether it is usable.
///
/// Opening can fail (a missing directory, a read-only disk); the daemon then keeps serving
/// `/healthz`, answers `/readyz` and proxy routes with 503 and the reason, and `DatabaseService`
/// retries. One WAL-mode pool: readers never wait for the writer.
public final class ProxyDatabase: Sendable {
    enum State {
        case notOpened(reason: String)
        case open(DatabasePool)
        case closed
    }

    public let path: String
    private let state: Mutex<State>

    public init(path: String) {
        self.path = path
        self.state = Mutex(.notOpened(reason: "the database at \(path) has not been opened yet"))
    }

    /// Opens and migrates the database if it is not open yet. Safe to call repeatedly.
    @discardableResult
    public func open() throws -> DatabasePool {
        if case .open(let pool) = state.withLock({ $0 }) { return pool }
        do {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            var configuration = Configuration()
            // FULL: a row committed before the response survives power loss too, not only a crash
            // of this process. Only misses write synchronously, and they wait on Persona anyway.
            configuration.prepareDatabase { db in
                try db.execute(sql: "PRAGMA synchronous = FULL")
            }
            configuration.busyMode = .timeout(5)
            let pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
            let won = state.withLock { state -> DatabasePool? in
                if case .open(let existing) = state { return existing }
                state = .open(pool)
                return nil
            }
            if let existing = won {
                try? pool.close()
                return existing
            }
            return pool
        } catch {
            state.withLock { $0 = .notOpened(reason: "cannot open the database at \(path) (cache.path): \(error)") }
            throw error
        }
    }

    /// The open pool, or a 503 saying why there is none.
    public func pool() throws(ProxyError) -> DatabasePool {
        switch state.withLock({ $0 }) {
        case .open(let pool): return pool
        case .notOpened(let reason): throw .unavailable(reason)
        case .closed: throw .unavailable("the database is closed: the proxy is shutting down")
        }
    }

    /// nil when usable, else why not (for `/readyz`).
    public var unavailableReason: String? {
        switch state.withLock({ $0 }) {
        case .open: return nil
        case .notOpened(let reason): return reason
        case .closed: return "the database is closed: the proxy is shutting down"
        }
    }

    public func close() {
        let pool = state.withLock { state -> DatabasePool? in
            defer { state = .closed }
            if case .open(let pool) = state { return pool }
            return nil
        }
        // Checkpoints the WAL so the file is complete on its own after a clean stop.
        try? pool?.close()
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: cache and request log") { db in
            try db.execute(sql: """
                CREATE TABLE cache_entries (
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
                CREATE INDEX cache_entries_connection ON cache_entries(connection_id);
                CREATE INDEX cache_entries_expiry ON cache_entries(expires_at);

                CREATE TABLE request_log (
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
                CREATE INDEX request_log_request_id ON request_log(request_id);
                CREATE INDEX request_log_received_at ON request_log(received_at);
                CREATE INDEX request_log_connection ON request_log(connection_id);

                CREATE TABLE upstream_attempts (
                    request_log_id INTEGER NOT NULL REFERENCES request_log(id) ON DELETE CASCADE,
                    attempt INTEGER NOT NULL,
                    persona_request_id TEXT,
                    status INTEGER,
                    error TEXT,
                    duration_ms REAL NOT NULL,
                    waited_ms REAL NOT NULL DEFAULT 0,
                    PRIMARY KEY (request_log_id, attempt)
                ) WITHOUT ROWID;
                CREATE INDEX upstream_attempts_persona_request_id ON upstream_attempts(persona_request_id);
                """)
        }
        migrator.registerMigration("v2: Persona API-log copies") { db in
            // Persona's API-log entries only change when redacted: a copy saves budget on repeat lookups.
            try db.execute(sql: """
                CREATE TABLE persona_api_logs (
                    persona_request_id TEXT PRIMARY KEY NOT NULL,
                    body BLOB NOT NULL,
                    fetched_at REAL NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v3: health probe") { db in
            // One row rewritten by /readyz and the watchdog: proof the file is writable right now.
            try db.execute(sql: "CREATE TABLE health_probe (id INTEGER PRIMARY KEY CHECK (id = 1), probed_at REAL NOT NULL)")
        }
        return migrator
    }

    /// A real, committed write: nil when the database accepts writes, else why not.
    public func writeProbe(at time: Double) async -> String? {
        do {
            try await pool().write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO health_probe (id, probed_at) VALUES (1, ?)", arguments: [time])
            }
            return nil
        } catch let error as ProxyError {
            return error.details ?? error.title
        } catch {
            return "the database at \(path) (cache.path) is not writable: \(error)"
        }
    }
}
