import Foundation
import GRDB
@testable import PersonaProxy
import Testing

/// A new request log is made with 16 KiB pages (fewer system calls for the hit writer's commits
/// and checkpoints); a log made before keeps its 4 KiB pages and works as it did.
@Suite struct RequestLogPageSizeTests {
    @Test func aNewLogHasLargePagesAndAnOldOneKeepsItsOwn() async throws {
        let directory = TemporaryDirectory()
        let fresh = RequestLogSchema.database(path: directory.path + "/new.sqlite", legacyCachePath: nil)
        try fresh.open()
        defer { fresh.close() }
        #expect(try await fresh.pool().read { db in try Int.fetchOne(db, sql: "PRAGMA page_size") } == 16_384)

        // An existing file with SQLite's default pages, in WAL mode, as earlier versions made it.
        let oldPath = directory.path + "/old.sqlite"
        do {
            let old = try DatabasePool(path: oldPath)
            try await old.write { db in try db.execute(sql: "CREATE TABLE earlier (id INTEGER PRIMARY KEY)") }
            try old.close()
        }
        let reopened = RequestLogSchema.database(path: oldPath, legacyCachePath: nil)
        try reopened.open()
        defer { reopened.close() }
        #expect(try await reopened.pool().read { db in try Int.fetchOne(db, sql: "PRAGMA page_size") } == 4_096)
        let store = SQLiteRequestLogStore(database: reopened)
        try await store.append([PackedHitsTests.hit("ppx_p001", at: 0)])
        #expect(try await store.record(requestId: "ppx_p001")?.status == 200)
    }
}
