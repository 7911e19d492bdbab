import Foundation
import GRDB
import PersonaProxy
import Testing

/// A database that refuses writes (here: another process holds the write lock) degrades the
/// proxy instead of stopping it: the failure is remembered for `/readyz`, later writes fail at
/// once instead of each waiting out the busy timeout, reads go on, and one probe that commits
/// clears it.
@Suite struct DegradedDatabaseTests {
    @Test func aRefusedWriteIsRememberedFailsFastThenClearsWhenWritesWorkAgain() async throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/cache.sqlite"
        var migrator = DatabaseMigrator()
        migrator.registerMigration("probe") { db in
            try db.execute(sql: "CREATE TABLE health_probe (id INTEGER PRIMARY KEY, probed_at REAL NOT NULL)")
        }
        let database = SQLiteDatabase(path: path, configurationKey: "cache.path", migrator: migrator, busyTimeout: 0.05, failFastWindow: .seconds(3600))
        try database.open()
        defer { database.close() }
        #expect(await database.writeProbe(at: 1) == nil)
        #expect(database.writeFailure == nil)

        // Another process (an operator's sqlite3 session) takes the write lock and keeps it.
        let other = try WriteLockHolder(path: path)
        await #expect(throws: (any Error).self) { try await database.write { db in try db.execute(sql: "INSERT INTO health_probe VALUES (1, 3)") } }
        let reason = try #require(database.writeFailure)
        #expect(reason.contains("cache.path"))
        let started = ContinuousClock.now
        await #expect(throws: StorageError.self) { try await database.write { db in try db.execute(sql: "DELETE FROM health_probe") } }
        #expect(ContinuousClock.now - started < .milliseconds(40), "fails at once instead of waiting for the lock again")
        #expect(try await database.pool().read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM health_probe") } == 1, "reads go on")

        other.release()
        #expect(await database.writeProbe(at: 4) == nil)
        #expect(database.writeFailure == nil, "one committed write ends the degraded state")
    }
}

/// A separate process holding SQLite's write lock on a file until `release()`.
final class WriteLockHolder {
    private let process = Process()
    private let input = Pipe()

    init(path: String) throws {
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute('BEGIN IMMEDIATE'); "
                + "print('locked', flush=True); sys.stdin.read(); c.execute('ROLLBACK')",
            path,
        ]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        // Wait until the lock is really held.
        _ = output.fileHandleForReading.availableData
    }

    func release() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
