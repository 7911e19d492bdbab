import Foundation
import GRDB
import HummingbirdTesting
import PersonaProxy
import Testing

/// A damaged file at start: the disposable cache is moved aside and rebuilt; the audit trail is
/// never replaced, only reported, and the proxy serves meanwhile.
@Suite struct DamagedDatabaseTests {
    @Test func aDamagedCacheIsMovedAsideAndADamagedRequestLogIsLeftAloneAndReported() async throws {
        let directory = TestDirectory()
        let garbage = Data(String(repeating: "this is not a database ", count: 400).utf8)
        try garbage.write(to: URL(fileURLWithPath: directory.path + "/cache.sqlite"))
        try garbage.write(to: URL(fileURLWithPath: directory.path + "/requests.sqlite"))
        let proxy = TestProxy(client: ScriptedPersonaClient.connections(), directory: directory)
        try await proxy.test { http in
            let ready = try await http.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.text.contains("request_log.path") && ready.text.contains("damaged"))
            #expect(!ready.text.contains("cache.path"), "the cache was rebuilt and is fine")
            let answer = try await http.execute(uri: "/api/v1/connect/connections/cxn_ABC123", method: .get)
            #expect(answer.status == .ok, "the proxy serves while the audit trail waits for an operator")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: proxy.requestLogPath)) == garbage, "the audit trail is untouched")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        let aside = try #require(files.first { $0.hasPrefix("cache.sqlite.damaged-") })
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory.path + "/" + aside)) == garbage, "the damaged cache is kept for inspection")
    }

    /// A page damaged in the middle of a file that still opens: found by the full check after
    /// start-up (`verify`, which `DatabaseService` runs), reported, not acted on.
    @Test func damageInsideAFileThatOpensIsFoundAfterStartAndReported() async throws {
        let directory = TestDirectory()
        let path = directory.path + "/requests.sqlite"
        var migrator = DatabaseMigrator()
        migrator.registerMigration("rows") { db in
            try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, text TEXT NOT NULL); CREATE INDEX t_text ON t(text)")
            for index in 0..<3000 { try db.execute(sql: "INSERT INTO t (text) VALUES (?)", arguments: [String(repeating: "row \(index) ", count: 20)]) }
        }
        let first = SQLiteDatabase(path: path, configurationKey: "request_log.path", migrator: migrator)
        let pool = try first.open()
        #expect(await first.verify() == nil, "an intact file passes")
        try await pool.writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }  // every page in the main file
        first.close()
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
        #expect(size > 4096 * 60, "the rows are in the main file: \(size) bytes")
        // Overwrite one page in the middle with garbage; the header and schema stay intact.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seek(toOffset: 4096 * 40)
        try handle.write(contentsOf: Data(repeating: 0xA5, count: 4096))
        try handle.close()

        let second = SQLiteDatabase(path: path, configurationKey: "request_log.path", migrator: migrator)
        try second.open()
        #expect(second.unavailableReason == nil, "opening reads the header and schema only")
        let damage = await second.verify()
        #expect(damage?.contains("request_log.path") == true && damage?.contains("quick_check") == true, "\(damage ?? "nil")")
        #expect(second.unavailableReason == damage, "/readyz reports it")
        second.close()
    }
}
