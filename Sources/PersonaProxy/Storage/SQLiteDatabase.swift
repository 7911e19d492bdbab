public import GRDB
import Foundation
import Synchronization

/// One SQLite file (the cache, or the request log), its schema, and whether it is usable.
///
/// Opening can fail (a missing directory, a read-only disk); the daemon then keeps serving
/// `/healthz`, answers `/readyz` and the routes that need this file with 503 and the reason, and
/// `DatabaseService` retries. One WAL-mode pool: readers never wait for the writer.
public final class SQLiteDatabase: Sendable {
    enum State {
        case notOpened(reason: String)
        case open(DatabasePool)
        case closed
    }

    public let path: String
    /// The configuration key that names this file (`cache.path`, `request_log.path`), for messages.
    public let configurationKey: String
    private let migrator: DatabaseMigrator
    /// Runs once the pool is open and migrated, before anyone else uses it (the request log
    /// imports rows from a single-file database of an older version here).
    private let afterMigration: @Sendable (DatabasePool) throws -> Void
    private let state: Mutex<State>
    /// The outcome of the latest write: nil when it committed, else why not and when.
    private let lastWriteFailure = Mutex<(reason: String, at: ContinuousClock.Instant)?>(nil)
    /// After a failed write, writes fail at once (at most this long; in practice until the probe,
    /// `DatabaseService`, sees a write commit and clears it) instead of each waiting out the busy
    /// timeout.
    private let failFastWindow: Duration
    /// How long a write waits for another process's lock before it fails.
    private let busyTimeout: Double
    /// Told of every write's outcome (metrics).
    private let onWrite: @Sendable (_ committed: Bool) -> Void
    private let onDamage: DamagePolicy
    /// FULL (fsync at every commit): a committed row survives power loss, not only a crash of the
    /// process. NORMAL (WAL): a commit survives a crash of the process; the last commits may be
    /// lost with power, which a disposable cache can afford (it costs one upstream call each).
    private let survivesPowerLoss: Bool
    /// `PRAGMA page_size` for a database this creates (an existing file keeps its own); nil,
    /// SQLite's 4 096.
    private let pageSize: Int?

    public init(
        path: String, configurationKey: String, migrator: DatabaseMigrator,
        afterMigration: @escaping @Sendable (DatabasePool) throws -> Void = { _ in }, busyTimeout: Double = 5, failFastWindow: Duration = .seconds(86_400),
        onWrite: @escaping @Sendable (_ committed: Bool) -> Void = { _ in }, onDamage: DamagePolicy = .refuse, survivesPowerLoss: Bool = true,
        pageSize: Int? = nil
    ) {
        self.survivesPowerLoss = survivesPowerLoss
        self.pageSize = pageSize
        self.onDamage = onDamage
        self.failFastWindow = failFastWindow
        self.busyTimeout = busyTimeout
        self.onWrite = onWrite
        self.path = path
        self.configurationKey = configurationKey
        self.migrator = migrator
        self.afterMigration = afterMigration
        self.state = Mutex(.notOpened(reason: "the database at \(path) (\(configurationKey)) has not been opened yet"))
    }

    /// Opens and migrates the database if it is not open yet. Safe to call repeatedly.
    @discardableResult
    public func open() throws -> DatabasePool {
        if case .open(let pool) = state.withLock({ $0 }) { return pool }
        do {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            var configuration = Configuration()
            let synchronous = survivesPowerLoss ? "FULL" : "NORMAL"
            let pageSize = pageSize
            configuration.prepareDatabase { db in
                // Before anything is written: on a new file it sets the size, on an existing one it does nothing.
                if let pageSize { try db.execute(sql: "PRAGMA page_size = \(pageSize)") }
                try db.execute(sql: "PRAGMA synchronous = \(synchronous)")
            }
            configuration.busyMode = .timeout(busyTimeout)
            // GRDB's default (.userInitiated) is nice -2 on Linux, ahead of the event loops.
            configuration.qos = .default
            let pool: DatabasePool
            do {
                pool = try Self.openChecked(path: path, configuration: configuration)
            } catch let damage as Damage {
                switch onDamage {
                case .refuse:
                    // The audit trail is never replaced behind anyone's back: it stays as it is, for
                    // an operator to inspect or restore, and the proxy reports it until then.
                    throw StorageError.unavailable(
                        "the database at \(path) (\(configurationKey)) is damaged (\(damage.detail)); it is left untouched "
                            + "for you to inspect or restore from a backup, and nothing is written to it meanwhile")
                case .moveAsideAndStartEmpty(let report):
                    let aside = Self.moveAside(path)
                    report("the database at \(path) (\(configurationKey)) was damaged (\(damage.detail)); moved to \(aside), starting empty")
                    pool = try DatabasePool(path: path, configuration: configuration)
                }
            }
            try migrator.migrate(pool)
            try afterMigration(pool)
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
            state.withLock { $0 = .notOpened(reason: "cannot open the database at \(path) (\(configurationKey)): \(error)") }
            throw error
        }
    }

