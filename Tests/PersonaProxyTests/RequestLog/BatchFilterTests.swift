import Foundation
import GRDB
@testable import PersonaProxy
import Testing

/// A commit whose hits name many connections (or Persona request ids) keeps a Bloom filter of
/// them instead of one group row each: every hit must still be found by its value, page by page,
/// and nothing else.
@Suite struct BatchFilterTests {
    static func hit(_ index: Int, connection: Int, at offset: Double = 0) -> RequestLogRecord {
        var record = PackedHitsTests.hit(String(format: "ppx_f%06d", index), at: offset, path: "/api/v1/connect/connections/cxn_\(connection)")
        record.connectionId = "cxn_\(connection)"
        return record
    }

    @Test func everyValuePutInIsFoundAndFewOthersAre() {
        var filter = BatchFilter(capacity: 5000)
        for index in 0..<5000 {
            var value = "cxn_in\(index)"
            value.withUTF8 { filter.insert(UnsafeRawBufferPointer($0), bit: 1) }
        }
        let stored = filter.bytes
        func mayContain(_ value: String, bit: Int = 1) -> Bool {
            var value = value
            return value.withUTF8 { value in stored.withUnsafeBytes { BatchFilter.mayContain(UnsafeRawBufferPointer(value), bit: bit, filter: $0) } }
        }
        #expect((0..<5000).allSatisfy { mayContain("cxn_in\($0)") })
        let falsePositives = (0..<20000).filter { mayContain("cxn_out\($0)") }.count
        #expect(falsePositives < 200, "\(falsePositives) of 20 000 absent ids matched; about 0.3 % expected")
        // A value is held for its kind only.
        let otherKind = (0..<5000).filter { mayContain("cxn_in\($0)", bit: 2) }.count
        #expect(otherKind < 100, "\(otherKind) of 5 000 values matched as another kind")
    }

    @Test func aBatchOfManyConnectionsKeepsAFilterAndEveryHitIsFoundByItsConnection() async throws {
        try await GroupedRequestLogTests.withDatabase { database, store in
            // 100 connections, each hit twice in the first commit and once in the second.
            try await store.append((0..<200).map { Self.hit($0, connection: $0 % 100, at: Double($0) / 1000) })
            try await store.append((200..<300).map { Self.hit($0, connection: $0 % 100, at: 1 + Double($0) / 1000) })
            // A commit with a handful of connections keeps group rows.
            try await store.append((300..<310).map { Self.hit($0, connection: 1000 + $0 % 3, at: 2) })
            let (filters, connectionGroups) = try await database.pool().read { db in
                (
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM request_log_batch_filters") ?? 0,
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM request_log_groups WHERE kind = 'connection'") ?? 0
                )
            }
            #expect(filters == 2)
            #expect(connectionGroups == 3)
            for connection in [0, 42, 99] {
                let found = try await store.query(RequestLogQuery(connectionId: "cxn_\(connection)", limit: 10))
                #expect(found.map(\.requestId) == [200, 100, 0].map { String(format: "ppx_f%06d", $0 + connection) })
                // Page by page with the before-id cursor.
                let second = try await store.query(RequestLogQuery(connectionId: "cxn_\(connection)", beforeId: found[0].id, limit: 1))
                #expect(second.map(\.requestId) == [String(format: "ppx_f%06d", 100 + connection)])
            }
            #expect(try await store.query(RequestLogQuery(connectionId: "cxn_1000", limit: 10)).count == 4)
            #expect(try await store.query(RequestLogQuery(connectionId: "cxn_100", limit: 10)).isEmpty)
            // With another filter and a time bound.
            let both = try await store.query(RequestLogQuery(connectionId: "cxn_7", caller: "billing", since: PackedHitsTests.start.addingTimeInterval(1), limit: 10))
            #expect(both.map(\.requestId) == ["ppx_f000207"])
            let plan = try await store.queryPlan(RequestLogQuery(connectionId: "cxn_7", limit: 10))
            // The filters are walked down their primary key, never scanned whole.
            #expect(plan.contains("SEARCH f USING INTEGER PRIMARY KEY (rowid<?)"), "\(plan)")
            #expect(!plan.contains { $0.hasPrefix("SCAN request_log") && !$0.contains("USING") }, "\(plan)")
        }
    }

