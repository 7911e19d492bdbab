import Foundation
import GRDB
import GRDBSQLite
@testable import PersonaProxy
import Testing

/// Hits are stored packed, a batch row per commit (or per 2048 records): every hit must still be
/// found by its request id and every filter, read back whole, and shown in `request_log` to
/// operators' SQL.
@Suite struct PackedHitsTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func hit(_ requestId: String, at offset: Double, path: String = "/api/v1/connect/connections/cxn_1", caller: String = "billing")
        -> RequestLogRecord
    {
        RequestLogRecord(
            requestId: requestId, receivedAt: start.addingTimeInterval(offset), caller: caller, method: "GET", path: path,
            connectionId: "cxn_1", cacheOutcome: "hit", status: 200, personaRequestId: "req_fill", durationMs: 0.042, attempts: [])
    }

    @Test func aHitIsReadBackWholeEvenWithBytesJSONMustEscape() async throws {
        try await GroupedRequestLogTests.withDatabase { database, store in
            let odd = "/api/v1/connect/connections/\"q\\\u{01}\ttab/é"
            try await store.append([Self.hit("ppx_a001", at: 0.25, path: odd, caller: "svc \"x\"")])
            let found = try #require(try await store.record(requestId: "ppx_a001"))
            var expected = Self.hit("ppx_a001", at: 0.25, path: odd, caller: "svc \"x\"")
            expected.id = found.id
            #expect(found == expected)
            let batches = try await database.pool().read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM request_log_hit_batches") }
            #expect(batches == 1)
            let viaView = try database.pool().read { db in
                try Row.fetchOne(db, sql: "SELECT path, caller, status, received_at FROM request_log WHERE request_id = 'ppx_a001'")
            }
            #expect(viaView?["path"] == odd)
            #expect(viaView?["status"] == 200)
            #expect(viaView?["received_at"] == 1_800_000_000.25)
        }
    }

    @Test func aHitAnsweredAfterANewerBatchBecomesARowAndIsStillFound() async throws {
        try await GroupedRequestLogTests.withDatabase { database, store in
            try await store.append([Self.hit("ppx_a001", at: 0), Self.hit("ppx_a003", at: 0.1)])
            try await store.append([Self.hit("ppx_a004", at: 0.2), Self.hit("ppx_a002", at: 0.3), Self.hit("ppx_a005", at: 0.3)])
            let rows = try await database.pool().read { db in try String.fetchAll(db, sql: "SELECT request_id FROM request_log_rows") }
            #expect(rows == ["ppx_a002"], "a002 falls inside the first batch's interval")
            for id in ["ppx_a001", "ppx_a002", "ppx_a003", "ppx_a004", "ppx_a005"] {
                #expect(try await store.record(requestId: id)?.requestId == id)
            }
            #expect(try await store.record(requestId: "ppx_a0025") == nil)
            // Newest first, in the order the records were committed.
            #expect(try await store.recent(limit: 10).map(\.requestId) == ["ppx_a005", "ppx_a002", "ppx_a004", "ppx_a003", "ppx_a001"])
            #expect(try await store.query(RequestLogQuery(connectionId: "cxn_1", limit: 2)).map(\.requestId) == ["ppx_a005", "ppx_a002"])
        }
    }

    /// A query decodes a whole batch to find one hit in it: a large commit is stored as several
    /// batches of at most `maxRecords`, and every hit is still found, in order.
    @Test func aLargeCommitIsSplitIntoBoundedBatchesAndEveryHitIsFound() async throws {
        try await GroupedRequestLogTests.withDatabase { database, store in
            let count = 2 * RequestLogHitBatch.maxRecords + 5
            let hits = (0..<count).map { Self.hit(String(format: "ppx_c%06d", $0), at: Double($0) / 1000) }
            try await store.append(hits)
            let sizes = try await database.pool().read { db in
                try Int.fetchAll(db, sql: "SELECT count FROM request_log_hit_batches ORDER BY first_id")
            }
            #expect(sizes == [RequestLogHitBatch.maxRecords, RequestLogHitBatch.maxRecords, 5])
            for index in [0, RequestLogHitBatch.maxRecords - 1, RequestLogHitBatch.maxRecords, count - 1] {
                let id = String(format: "ppx_c%06d", index)
                #expect(try await store.record(requestId: id)?.requestId == id)
            }
            #expect(try await store.recent(limit: 3).map(\.requestId) == hits.suffix(3).reversed().map(\.requestId))
            let acrossTheCut = try await store.query(RequestLogQuery(connectionId: "cxn_1", beforeId: Int64(RequestLogHitBatch.maxRecords + 2), limit: 3))
            #expect(acrossTheCut.map(\.id) == [Int64(RequestLogHitBatch.maxRecords + 1), Int64(RequestLogHitBatch.maxRecords), Int64(RequestLogHitBatch.maxRecords - 1)])
            #expect(try await store.rowCount() == count)
        }
    }

    /// A page reads only as many hits of a batch as it can show, and still the newest: here the
    /// rows of the connection's range are older than its packed hits.
    @Test func aShortPageOfAConnectionIsItsNewestHitsWhenOlderRowsShareTheRange() async throws {
        try await GroupedRequestLogTests.withDatabase { _, store in
            // A caller request id keeps a hit out of the batch: a row, grouped like the hits.
            let rows = (1...3).map { index in
                var row = Self.hit("ppx_d00\(index)", at: Double(index))
                row.callerRequestId = "caller-\(index)"
                return row
            }
            let packed = (4...6).map { Self.hit("ppx_d00\($0)", at: Double($0)) }
            try await store.append(rows + packed)
            #expect(try await store.query(RequestLogQuery(connectionId: "cxn_1", limit: 2)).map(\.requestId) == ["ppx_d006", "ppx_d005"])
            #expect(try await store.query(RequestLogQuery(connectionId: "cxn_1", beforeId: 6, limit: 2)).map(\.requestId) == ["ppx_d005", "ppx_d004"])
            #expect(try await store.query(RequestLogQuery(connectionId: "cxn_1", limit: 5)).map(\.requestId) == ["ppx_d006", "ppx_d005", "ppx_d004", "ppx_d003", "ppx_d002"])
            #expect(try await store.query(RequestLogQuery(limit: 4)).map(\.requestId) == ["ppx_d006", "ppx_d005", "ppx_d004", "ppx_d003"])
        }
    }

    /// Every commit of the hit writer asks for the newest id: a question that read every batch row
    /// made the writer slower as the log grew (250 ms a commit at 2 400 batches).
    @Test func theNewestIdIsFoundWithoutReadingEveryBatch() async throws {
        try await GroupedRequestLogTests.withDatabase { database, store in
            for commit in 0..<40 {
                try await store.append([Self.hit(String(format: "ppx_e%04d", commit), at: Double(commit))])
            }
            let (newest, fullScanSteps) = try await database.pool().read { db in
                let statement = try db.makeStatement(sql: SQLiteRequestLogStore.newestIdSQL)
                let newest = try Int64.fetchOne(statement)
                return (newest, sqlite3_stmt_status(statement.sqliteStatement, SQLITE_STMTSTATUS_FULLSCAN_STEP, 0))
            }
            #expect(newest == 40)
            #expect(fullScanSteps == 0, "the newest id took \(fullScanSteps) steps of a full table scan")
        }
    }

    @Test func idsAreNeverReusedAfterEverythingIsPruned() async throws {
        try await GroupedRequestLogTests.withDatabase { _, store in
            try await store.append((0..<5).map { Self.hit("ppx_b00\($0)", at: Double($0)) })
            #expect(try await store.prune(receivedBefore: .distantFuture, maxRows: nil, batch: 1000) == 5)
            #expect(try await store.rowCount() == 0)
            var miss = Self.hit("ppx_b010", at: 10)
            miss.attempts = [UpstreamAttempt(attempt: 1, personaRequestId: "req_2", status: 200, error: nil, durationMs: 1)]
            try await store.append([miss, Self.hit("ppx_b011", at: 11)])
            #expect(try await store.recent(limit: 10).map(\.id) == [7, 6])
            #expect(try await store.rowCount() == 2)
            // A miss alone is numbered by SQLite, after the ids packed hits took.
            miss.requestId = "ppx_b012"
            try await store.append(miss)
            #expect(try await store.recent(limit: 1).map(\.id) == [8])
        }
    }
}

