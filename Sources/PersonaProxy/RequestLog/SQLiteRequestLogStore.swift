public import Foundation
import GRDB
import GRDBSQLite

/// The durable request log: `request_log` plus one `upstream_attempts` row per call to Persona,
/// written in one transaction that has committed when `append` returns.
public struct SQLiteRequestLogStore: RequestLogStore {
    let database: SQLiteDatabase
    /// The longest a request can take from being received to its row being committed (its wait for
    /// budget, its upstream attempts, the hit batch interval), with room. Rows are numbered in
    /// commit order, so beyond this a row received later always has a larger id; time filters use
    /// it to turn `since`/`until` into id bounds found in the `received_at` index.
    let commitSlackSeconds: Double

    public init(database: SQLiteDatabase, commitSlackSeconds: Double = 3600) {
        self.database = database
        self.commitSlackSeconds = commitSlackSeconds
    }

    public func append(_ records: [RequestLogRecord]) async throws {
        try await appendQueued(RecordBytes(records))
    }

    public func appendBlocking(_ records: [RequestLogRecord]) throws {
        try appendQueuedBlocking(RecordBytes(records))
    }

    func appendQueued(_ queue: RecordBytes) async throws {
        guard !queue.isEmpty else { return }
        try await database.write { db in try Self.insert(queue, db: db) }
    }

    /// The same on the calling thread, which may pause within it (`CPUPacer`): the hit writer's
    /// threads. After the commit, and a pause, the commit's pages are copied into the database
    /// file (a passive checkpoint), rather than inside a later commit that crosses
    /// `wal_autocheckpoint`: the two are then separate stretches of CPU, neither long. A failed
    /// checkpoint loses nothing (the pages stay in the WAL for the next one).
    func appendQueuedBlocking(_ queue: RecordBytes) throws {
        guard !queue.isEmpty else { return }
        try database.writeBlocking { db in try Self.insert(queue, db: db) }
        CPUPacer.point()
        try? database.checkpointBlocking()
    }

    /// Writes the queued records in order, at most `RequestLogHitBatch.maxRecords` at a time: their
    /// hits with packed JSON into one batch row (`RequestLogHitBatch`), the rest as rows, and the
    /// group ranges of both. A query that needs one hit of a batch decodes the whole batch, so a
    /// commit of 9 000 hits (100 ms at 90 000 hits/s) is stored as several batches, not one.
    private static func insert(_ queue: RecordBytes, db: Database) throws {
        let entries = queue.entries()
        var start = 0
        while start < entries.count {
            let end = min(entries.count, start + RequestLogHitBatch.maxRecords)
            // In commit order: each part's ids follow the last's, and its request-id interval is
            // checked against the batch just written, as against any earlier one (`packable`).
            try insert(queue, entries: Array(entries[start..<end]), db: db)
            start = end
            CPUPacer.point()
        }
    }