    /// The open pool, or why there is none.
    public func pool() throws(StorageError) -> DatabasePool {
        switch state.withLock({ $0 }) {
        case .open(let pool): return pool
        case .notOpened(let reason): throw .unavailable(reason)
        case .closed: throw .unavailable("the database at \(path) is closed: the proxy is shutting down")
        }
    }

    /// nil when usable, else why not (for `/readyz`).
    public var unavailableReason: String? {
        if let damage = damageFound.withLock({ $0 }) { return damage }
        do {
            _ = try pool()
            return nil
        } catch {
            return error.description
        }
    }

    /// Set when `verify()` found damage in a database that opened: reported, never acted on
    /// behind anyone's back while the proxy runs.
    private let damageFound = Mutex<String?>(nil)

    /// `PRAGMA quick_check` over every page, off the start-up path (`DatabaseService` runs it once
    /// the database is open). Returns the damage found, which `/readyz` then reports, or nil.
    ///
    /// It reads the whole file (seconds for a million entries), so it runs on a thread of its own
    /// at nice 19: the hits served meanwhile keep the CPU.
    @discardableResult
    public func verify() async -> String? {
        guard let pool = try? pool() else { return nil }
        let verdict: [String]
        let thread = BackgroundThread(name: "ppx-verify", pacing: nil)
        defer { thread.shutdown() }
        do {
            verdict = try await thread.run { try pool.read { db in try String.fetchAll(db, sql: "PRAGMA quick_check") } }
        } catch let error as DatabaseError where [.SQLITE_CORRUPT, .SQLITE_NOTADB].contains(error.resultCode.primaryResultCode) {
            verdict = [error.message ?? "\(error.resultCode)"]
        } catch {
            return nil  // busy or closing: not a verdict on the file
        }
        guard verdict != ["ok"] else { return nil }
        let reason =
            "the database at \(path) (\(configurationKey)) is damaged (quick_check: \(verdict.prefix(3).joined(separator: "; "))); "
            + (onDamage.startsEmpty ? "stop the proxy and delete the file: it is rebuilt empty" : "restore it from a backup or move it aside")
        damageFound.withLock { $0 = reason }
        return reason
    }

    /// What to do with a file that is not a sound SQLite database at start.
    public enum DamagePolicy: Sendable {
        /// The cache: disposable. Move the file aside (kept for inspection), report, start empty.
        case moveAsideAndStartEmpty(report: @Sendable (String) -> Void)
        /// The audit trail: never replaced; the database stays unavailable and says why.
        case refuse

        var startsEmpty: Bool {
            if case .moveAsideAndStartEmpty = self { true } else { false }
        }
    }

    struct Damage: Error {
        let detail: String
    }