@Suite struct RequestLogHitBatchTests {
    @Test func aHitIsOneJSONArrayInRequestLogsColumnOrderTimesToTheMicrosecond() throws {
        var batch = RequestLogHitBatch()
        var record = PackedHitsTests.hit("ppx_c002", at: 0.1234564, caller: "a\"b\\c\n")
        record.durationMs = 1.0006
        batch.append(record, id: 7)
        var second = PackedHitsTests.hit("ppx_c001", at: 2.5)
        second.personaRequestId = nil
        second.status = 404
        second.durationMs = 0
        batch.append(second, id: 9)
        #expect(
            batch.text == #"[[7,"ppx_c002",1800000000.123456,"a\"b\\c\u000a","GET","/api/v1/connect/connections/cxn_1","cxn_1","hit",200,"req_fill",1.001,null],"#
                + #"[9,"ppx_c001",1800000002.5,"billing","GET","/api/v1/connect/connections/cxn_1","cxn_1","hit",404,null,0,null]]"#)
        #expect((batch.firstId, batch.lastId, batch.count) == (7, 9, 2))
        #expect((batch.firstRequestId, batch.lastRequestId) == ("ppx_c001", "ppx_c002"))
        #expect((batch.firstReceivedAt, batch.lastReceivedAt) == (1_800_000_000.1234564, 1_800_000_002.5))
    }
}

/// The batch's JSON as a record would be queued and packed (the writer takes the fragment from the
/// queue; this builds it the same way), and its bounds as text.
extension RequestLogHitBatch {
    mutating func append(_ record: RequestLogRecord, id: Int64) {
        var fragment: [UInt8] = []
        HitJSON.appendFragment(of: record, to: &fragment)
        var requestId = record.requestId
        fragment.withUnsafeBytes { fragment in
            requestId.withUTF8 {
                append(fragment: fragment, id: id, requestId: UnsafeRawBufferPointer($0), receivedAt: record.receivedAt.timeIntervalSince1970)
            }
        }
    }

    var text: String { String(decoding: json, as: UTF8.self) }
    var firstRequestId: String { String(decoding: firstRequestIdBytes, as: UTF8.self) }
    var lastRequestId: String { String(decoding: lastRequestIdBytes, as: UTF8.self) }
}