    private static func insert(_ queue: RecordBytes, entries: [RecordBytes.Entry], db: Database) throws {
        // Prepared once per connection: a batch of hit rows is one parse, not one per row.
        let insertRequest = try db.cachedStatement(
            sql: """
                INSERT INTO request_log_rows (id, request_id, received_at, caller, method, path, connection_id, cache_outcome,
                    status, persona_request_id, duration_ms, caller_request_id, grouped)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        let insertAttempt = try db.cachedStatement(
            sql: """
                INSERT INTO upstream_attempts (request_log_id, attempt, persona_request_id, status, error, duration_ms, waited_ms)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
        // Bound straight through SQLite's C API: no argument array per row. At tens of
        // thousands of hits a second this writer competes with the event loop for the CPU.
        let request = insertRequest.sqliteStatement
        var groups = GroupRanges()
        try queue.bytes.withUnsafeBytes { bytes in
            func slice(_ range: Range<Int>) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[range]) }
            // One id per record, in order; hits are packed into one batch row, the rest are rows.
            let packs = try Self.packable(entries, bytes: bytes, db: db)
            // Ids handed out here only when hits are packed; a commit of rows alone (a miss) lets
            // AUTOINCREMENT number them, which also respects the ids packed hits took.
            let packing = packs.contains(true)
            let firstId = packing ? try Self.nextId(db) : 0
            var batch = RequestLogHitBatch(reservingCapacity: entries.count)
            var (filtered, filter) = Self.batchFilter(entries, packs: packs, bytes: bytes)
            for (offset, entry) in entries.enumerated() {
                // A part is ~2 ms of work on a busy 2-core machine: pauses keep each stretch short.
                if offset & 255 == 255 { CPUPacer.point() }
                var rowId = firstId + Int64(offset)
                if packs[offset], let fragment = entry.fragment {
                    batch.append(fragment: slice(fragment), id: rowId, requestId: slice(entry.requestId), receivedAt: entry.receivedAt)
                    if filtered & 1 != 0, let connectionId = entry.connectionId { filter?.insert(slice(connectionId), bit: 1) }
                    if filtered & 2 != 0, let personaRequestId = entry.personaRequestId { filter?.insert(slice(personaRequestId), bit: 2) }
                    groups.add(
                        personaRequestId: entry.personaRequestId.map(slice), connectionId: entry.connectionId.map(slice), caller: slice(entry.caller),
                        status: entry.status, id: rowId, filtered: filtered)
                    continue
                }
                let record = queue.record(at: entry)
                let grouped = RequestLogGroupKind.isGrouped(record)
                sqlite3_reset(request)
                if packing { sqlite3_bind_int64(request, 1, rowId) } else { sqlite3_bind_null(request, 1) }
                Self.bind(request, 2, record.requestId)
                sqlite3_bind_double(request, 3, record.receivedAt.timeIntervalSince1970)
                Self.bind(request, 4, record.caller)
                Self.bind(request, 5, record.method)
                Self.bind(request, 6, record.path)
                Self.bind(request, 7, record.connectionId)
                Self.bind(request, 8, record.cacheOutcome)
                sqlite3_bind_int64(request, 9, Int64(record.status))
                Self.bind(request, 10, record.personaRequestId)
                sqlite3_bind_double(request, 11, record.durationMs)
                Self.bind(request, 12, record.callerRequestId)
                sqlite3_bind_int64(request, 13, grouped ? 1 : 0)
                let code = sqlite3_step(request)
                guard code == SQLITE_DONE else {
                    throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
                }
                if !packing { rowId = db.lastInsertedRowID }
                if grouped {
                    groups.add(
                        personaRequestId: entry.personaRequestId.map(slice), connectionId: entry.connectionId.map(slice), caller: slice(entry.caller),
                        status: entry.status, id: rowId)
                }
                for attempt in record.attempts {
                    try insertAttempt.execute(arguments: [
                        rowId, attempt.attempt, attempt.personaRequestId, attempt.status, attempt.error, attempt.durationMs, attempt.waitedMs,
                    ])
                }
            }
            if batch.count > 0 {
                CPUPacer.point()
                try Self.insert(batch, db: db)
                CPUPacer.point()
                if let filter {
                    try db.execute(
                        sql: "INSERT INTO request_log_batch_filters (batch, kinds, filter) VALUES (?, ?, ?)",
                        arguments: [batch.firstId, filtered, Data(filter.bytes)])
                }
            }
            if packing { try Self.advanceSequence(to: firstId + Int64(entries.count) - 1, db: db) }
        }
        sqlite3_reset(request)
        sqlite3_clear_bindings(request)
        try groups.insert(into: db)
    }

    /// Text SQLite copies (`SQLITE_TRANSIENT`).
    static func bind(_ statement: SQLiteStatement, _ index: Int32, _ bytes: UnsafeRawBufferPointer) {
        // An empty buffer may have no address, which SQLite would bind as NULL.
        if let base = bytes.baseAddress, !bytes.isEmpty {
            _ = sqlite3_bind_text(statement, index, base.assumingMemoryBound(to: CChar.self), Int32(bytes.count), transient)
        } else {
            _ = sqlite3_bind_text(statement, index, "", 0, transient)
        }
    }

    /// SQLite copies the bytes (`SQLITE_TRANSIENT`); nil binds NULL.
    private static func bind(_ statement: SQLiteStatement, _ index: Int32, _ value: String?) {
        guard var text = value else {
            sqlite3_bind_null(statement, index)
            return
        }
        text.withUTF8 { bytes in
            // An empty buffer may have no address, which SQLite would bind as NULL.
            if let base = bytes.baseAddress {
                _ = sqlite3_bind_text(statement, index, base, Int32(bytes.count), transient)
            } else {
                _ = sqlite3_bind_text(statement, index, "", 0, transient)
            }
        }
    }

    /// `SQLITE_TRANSIENT`, which the C headers define as a cast Swift does not import.
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    public func prune(receivedBefore cutoff: Date, maxRows: Int?, batch: Int) async throws -> Int {
        var total = 0
        while true {
            let removed = try await database.write { db -> Int in
                // Oldest first, by id: rows and batches are appended in time order.
                let cutoffSeconds = cutoff.timeIntervalSince1970
                var limitId = max(
                    try Int64.fetchOne(
                        db, sql: "SELECT id FROM request_log_rows WHERE received_at < ? ORDER BY id DESC LIMIT 1", arguments: [cutoffSeconds]) ?? 0,
                    try Int64.fetchOne(
                        db, sql: "SELECT last_id FROM request_log_hit_batches WHERE last_received_at < ? ORDER BY last_received_at DESC LIMIT 1",
                        arguments: [cutoffSeconds]) ?? 0)
                if let maxRows, let newest = try Int64.fetchOne(db, sql: Self.newestIdSQL) {
                    limitId = max(limitId, newest - Int64(maxRows))
                }
                // A batch goes whole: the cut moves back to the start of the one it falls in, so that
                // ids stay contiguous (no row newer than a kept hit is deleted).
                if let start = try Int64.fetchOne(
                    db, sql: "SELECT first_id FROM request_log_hit_batches WHERE first_id <= ? AND last_id > ? ORDER BY first_id DESC LIMIT 1",
                    arguments: [limitId, limitId])
                {
                    limitId = start - 1
                }
                guard limitId > 0 else { return 0 }
                try db.execute(
                    sql: "DELETE FROM request_log_rows WHERE id IN (SELECT id FROM request_log_rows WHERE id <= ? ORDER BY id LIMIT ?)",
                    arguments: [limitId, batch])
                var removed = db.changesCount
                let doomed = "SELECT first_id FROM request_log_hit_batches WHERE last_id <= ? ORDER BY first_id LIMIT ?"
                let doomedArguments: StatementArguments = [limitId, max(1, batch / 100)]
                removed += try Int.fetchOne(
                    db, sql: "SELECT coalesce(sum(count), 0) FROM request_log_hit_batches WHERE first_id IN (\(doomed))",
                    arguments: doomedArguments) ?? 0
                try db.execute(sql: "DELETE FROM request_log_hit_batches WHERE first_id IN (\(doomed))", arguments: doomedArguments)
                // A group goes once the last row it names has.
                try db.execute(sql: """
                    DELETE FROM request_log_groups
                    WHERE last_id < coalesce(\(Self.oldestIdSQL), 9223372036854775807)
                    """)
                // A batch's filter goes with it.
                try db.execute(sql: """
                    DELETE FROM request_log_batch_filters
                    WHERE batch < coalesce(\(Self.oldestIdSQL), 9223372036854775807)
                    """)
                db.add(function: Self.filterMayHold)
                // Copies of Persona's API-log entries go with the last request that names them.
                try db.execute(sql: """
                    DELETE FROM persona_api_logs
                    WHERE NOT EXISTS (SELECT 1 FROM upstream_attempts a WHERE a.persona_request_id = persona_api_logs.persona_request_id)
                      AND NOT EXISTS (SELECT 1 FROM request_log_rows r WHERE r.persona_request_id = persona_api_logs.persona_request_id AND r.grouped = 0)
                      AND NOT EXISTS (
                          SELECT 1 FROM request_log_groups g WHERE g.kind = 'persona' AND g.value = persona_api_logs.persona_request_id)
                      AND NOT EXISTS (
                          SELECT 1 FROM request_log_batch_filters f
                          WHERE f.kinds & 2 AND persona_proxy_filter_may_hold(f.filter, 2, persona_api_logs.persona_request_id))
                    """)
                return removed
            }
            total += removed
            if removed < batch { return total }
            await Task.yield()
        }
    }

    public func rowCount() async throws -> Int {
        try await database.pool().read { db in
            guard let low = try Int64.fetchOne(db, sql: "SELECT \(Self.oldestIdSQL)"),
                let high = try Int64.fetchOne(db, sql: Self.newestIdSQL)
            else { return 0 }
            return Int(high - low + 1)
        }
    }

    /// The newest id, of a row or a packed hit (NULL when the log is empty). Batches are appended in
    /// id order, so the newest batch (the greatest `first_id`, its primary key) holds the greatest
    /// `last_id`: `max(last_id)`, which no index holds, read every batch row on every commit.
    static let newestIdSQL = """
        SELECT max(
            coalesce((SELECT max(id) FROM request_log_rows), 0),
            coalesce((SELECT last_id FROM request_log_hit_batches WHERE first_id = (SELECT max(first_id) FROM request_log_hit_batches)), 0))
        WHERE EXISTS (SELECT 1 FROM request_log_rows) OR EXISTS (SELECT 1 FROM request_log_hit_batches)
        """

    /// An expression: the oldest id, of a row or a packed hit (NULL when the log is empty).
    static let oldestIdSQL = """
        (SELECT min(id) FROM (SELECT min(id) AS id FROM request_log_rows UNION ALL SELECT min(first_id) FROM request_log_hit_batches))
        """
}