    /// Opens the pool and checks it; `Damage` for a file that is not a database or fails the check.
    /// - Parameter fullCheck: `PRAGMA quick_check`, which reads every page (a second per ~million
    ///   rows here); else only the header and the schema are read, which is enough to tell a
    ///   database from anything else, so a million cached entries or rows are ready in
    ///   milliseconds. `verify()` runs the full check once the proxy is serving.
    static func openChecked(path: String, configuration: Configuration, fullCheck: Bool = false) throws -> DatabasePool {
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            let verdict = try pool.read { db in
                fullCheck
                    ? try String.fetchAll(db, sql: "PRAGMA quick_check")
                    : [try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") != nil ? "ok" : "no schema"]
            }
            guard verdict == ["ok"] else {
                try? pool.close()
                throw Damage(detail: "quick_check: " + verdict.prefix(3).joined(separator: "; "))
            }
            return pool
        } catch let error as DatabaseError where [.SQLITE_CORRUPT, .SQLITE_NOTADB].contains(error.resultCode.primaryResultCode) {
            throw Damage(detail: error.message ?? "\(error.resultCode)")
        }
    }

    /// Renames the file and its WAL and shared-memory companions to `<path>.damaged-<unix time>`.
    static func moveAside(_ path: String) -> String {
        let aside = "\(path).damaged-\(Int(Date().timeIntervalSince1970))"
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
            try? FileManager.default.moveItem(atPath: path + suffix, toPath: aside + suffix)
        }
        return aside
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

    /// A write transaction whose outcome is remembered: `/readyz` and systemd's `STATUS=` read it
    /// instead of writing themselves. While the latest write failed (a full disk, a lock held past
    /// the busy timeout), writes fail at once for `failFastWindow` rather than stalling callers.
    public func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await write(probing: false, updates)
    }

    private func write<T: Sendable>(probing: Bool, _ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try failFastIfDegraded(probing: probing)
        do {
            let result = try await pool().write(updates)
            recordWriteSucceeded()
            return result
        } catch {
            throw recordWriteFailed(error)
        }
    }

    func failFastIfDegraded(probing: Bool) throws {
        // While degraded only the probe touches the file: every other write would queue behind it
        // on the single writer and wait out the busy timeout in turn.
        if !probing, let failure = lastWriteFailure.withLock({ $0 }), ContinuousClock.now - failure.at < failFastWindow {
            throw StorageError.failed("not writing while degraded: \(failure.reason)")
        }
    }

    func recordWriteSucceeded() {
        lastWriteFailure.withLock { $0 = nil }
        onWrite(true)
    }

    /// Only the file refusing writes degrades it; a statement's own error (a constraint) does not.
    func recordWriteFailed(_ error: any Error) -> any Error {
        guard Self.meansUnwritable(error) else { return error }
        let reason = "the database at \(path) (\(configurationKey)) refused a write: \(StorageError.wrapping(error))"
        lastWriteFailure.withLock { $0 = (reason, ContinuousClock.now) }
        onWrite(false)
        return error
    }

    static func meansUnwritable(_ error: any Error) -> Bool {
        guard let error = error as? DatabaseError else { return true }
        let unwritable: [ResultCode] = [
            .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_FULL, .SQLITE_IOERR, .SQLITE_READONLY, .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_CORRUPT,
            .SQLITE_NOTADB,
        ]
        return unwritable.contains(error.resultCode.primaryResultCode)
    }

    /// Why the latest write failed, or nil when it committed (or none was made yet).
    public var writeFailure: String? { lastWriteFailure.withLock { $0?.reason } }

    /// A real, committed write to the schema's `health_probe` row, bypassing the fail-fast window:
    /// nil when the database accepts writes (and the degraded state is cleared), else why not.
    @discardableResult
    public func writeProbe(at time: Double) async -> String? {
        do {
            try await write(probing: true) { db in
                try db.execute(sql: "INSERT OR REPLACE INTO health_probe (id, probed_at) VALUES (1, ?)", arguments: [time])
            }
            return nil
        } catch let error as StorageError {
            return error.description
        } catch {
            return "the database at \(path) (\(configurationKey)) is not writable: \(error)"
        }
    }

    /// The schema every database of the proxy shares: one row rewritten by `/readyz` and the
    /// watchdog, proof the file is writable right now.
    static let healthProbeTable = "CREATE TABLE IF NOT EXISTS health_probe (id INTEGER PRIMARY KEY CHECK (id = 1), probed_at REAL NOT NULL)"
}
