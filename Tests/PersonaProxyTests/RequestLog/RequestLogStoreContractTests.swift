import Foundation
import PersonaProxy
import Testing

/// One contract for both request-log stores: the SQL and the in-memory filter must agree.
@Suite struct RequestLogStoreContractTests {
    enum Kind: String, CaseIterable, CustomTestStringConvertible {
        case memory, sqlite
        var testDescription: String { rawValue }
    }

    static func withStore(_ kind: Kind, _ body: (any RequestLogStore) async throws -> Void) async throws {
        switch kind {
        case .memory: try await body(MemoryRequestLogStore())
        case .sqlite:
            let directory = TemporaryDirectory()
            let database = RequestLogSchema.database(path: directory.path + "/requests.sqlite", legacyCachePath: nil)
            try database.open()
            defer { database.close() }
            try await body(SQLiteRequestLogStore(database: database))
        }
    }

    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// Ten requests, one a second: callers alternate, every third is a 404, each miss has one attempt.
    static func seed(_ store: any RequestLogStore) async throws {
        for index in 0..<10 {
            let hit = index % 2 == 1
            try await store.append(
                RequestLogRecord(
                    requestId: "r\(index)", receivedAt: start.addingTimeInterval(Double(index)), caller: index % 2 == 0 ? "billing" : "orders",
                    method: "GET", path: "/api/v1/connect/connections/cxn_\(index % 3)", connectionId: "cxn_\(index % 3)",
                    cacheOutcome: hit ? "hit" : "miss", status: index % 3 == 0 ? 404 : 200, personaRequestId: "req_\(index)",
                    durationMs: 1.5, attempts: hit ? [] : [UpstreamAttempt(attempt: 1, personaRequestId: "req_\(index)", status: 200, error: nil, durationMs: 1)]))
        }
    }

    @Test(arguments: Kind.allCases)
    func everyFilter(kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            try await Self.seed(store)
            func ids(_ query: RequestLogQuery) async throws -> [String] { try await store.query(query).map(\.requestId) }
            #expect(try await ids(RequestLogQuery(limit: 3)) == ["r9", "r8", "r7"])
            #expect(try await ids(RequestLogQuery(requestId: "r4")) == ["r4"])
            #expect(try await ids(RequestLogQuery(personaRequestId: "req_6")) == ["r6"])
            #expect(try await ids(RequestLogQuery(connectionId: "cxn_1")) == ["r7", "r4", "r1"])
            #expect(try await ids(RequestLogQuery(caller: "orders", limit: 2)) == ["r9", "r7"])
            #expect(try await ids(RequestLogQuery(status: 404)) == ["r9", "r6", "r3", "r0"])
            #expect(try await ids(RequestLogQuery(since: Self.start.addingTimeInterval(7))) == ["r9", "r8", "r7"])
            #expect(try await ids(RequestLogQuery(until: Self.start.addingTimeInterval(2))) == ["r1", "r0"])
            #expect(try await ids(RequestLogQuery(connectionId: "cxn_0", caller: "billing", status: 404)) == ["r6", "r0"])
        }
    }

    @Test(arguments: Kind.allCases)
    func pagesWithTheBeforeCursorWithoutGapsOrDuplicates(kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            try await Self.seed(store)
            var seen: [String] = []
            var cursor: Int64?
            repeat {
                let page = try await store.query(RequestLogQuery(beforeId: cursor, limit: 4))
                seen += page.map(\.requestId)
                cursor = page.count == 4 ? page.last?.id : nil
            } while cursor != nil
            #expect(seen == (0..<10).reversed().map { "r\($0)" })
        }
    }

    @Test(arguments: Kind.allCases)
    func attemptsComeBackWithTheirRecord(kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            try await store.append(
                RequestLogRecord(
                    requestId: "retried", receivedAt: Self.start, caller: "x", method: "GET", path: "/p", connectionId: "cxn_1",
                    cacheOutcome: "miss", status: 200, personaRequestId: "req_b", durationMs: 2100,
                    attempts: [
                        UpstreamAttempt(attempt: 1, personaRequestId: "req_a", status: 429, error: nil, durationMs: 5, waitedMs: 0),
                        UpstreamAttempt(attempt: 2, personaRequestId: "req_b", status: 200, error: nil, durationMs: 6, waitedMs: 2000),
                    ]))
            let found = try await store.records(personaRequestId: "req_a")
            #expect(found.map(\.requestId) == ["retried"])
            #expect(found.first?.attempts.map(\.status) == [429, 200])
            #expect(found.first?.attempts.last?.waitedMs == 2000)
        }
    }

    /// Three commits of 20 rows each, as the batched writer makes them: hits from two callers over
    /// three connections, with a miss (a row that made an upstream call) every fifth row.
    static func batches() -> [[RequestLogRecord]] {
        (0..<3).map { batch in
            (0..<20).map { index in
                let n = batch * 20 + index
                let miss = n % 5 == 0
                return RequestLogRecord(
                    requestId: n < 10 ? "b0\(n)" : "b\(n)", receivedAt: start.addingTimeInterval(Double(n)), caller: n % 2 == 0 ? "billing" : "orders",
                    method: "GET", path: "/api/v1/connect/connections/cxn_\(n % 3)", connectionId: "cxn_\(n % 3)",
                    cacheOutcome: miss ? "miss" : "hit", status: n % 7 == 0 ? 404 : 200, personaRequestId: "req_\(n / 10)",
                    durationMs: 0.1,
                    attempts: miss ? [UpstreamAttempt(attempt: 1, personaRequestId: "req_\(n / 10)", status: 200, error: nil, durationMs: 1)] : [])
            }
        }
    }

    @Test(arguments: Kind.allCases)
    func rowsCommittedTogetherAreFoundByEveryFilterPageByPage(kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            let all = Self.batches()
            for batch in all { try await store.append(batch) }
            let queries = [
                RequestLogQuery(caller: "orders", limit: 7), RequestLogQuery(connectionId: "cxn_1", limit: 4),
                RequestLogQuery(status: 404, limit: 3), RequestLogQuery(personaRequestId: "req_3", limit: 4),
                RequestLogQuery(connectionId: "cxn_2", caller: "billing", limit: 5),
                RequestLogQuery(caller: "billing", since: Self.start.addingTimeInterval(25), until: Self.start.addingTimeInterval(47), limit: 3),
            ]
            for query in queries {
                // Newest first, as committed: the records the filter matches, paged without gaps.
                let expected = all.joined().filter { query.matches($0) }.map(\.requestId).reversed()
                var seen: [String] = []
                var page = query
                while true {
                    let records = try await store.query(page)
                    #expect(records.count <= query.limit)
                    seen += records.map(\.requestId)
                    guard records.count == query.limit, let last = records.last?.id else { break }
                    page.beforeId = last
                }
                #expect(seen == Array(expected), "\(query)")
            }
        }
    }

    @Test(arguments: Kind.allCases)
    func pruneAppliesRetentionThenMaxRowsOldestFirst(kind: Kind) async throws {
        try await Self.withStore(kind) { store in
            try await Self.seed(store)
            #expect(try await store.rowCount() == 10)
            // Older than t+3 goes (r0…r2), then only the newest 5 may stay.
            let removed = try await store.prune(receivedBefore: Self.start.addingTimeInterval(3), maxRows: 5, batch: 2)
            #expect(removed == 5)
            #expect(try await store.rowCount() == 5)
            #expect(try await store.recent(limit: 10).map(\.requestId) == ["r9", "r8", "r7", "r6", "r5"])
            #expect(try await store.records(personaRequestId: "req_2").isEmpty, "attempts went with their request")
        }
    }
}

