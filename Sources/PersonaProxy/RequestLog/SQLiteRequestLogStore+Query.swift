import Foundation
import GRDB
import GRDBSQLite

/// Finding records: one indexed query for the rows the per-column indexes hold, and, when a
/// filter names a grouped column, a walk over that value's id ranges, newest first, for the
/// grouped rows (see `RequestLogGroupKind`). The two are merged by id.
extension SQLiteRequestLogStore {
    public func query(_ query: RequestLogQuery) async throws -> [RequestLogRecord] {
        let slack = commitSlackSeconds
        return try await database.pool().read { db in
            var found: [RequestLogRecord]
            if let group = RequestLogGroupKind.key(for: query) {
                let (indexedSQL, indexedArguments) = Self.sql(for: query, commitSlackSeconds: slack, grouped: false)
                found = try Self.records(db, sql: indexedSQL, arguments: indexedArguments)
                found += try Self.walk(db, group: group, query: query, commitSlackSeconds: slack)
            } else {
                let (sql, bound) = Self.sql(for: query, commitSlackSeconds: slack)
                found = try Self.records(db, sql: sql, arguments: bound)
                found += try Self.packedHits(db, query: query, commitSlackSeconds: slack)
            }
            found.sort { ($0.id ?? 0) > ($1.id ?? 0) }
            // A packed hit can be reached twice: through a filter, and through a range of rows
            // with its connection that spans it (see `GroupRanges.add`).
            var previous: Int64?
            found.removeAll { record in
                defer { previous = record.id }
                return record.id != nil && record.id == previous
            }
            return Array(found.prefix(query.limit))
        }
    }

    /// Grouped rows and packed hits with one value, walking its id ranges newest first.
    private static func walk(
        _ db: Database, group: (kind: RequestLogGroupKind, value: String), query: RequestLogQuery, commitSlackSeconds: Double
    ) throws -> [RequestLogRecord] {
        var grouped: [RequestLogRecord] = []
        // A cursor: a common value has a range in nearly every commit, and only the newest are needed.
        let ranges = try Row.fetchCursor(db, sql: rangesSQL, arguments: [group.kind.rawValue, group.value, query.beforeId ?? Int64.max])
        // The query's other grouped filters, walked alongside: a range none of whose ranges overlaps
        // holds no match, and is skipped without reading it (`caller` and `status` together).
        var others = try RequestLogGroupKind.keys(for: query).filter { $0.kind != group.kind }.map { other in
            OverlapWalk(try Row.fetchCursor(db, sql: rangesSQL, arguments: [other.kind.rawValue, other.value, query.beforeId ?? Int64.max]))
        }
        while grouped.count < query.limit, let range = try ranges.next() {
            let first: Int64 = range["first_id"]
            let last: Int64 = range["last_id"]
            guard try others.indices.allSatisfy({ try others[$0].overlaps(first...last) }) else { continue }
            var page = query
            page.limit = query.limit - grouped.count
            let (sql, bound) = Self.sql(for: page, commitSlackSeconds: commitSlackSeconds, grouped: true, extraArguments: [first, last])
            grouped += try records(db, sql: sql, arguments: bound)
            guard query.callerRequestId == nil else { continue }
            for batch in try Int64.fetchAll(db, sql: batchesInRangeSQL, arguments: [first, last]) {
                // The range's rows and hits interleave by id: each source gives its newest `page.limit`.
                grouped += try hits(db, batch: batch, query: query, within: first...last, limit: page.limit)
            }
        }
        if let bit = BatchFilter.bit(of: group.kind), query.callerRequestId == nil {
            // Only batches that can still place a hit among the `limit` newest matter.
            let ids = grouped.compactMap(\.id).sorted(by: >)
            let oldestNeeded = ids.count >= query.limit ? ids[query.limit - 1] : Int64.min
            grouped += try filteredHits(
                db, value: group.value, bit: bit, query: query, newerThan: oldestNeeded, commitSlackSeconds: commitSlackSeconds)
        }
        return grouped
    }