    /// Rows of one connection (hits whose caller sent an `X-Request-Id`) on both sides of a packed
    /// hit of the same connection in a filtered batch: its range spans the hit, which the filter
    /// finds too. Each is listed once.
    @Test func aHitFoundThroughAFilterAndARangeIsListedOnce() async throws {
        try await GroupedRequestLogTests.withDatabase { _, store in
            var before = Self.hit(0, connection: 7)
            before.callerRequestId = "mine-1"
            var after = Self.hit(100, connection: 7)
            after.callerRequestId = "mine-2"
            try await store.append([before] + (1..<100).map { Self.hit($0, connection: $0) } + [after])
            let found = try await store.query(RequestLogQuery(connectionId: "cxn_7", limit: 10))
            #expect(found.map(\.requestId) == ["ppx_f000100", "ppx_f000007", "ppx_f000000"])
        }
    }

    /// Each entry filled by its own fetch: a job reading many connections names as many Persona
    /// request ids, and those go into the filter too. A copy of Persona's API-log entry stays
    /// while a filtered hit may name it.
    @Test func manyPersonaRequestIdsAreFilteredFoundAndKeepTheirAPILogCopies() async throws {
        try await GroupedRequestLogTests.withDatabase { database, store in
            func hit(_ index: Int, at offset: Double) -> RequestLogRecord {
                var record = Self.hit(index, connection: index, at: offset)
                record.personaRequestId = "req_fill\(index)"
                return record
            }
            try await store.append((0..<100).map { hit($0, at: 0) })
            try await store.append((100..<200).map { hit($0, at: 10) })
            let (kinds, personaGroups) = try await database.pool().read { db in
                (
                    try Int.fetchAll(db, sql: "SELECT kinds FROM request_log_batch_filters"),
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM request_log_groups WHERE kind = 'persona'") ?? 0
                )
            }
            #expect(kinds == [3, 3])
            #expect(personaGroups == 0)
            #expect(try await store.records(personaRequestId: "req_fill42").map(\.requestId) == ["ppx_f000042"])
            #expect(try await store.records(personaRequestId: "req_fill142").map(\.requestId) == ["ppx_f000142"])
            #expect(try await store.records(personaRequestId: "req_fill200").isEmpty)
            let copies = SQLiteAPILogCopyStore(database: database)
            for id in ["req_fill42", "req_fill142"] {
                try await copies.save(personaRequestId: id, body: Data("{}".utf8), fetchedAt: PackedHitsTests.start)
            }
            #expect(try await store.prune(receivedBefore: PackedHitsTests.start.addingTimeInterval(5), maxRows: nil, batch: 1000) == 100)
            let kept = try await database.pool().read { db in try String.fetchAll(db, sql: "SELECT persona_request_id FROM persona_api_logs") }
            #expect(kept == ["req_fill142"], "the copy whose hits were pruned goes; the one a kept hit names stays")
        }
    }

    @Test func pruningDropsTheFiltersOfDeletedBatches() async throws {
        try await GroupedRequestLogTests.withDatabase { database, store in
            try await store.append((0..<100).map { Self.hit($0, connection: $0, at: 0) })
            try await store.append((100..<200).map { Self.hit($0, connection: $0, at: 10) })
            #expect(try await store.prune(receivedBefore: PackedHitsTests.start.addingTimeInterval(5), maxRows: nil, batch: 1000) == 100)
            let batches = try await database.pool().read { db in
                try Int64.fetchAll(db, sql: "SELECT batch FROM request_log_batch_filters")
            }
            #expect(batches.count == 1)
            #expect(try await store.query(RequestLogQuery(connectionId: "cxn_150", limit: 10)).map(\.requestId) == ["ppx_f000150"])
            #expect(try await store.query(RequestLogQuery(connectionId: "cxn_50", limit: 10)).isEmpty)
        }
    }
}
