import Foundation
import GRDB
import GRDBSQLite

/// Packed hits (`request_log_hit_batches`, see `RequestLogHitBatch`): which records of a commit
/// are packed, how a batch takes its ids, and how queries find packed hits again.
extension SQLiteRequestLogStore {
    /// For each queued record, whether it is packed: those that carry packed JSON, unless their
    /// request id falls in an earlier batch's interval.
    ///
    /// A batch's request ids must not overlap another batch's interval, or a request id could no
    /// longer name one batch. Ids grow, so this only excludes the odd request whose id was taken
    /// before the last batch's newest one (answered late); such a record becomes a row. Request ids
    /// compare as bytes, as SQLite compares the intervals' text.
    static func packable(_ entries: [RecordBytes.Entry], bytes: UnsafeRawBufferPointer, db: Database) throws -> [Bool] {
        var packs = entries.map { $0.fragment != nil }
        func requestId(_ entry: RecordBytes.Entry) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[entry.requestId]) }
        func compare(_ left: UnsafeRawBufferPointer, _ right: String) -> Int {
            var right = right
            return right.withUTF8 { RequestLogHitBatch.compare(left, UnsafeRawBufferPointer($0)) }
        }
        for _ in 0..<4 {
            var low: UnsafeRawBufferPointer?
            var high: UnsafeRawBufferPointer?
            for (index, (entry, packed)) in zip(entries, packs).enumerated() where packed {
                if index & 511 == 511 { CPUPacer.point() }
                let id = requestId(entry)
                if low.map({ RequestLogHitBatch.compare(id, $0) < 0 }) ?? true { low = id }
                if high.map({ RequestLogHitBatch.compare(id, $0) > 0 }) ?? true { high = id }
            }
            guard let low, let high else { return packs }
            // Intervals are disjoint, so the one with the greatest start at or below `high` is the
            // only one that can reach into [low, high].
            guard
                let neighbour = try Row.fetchOne(db, sql: batchByRequestIdSQL, arguments: [String(decoding: high, as: UTF8.self)]),
                let neighbourLast = neighbour["last_request_id"] as String?,
                compare(low, neighbour["first_request_id"] as String) <= 0 || compare(low, neighbourLast) <= 0
            else { return packs }
            for index in entries.indices where packs[index] && compare(requestId(entries[index]), neighbourLast) <= 0 { packs[index] = false }
        }
        return entries.map { _ in false }
    }

    /// Which kinds of the packed hits' values go into a `BatchFilter` (its bits: those with more
    /// than `BatchFilter.groupedUpTo` distinct values), and the filter sized for them; (0, nil):
    /// every value gets group rows.
    static func batchFilter(_ entries: [RecordBytes.Entry], packs: [Bool], bytes: UnsafeRawBufferPointer) -> (Int, BatchFilter?) {
        var distinct = (connection: Set<Int64>(), persona: Set<Int64>())
        var named = (connection: 0, persona: 0)
        func hash(_ range: Range<Int>) -> Int64 { CacheKey.fnv1a(UnsafeRawBufferPointer(rebasing: bytes[range]).bindMemory(to: UInt8.self)) }
        // Consecutive hits mostly repeat a value (a hot connection, the fill that made its bytes):
        // the previous value's bytes are compared before hashing and inserting it again.
        func same(_ range: Range<Int>, as previous: Range<Int>?) -> Bool {
            guard let previous, previous.count == range.count else { return false }
            return memcmp(bytes.baseAddress! + range.lowerBound, bytes.baseAddress! + previous.lowerBound, range.count) == 0
        }
        var previous: (connection: Range<Int>?, persona: Range<Int>?) = (nil, nil)
        for (index, (entry, packed)) in zip(entries, packs).enumerated() where packed {
            if index & 255 == 255 { CPUPacer.point() }
            if let connectionId = entry.connectionId {
                named.connection += 1
                if distinct.connection.count <= BatchFilter.groupedUpTo, !same(connectionId, as: previous.connection) {
                    distinct.connection.insert(hash(connectionId))
                    previous.connection = connectionId
                }
            }
            if let personaRequestId = entry.personaRequestId {
                named.persona += 1
                if distinct.persona.count <= BatchFilter.groupedUpTo, !same(personaRequestId, as: previous.persona) {
                    distinct.persona.insert(hash(personaRequestId))
                    previous.persona = personaRequestId
                }
            }
        }
        var bits = 0
        var capacity = 0
        if distinct.connection.count > BatchFilter.groupedUpTo {
            bits |= 1
            capacity += named.connection
        }
        if distinct.persona.count > BatchFilter.groupedUpTo {
            bits |= 2
            capacity += named.persona
        }
        return (bits, bits == 0 ? nil : BatchFilter(capacity: capacity))
    }

    /// `persona_proxy_filter_may_hold(filter, kind bit, value)`: `BatchFilter.mayContain` for SQL
    /// (pruning keeps a copy of Persona's API-log entry while a filtered hit may name it).
    static let filterMayHold = DatabaseFunction("persona_proxy_filter_may_hold", argumentCount: 3, pure: true) { values in
        guard let filter = Data.fromDatabaseValue(values[0]), let bit = Int.fromDatabaseValue(values[1]),
            var value = String.fromDatabaseValue(values[2])
        else { return true }
        return value.withUTF8 { value in
            filter.withUnsafeBytes { BatchFilter.mayContain(UnsafeRawBufferPointer(value), bit: bit, filter: $0) }
        }
    }

    /// The id the next record takes: after every row and packed hit, deleted ones included.
    static func nextId(_ db: Database) throws -> Int64 {
        let sequence = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'request_log_rows'") ?? 0
        return max(sequence, try Int64.fetchOne(db, sql: newestIdSQL) ?? 0) + 1
    }

    /// Records the last id handed out, so that rows inserted later never reuse a packed hit's.
    static func advanceSequence(to lastId: Int64, db: Database) throws {
        try db.execute(sql: "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'request_log_rows'", arguments: [lastId])
        if db.changesCount == 0 {
            try db.execute(sql: "INSERT INTO sqlite_sequence (name, seq) VALUES ('request_log_rows', ?)", arguments: [lastId])
        }
    }

    static func insert(_ batch: RequestLogHitBatch, db: Database) throws {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO request_log_hit_batches (first_id, last_id, first_request_id, last_request_id, first_received_at, last_received_at, count, hits)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
        let sqlite = statement.sqliteStatement
        sqlite3_reset(sqlite)
        sqlite3_bind_int64(sqlite, 1, batch.firstId)
        sqlite3_bind_int64(sqlite, 2, batch.lastId)
        batch.firstRequestIdBytes.withUnsafeBytes { bind(sqlite, 3, $0) }
        batch.lastRequestIdBytes.withUnsafeBytes { bind(sqlite, 4, $0) }
        sqlite3_bind_double(sqlite, 5, batch.firstReceivedAt)
        sqlite3_bind_double(sqlite, 6, batch.lastReceivedAt)
        sqlite3_bind_int64(sqlite, 7, Int64(batch.count))
        defer {
            sqlite3_reset(sqlite)
            sqlite3_clear_bindings(sqlite)
        }
        // The JSON is bound where it is (SQLite reads it during the step), not copied into a
        // string and again by SQLite: a second's hits are megabytes.
        try batch.json.withUnsafeBytes { json in
            _ = sqlite3_bind_text(sqlite, 8, json.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(json.count), nil)
            let code = sqlite3_step(sqlite)
            guard code == SQLITE_DONE else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
            }
        }
    }

    /// The packed hits of one batch that match `query`, newest first, within `range` of ids if
    /// given: at most `limit` of them when every condition is exact in SQL (no time bounds).
    ///
    /// The batch is walked once with only the filtered columns read from each hit; the page's hits
    /// are then decoded whole (`hitColumns`). Selecting from `request_log_hits` with `ORDER BY`
    /// made SQLite extract every column of every hit for its sort: 20 ms for a 2 048-hit batch
    /// against 5 ms this way.
    static func hits(
        _ db: Database, batch: Int64, query: RequestLogQuery, within range: ClosedRange<Int64>? = nil, limit: Int? = nil
    ) throws -> [RequestLogRecord] {
        let (sql, arguments) = hitsSQL(batch: batch, query: query, within: range, limit: limit)
        return try records(db, sql: sql, arguments: arguments).filter(query.matches)
    }

    /// The same, from hits already cut out of batch `batch`'s text (`BatchText`), as one JSON array.
    static func hits(_ db: Database, batch: Int64, cutOut array: String, query: RequestLogQuery, limit: Int?) throws -> [RequestLogRecord] {
        let (sql, arguments) = hitsSQL(batch: batch, query: query, within: nil, limit: limit, cutOut: array)
        return try records(db, sql: sql, arguments: arguments).filter(query.matches)
    }

    static func hitsSQL(
        batch: Int64, query: RequestLogQuery, within range: ClosedRange<Int64>?, limit: Int?, cutOut array: String? = nil
    ) -> (String, StatementArguments) {
        var conditions: [String] = []
        var arguments: StatementArguments
        var page: String
        if let array {
            page = "SELECT ? AS batch, j.key, j.value FROM json_each(?) j WHERE 1"
            arguments = [batch, array]
        } else {
            page = "SELECT b.first_id AS batch, j.key, j.value FROM request_log_hit_batches b, json_each(b.hits) j WHERE b.first_id = ?"
            arguments = [batch]
        }
        // Positions in a hit's array: `request_log`'s column order (`RequestLogHitBatch`).
        func add(_ position: Int, _ value: (any DatabaseValueConvertible)?) {
            guard let value else { return }
            conditions.append("j.value->>\(position) = ?")
            arguments += [value]
        }
        add(1, query.requestId)
        add(6, query.connectionId)
        add(3, query.caller)
        add(8, query.status)
        add(9, query.personaRequestId)
        if let range {
            conditions.append("j.value->>0 BETWEEN ? AND ?")
            arguments += [range.lowerBound, range.upperBound]
        }
        if let beforeId = query.beforeId {
            conditions.append("j.value->>0 < ?")
            arguments += [beforeId]
        }
        // A batch holds its hits in id order, so its array index orders them as their ids do.
        page += conditions.map { " AND " + $0 }.joined() + " ORDER BY j.key DESC"
        // Times are compared in Swift (`matches`), which SQL's doubles could differ from at a bound:
        // with either, every match is read so that none newer is cut before that check.
        if let limit, query.since == nil, query.until == nil {
            page += " LIMIT ?"
            arguments += [max(0, limit)]
        }
        return ("SELECT \(hitColumns) FROM (\(page)) AS hit ORDER BY hit.key DESC", arguments)
    }

    /// `request_log_hits`' columns, from a hit's array `hit.value` and its batch `hit.batch`.
    static let hitColumns = """
        hit.value->>0 AS id, hit.value->>1 AS request_id, hit.value->>2 AS received_at, hit.value->>3 AS caller,
        hit.value->>4 AS method, hit.value->>5 AS path, hit.value->>6 AS connection_id, hit.value->>7 AS cache_outcome,
        hit.value->>8 AS status, hit.value->>9 AS persona_request_id, hit.value->>10 AS duration_ms,
        hit.value->>11 AS caller_request_id, 1 AS grouped, hit.batch AS batch
        """

    /// The one batch whose request-id interval may hold a request id (intervals never overlap).
    static let batchByRequestIdSQL = """
        SELECT first_id, first_request_id, last_request_id FROM request_log_hit_batches
        WHERE first_request_id <= ? ORDER BY first_request_id DESC LIMIT 1
        """

    /// The batches holding ids in `first...last`, newest first.
    static let batchesInRangeSQL = """
        SELECT first_id FROM request_log_hit_batches
        WHERE first_id BETWEEN coalesce((SELECT max(first_id) FROM request_log_hit_batches WHERE first_id <= ?1), ?1) AND ?2
        ORDER BY first_id DESC
        """

    /// Packed hits for a query with no group to walk: by request id, or newest batches first.
    static func packedHits(_ db: Database, query: RequestLogQuery, commitSlackSeconds: Double) throws -> [RequestLogRecord] {
        // Packed hits never carry a caller request id.
        guard query.callerRequestId == nil else { return [] }
        if let requestId = query.requestId {
            guard
                let batch = try Row.fetchOne(db, sql: batchByRequestIdSQL, arguments: [requestId]),
                (batch["last_request_id"] as String) >= requestId
            else { return [] }
            return try hits(db, batch: batch["first_id"], query: query)
        }
        var found: [RequestLogRecord] = []
        var newest = query.beforeId ?? Int64.max
        if let until = query.until {
            // Start at the first batch begun past `until` (with the slack): none newer can match.
            let bound = try Int64.fetchOne(
                db, sql: "SELECT first_id FROM request_log_hit_batches WHERE first_received_at >= ? ORDER BY first_received_at LIMIT 1",
                arguments: [until.timeIntervalSince1970 + commitSlackSeconds])
            if let bound { newest = min(newest, bound + 1) }
        }
        let batches = try Row.fetchCursor(
            db, sql: "SELECT first_id, first_received_at, last_received_at FROM request_log_hit_batches WHERE first_id < ? ORDER BY first_id DESC",
            arguments: [newest])
        while found.count < query.limit, let batch = try batches.next() {
            // Batches come in commit order; received times stray from it by the commit slack at most.
            if let since = query.since, (batch["last_received_at"] as Double) < since.timeIntervalSince1970 - commitSlackSeconds { break }
            if let until = query.until, (batch["first_received_at"] as Double) >= until.timeIntervalSince1970 { continue }
            found += try hits(db, batch: batch["first_id"], query: query, limit: query.limit - found.count)
        }
        return found
    }
}