    /// Packed hits with one value of a filtered kind (`BatchFilter.kinds`) in the batches that
    /// keep it in a filter, newest first: only the batches whose filter may hold it are read.
    private static func filteredHits(
        _ db: Database, value: String, bit: Int, query: RequestLogQuery, newerThan oldestNeeded: Int64, commitSlackSeconds: Double
    ) throws -> [RequestLogRecord] {
        var found: [RequestLogRecord] = []
        // The value as the batch's JSON spells it: a batch whose text lacks it is skipped unread (a
        // filter's false positive costs a substring search, not a decode of thousands of hits).
        var quoted: [UInt8] = []
        HitJSON.string(value, to: &quoted)
        let spelled = String(decoding: quoted, as: UTF8.self)
        // Printable ASCII is spelled alike by every JSON writer: such a value is found by cutting
        // its hits out of the batch's text (`BatchText`) rather than decoding the batch.
        let plain = value.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }
        var value = value
        let filters = try Row.fetchCursor(db.cachedStatement(sql: filtersSQL), arguments: [query.beforeId ?? Int64.max, bit])
        while found.count < query.limit, let row = try filters.next() {
            // Batches come in commit order; received times stray from it by the commit slack at most.
            if let since = query.since, (row["last_received_at"] as Double) < since.timeIntervalSince1970 - commitSlackSeconds { break }
            if (row["last_id"] as Int64) <= oldestNeeded { break }
            if let until = query.until, (row["first_received_at"] as Double) >= until.timeIntervalSince1970 { continue }
            // The filter read where SQLite holds it, not copied.
            let mayHold = try row.withUnsafeData(atIndex: 1) { filter in
                value.withUTF8 { value in
                    filter?.withUnsafeBytes { BatchFilter.mayContain(UnsafeRawBufferPointer(value), bit: bit, filter: $0) } ?? true
                }
            }
            guard mayHold else { continue }
            let batch: Int64 = row["batch"]
            if plain {
                guard let array = try cutOut(db, batch: batch, quoted: quoted) else { continue }
                found += try hits(db, batch: batch, cutOut: array, query: query, limit: query.limit - found.count)
                continue
            }
            guard try Bool.fetchOne(db.cachedStatement(sql: batchSpellsSQL), arguments: [batch, spelled]) == true else { continue }
            found += try hits(db, batch: batch, query: query, limit: query.limit - found.count)
        }
        return found
    }

    /// The hits of a batch whose text holds `quoted`, as one JSON array; nil if none does. The
    /// text is read where SQLite holds it.
    private static func cutOut(_ db: Database, batch: Int64, quoted: [UInt8]) throws -> String? {
        let statement = try db.cachedStatement(sql: "SELECT hits FROM request_log_hit_batches WHERE first_id = ?").sqliteStatement
        defer { sqlite3_reset(statement) }
        sqlite3_bind_int64(statement, 1, batch)
        guard sqlite3_step(statement) == SQLITE_ROW, let start = sqlite3_column_blob(statement, 0) else { return nil }
        let text = UnsafeRawBufferPointer(start: start, count: Int(sqlite3_column_bytes(statement, 0)))
        return quoted.withUnsafeBytes { needle in
            let ranges = BatchText.hits(in: text, containing: needle)
            return ranges.isEmpty ? nil : String(decoding: BatchText.array(of: ranges, in: text), as: UTF8.self)
        }
    }

    static let batchSpellsSQL = "SELECT instr(hits, ?2) > 0 FROM request_log_hit_batches WHERE first_id = ?1"

    static let filtersSQL = """
        SELECT f.batch, f.filter, b.first_received_at, b.last_received_at, b.last_id
        FROM request_log_batch_filters f JOIN request_log_hit_batches b ON b.first_id = f.batch
        WHERE f.batch < ? AND f.kinds & ? ORDER BY f.batch DESC
        """

    /// How SQLite will run a query (`EXPLAIN QUERY PLAN`, one line per step, the walk over one
    /// group range included): every filter must search an index, never scan the table.
    public func queryPlan(_ query: RequestLogQuery) async throws -> [String] {
        let slack = commitSlackSeconds
        return try await database.pool().read { db in
            func plan(_ sql: String, _ arguments: StatementArguments) throws -> [String] {
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: arguments).map { $0["detail"] as String }
            }
            // Packed hits: the batch holding a request id, the batches in an id range, one batch's hits.
            let (hitsSQL, hitsArguments) = Self.hitsSQL(batch: 1, query: query, within: nil, limit: query.limit)
            let packed = try plan(Self.batchByRequestIdSQL, ["ppx_0"]) + plan(Self.batchesInRangeSQL, [1, 2]) + plan(hitsSQL, hitsArguments)
            guard let group = RequestLogGroupKind.key(for: query) else {
                let (sql, bound) = Self.sql(for: query, commitSlackSeconds: slack)
                return try plan(sql, bound) + packed
            }
            let (indexedSQL, indexedArguments) = Self.sql(for: query, commitSlackSeconds: slack, grouped: false)
            let (rangeSQL, rangeArguments) = Self.sql(
                for: query, commitSlackSeconds: slack, grouped: true, extraArguments: [1, 2])
            let filtered = try BatchFilter.bit(of: group.kind).map { try plan(Self.filtersSQL, [Int64.max, $0]) + plan(Self.batchSpellsSQL, [1, "x"]) } ?? []
            return try plan(indexedSQL, indexedArguments)
                + plan(Self.rangesSQL, [group.kind.rawValue, group.value, Int64.max])
                + plan(rangeSQL, rangeArguments) + packed + filtered
        }
    }

    static let rangesSQL = """
        SELECT first_id, last_id FROM request_log_groups WHERE kind = ? AND value = ? AND first_id < ? ORDER BY first_id DESC
        """

    static func records(_ db: Database, sql: String, arguments: StatementArguments) throws -> [RequestLogRecord] {
        // Cached: a walk over a thousand ranges runs the same statement a thousand times.
        try Row.fetchAll(db.cachedStatement(sql: sql), arguments: arguments).map { row in
            let id: Int64 = row["id"]
            // A grouped row made no upstream call: nothing to look up.
            let attempts = (row["grouped"] as Int64? ?? 0) != 0 ? [] : try Row.fetchAll(
                db, sql: "SELECT * FROM upstream_attempts WHERE request_log_id = ? ORDER BY attempt", arguments: [id]
            ).map { attempt in
                UpstreamAttempt(
                    attempt: attempt["attempt"], personaRequestId: attempt["persona_request_id"], status: attempt["status"],
                    error: attempt["error"], durationMs: attempt["duration_ms"], waitedMs: attempt["waited_ms"])
            }
            return RequestLogRecord(
                requestId: row["request_id"], receivedAt: Date(timeIntervalSince1970: row["received_at"]),
                caller: row["caller"], method: row["method"], path: row["path"], connectionId: row["connection_id"],
                cacheOutcome: row["cache_outcome"], status: row["status"], personaRequestId: row["persona_request_id"],
                durationMs: row["duration_ms"], attempts: attempts, id: id, callerRequestId: row["caller_request_id"])
        }
    }

    static func sql(
        for query: RequestLogQuery, commitSlackSeconds: Double, grouped: Bool? = nil, extraArguments: [(any DatabaseValueConvertible)?] = []
    ) -> (String, StatementArguments) {
        // nil: every row; false: the rows the per-column indexes hold; true: grouped rows in one id
        // range (`extraArguments` are its bounds).
        var conditions: [String] = switch grouped {
        case nil: []
        case false?: ["grouped = 0"]
        case true?: ["grouped = 1", "id BETWEEN ? AND ?"]
        }
        var arguments = StatementArguments(extraArguments)
        func add(_ sql: String, _ values: [(any DatabaseValueConvertible)?]) {
            conditions.append(sql)
            arguments += StatementArguments(values)
        }
        if let value = query.requestId { add("request_id = ?", [value]) }
        if let value = query.callerRequestId { add("caller_request_id = ?", [value]) }
        if let value = query.personaRequestId {
            switch grouped {
            // A grouped row made no upstream call: its own column is all there is.
            case true?: add("persona_request_id = ?", [value])
            // Spelled as one id set so that SQLite searches the partial index (it will not for an OR).
            case false?:
                add(
                    """
                    id IN (SELECT id FROM request_log_rows WHERE persona_request_id = ? AND grouped = 0
                           UNION ALL SELECT request_log_id FROM upstream_attempts WHERE persona_request_id = ?)
                    """, [value, value])
            case nil:
                add("(persona_request_id = ? OR id IN (SELECT request_log_id FROM upstream_attempts WHERE persona_request_id = ?))", [value, value])
            }
        }
        if let value = query.connectionId { add("connection_id = ?", [value]) }
        if let value = query.caller { add("caller = ?", [value]) }
        if let value = query.status { add("status = ?", [value]) }
        // The exact time condition, plus an id bound that lets SQLite walk the primary key from the
        // right place instead of scanning every newer (or older) row to find the first match.
        if let value = query.since {
            add("received_at >= ?", [value.timeIntervalSince1970])
            add(
                "id > coalesce((SELECT id FROM request_log_rows WHERE received_at < ? ORDER BY received_at DESC LIMIT 1), 0)",
                [value.timeIntervalSince1970 - commitSlackSeconds])
        }
        if let value = query.until {
            add("received_at < ?", [value.timeIntervalSince1970])
            add(
                "id < coalesce((SELECT id FROM request_log_rows WHERE received_at >= ? ORDER BY received_at LIMIT 1), 9223372036854775807)",
                [value.timeIntervalSince1970 + commitSlackSeconds])
        }
        if let value = query.beforeId { add("id < ?", [value]) }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments += [query.limit]
        return ("SELECT * FROM request_log_rows \(whereClause) ORDER BY id DESC LIMIT ?", arguments)
    }
}

/// One value's ranges, newest first, walked down alongside another value's: ranges of one value
/// never overlap, so each step only moves forward.
private struct OverlapWalk {
    let cursor: RowCursor
    var current: (first: Int64, last: Int64)?
    var finished = false

    init(_ cursor: RowCursor) {
        self.cursor = cursor
    }

    /// Whether one of the ranges overlaps `range`; the ranges asked about come newest first.
    mutating func overlaps(_ range: ClosedRange<Int64>) throws -> Bool {
        while true {
            if current == nil {
                guard !finished, let row = try cursor.next() else {
                    finished = true
                    return false
                }
                current = (row["first_id"], row["last_id"])
            }
            guard let candidate = current else { return false }
            // Entirely newer than `range`: no later (older) range can overlap it either.
            if candidate.first > range.upperBound {
                current = nil
                continue
            }
            return candidate.last >= range.lowerBound
        }
    }
}