@Suite struct RequestLogJanitorTests {
    @Test func prunesByAgeFromTheInjectedClock() async throws {
        let store = MemoryRequestLogStore()
        try await RequestLogStoreContractTests.seed(store)
        let clock = ManualWallClock(RequestLogStoreContractTests.start.addingTimeInterval(86_400 + 5))
        let janitor = RequestLogJanitor(store: store, clock: clock, retention: { (days: 1, maxRows: nil) }, logger: .init(label: "t"))
        #expect(try await janitor.pruneOnce() == 5)
        clock.advance(by: 10)
        #expect(try await janitor.pruneOnce() == 5)
        #expect(store.rowCount() == 0)
    }
}

/// Both stores of Persona API-log copies keep the same promise: a copy comes back only while it
/// is recent enough, and saving again replaces it.
@Suite struct APILogCopyStoreContractTests {
    @Test(arguments: RequestLogStoreContractTests.Kind.allCases)
    func aCopyComesBackOnlyWhileRecentEnough(kind: RequestLogStoreContractTests.Kind) async throws {
        let directory = TemporaryDirectory()
        let database = RequestLogSchema.database(path: directory.path + "/requests.sqlite", legacyCachePath: nil)
        try database.open()
        defer { database.close() }
        let store: any APILogCopyStore = kind == .memory ? MemoryAPILogCopyStore() : SQLiteAPILogCopyStore(database: database)
        let t = { (seconds: Double) in Date(timeIntervalSince1970: seconds) }
        try await store.save(personaRequestId: "req_1", body: Data("old".utf8), fetchedAt: t(1_000))
        #expect(try await store.copy(personaRequestId: "req_1", fetchedSince: t(900)) == Data("old".utf8))
        #expect(try await store.copy(personaRequestId: "req_1", fetchedSince: t(1_001)) == nil, "too old")
        #expect(try await store.copy(personaRequestId: "req_2", fetchedSince: t(0)) == nil)
        try await store.save(personaRequestId: "req_1", body: Data("new".utf8), fetchedAt: t(2_000))
        #expect(try await store.copy(personaRequestId: "req_1", fetchedSince: t(1_500)) == Data("new".utf8))
    }
}

/// At 10 M rows a filter that scans the table takes seconds: every filter must search an index.
@Suite struct RequestLogQueryPlanTests {
    static let filters: [(String, RequestLogQuery)] = [
        ("request_id", RequestLogQuery(requestId: "r1")),
        ("persona_request_id", RequestLogQuery(personaRequestId: "req_1")),
        ("connection_id", RequestLogQuery(connectionId: "cxn_1")),
        ("caller", RequestLogQuery(caller: "billing")),
        ("status", RequestLogQuery(status: 404)),
        ("since", RequestLogQuery(since: Date(timeIntervalSince1970: 1_800_000_000))),
        ("until", RequestLogQuery(until: Date(timeIntervalSince1970: 1_800_000_000))),
        ("before", RequestLogQuery(beforeId: 1000)),
        ("caller and since", RequestLogQuery(caller: "billing", since: Date(timeIntervalSince1970: 1_800_000_000))),
    ]

    @Test(arguments: filters.map(\.0))
    func everyFilterSearchesAnIndex(name: String) async throws {
        let query = try #require(Self.filters.first { $0.0 == name }?.1)
        let directory = TemporaryDirectory()
        let database = RequestLogSchema.database(path: directory.path + "/requests.sqlite", legacyCachePath: nil)
        try database.open()
        defer { database.close() }
        let plan = try await SQLiteRequestLogStore(database: database).queryPlan(query)
        #expect(!plan.contains { $0.hasPrefix("SCAN request_log") && !$0.contains("USING") }, "\(name) scans the table: \(plan)")
    }
}
