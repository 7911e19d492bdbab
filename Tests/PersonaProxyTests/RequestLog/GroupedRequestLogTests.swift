import Foundation
import GRDB
@testable import PersonaProxy
import Testing

/// Rows that made no upstream call are found through `request_log_groups`, not per-column
/// indexes: what that saves must not leave anything behind or lose a row.
@Suite struct GroupedRequestLogTests {
    static func withDatabase(_ body: (SQLiteDatabase, SQLiteRequestLogStore) async throws -> Void) async throws {
        let directory = TemporaryDirectory()
        let database = RequestLogSchema.database(path: directory.path + "/requests.sqlite", legacyCachePath: nil)
        try database.open()
        defer { database.close() }
        try await body(database, SQLiteRequestLogStore(database: database))
    }

    @Test func aBatchOfHitsIsOneRowWithOneGroupRowPerDistinctValue() async throws {
        try await Self.withDatabase { database, store in
            let hits = (0..<500).map { index in
                RequestLogRecord(
                    requestId: "h\(index)", receivedAt: Date(timeIntervalSince1970: 1_800_000_000 + Double(index) / 1000), caller: "billing",
                    method: "GET", path: "/api/v1/connect/connections/cxn_1", connectionId: "cxn_1", cacheOutcome: "hit", status: 200,
                    personaRequestId: "req_fill", durationMs: 0.05, attempts: [])
            }
            try await store.append(hits)
            let (groups, indexed) = try database.pool().read { db in
                (
                    try Row.fetchAll(db, sql: "SELECT kind, value, first_id, last_id FROM request_log_groups ORDER BY kind"),
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM request_log_rows")
                )
            }
            #expect(groups.map { $0["kind"] as String } == ["caller", "connection", "persona", "status"])
            #expect(groups.allSatisfy { ($0["first_id"] as Int64, $0["last_id"] as Int64) == (1, 500) })
            #expect(indexed == 0, "hits are packed, not inserted as rows")
            // Still every row, in the table operators query with SQL.
            #expect(try await database.pool().read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM request_log WHERE caller = 'billing'") } == 500)
            #expect(try await store.query(RequestLogQuery(personaRequestId: "req_fill", limit: 1000)).count == 500)
        }
    }

    @Test func pruningDropsTheGroupsOfDeletedRowsAndKeepsACopyWhileAHitNamesIt() async throws {
        try await Self.withDatabase { database, store in
            for batch in RequestLogStoreContractTests.batches() { try await store.append(batch) }
            try await SQLiteAPILogCopyStore(database: database).save(
                personaRequestId: "req_5", body: Data("{}".utf8), fetchedAt: Date(timeIntervalSince1970: 1_800_000_000))
            // Each commit of 20 is 4 miss rows and one batch of 16 packed hits. Keeping the newest 6
            // cuts into the last batch, which goes whole or not at all: ids 1…41 go (two commits and
            // the last one's first row, b40), the last batch stays, ids left contiguous.
            #expect(try await store.prune(receivedBefore: .distantPast, maxRows: 6, batch: 1000) == 41)
            #expect(try await store.rowCount() == 19)
            let (oldestGroupEnd, copies) = try await database.pool().read { db in
                (
                    try Int64.fetchOne(db, sql: "SELECT min(last_id) FROM request_log_groups"),
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM persona_api_logs")
                )
            }
            #expect(try #require(oldestGroupEnd) >= 42, "no group is left naming only deleted rows")
            #expect(copies == 1, "a hit still names req_5")
            #expect(
                try await store.query(RequestLogQuery(caller: "orders", limit: 50)).map(\.requestId)
                    == stride(from: 59, through: 41, by: -2).map { "b\($0)" })
            #expect(try await store.prune(receivedBefore: .distantFuture, maxRows: nil, batch: 1000) == 19)
            let left = try await database.pool().read { db in
                try Int.fetchOne(db, sql: "SELECT (SELECT count(*) FROM request_log_groups) + (SELECT count(*) FROM persona_api_logs)")
            }
            #expect(left == 0)
        }
    }
}
