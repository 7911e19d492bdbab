import Foundation
import GRDB

/// The durable request log: `request_log` plus one `upstream_attempts` row per call to Persona,
/// written in one transaction that has committed when `append` returns.
public struct SQLiteRequestLogStore: RequestLogStore {
    let database: ProxyDatabase

    public init(database: ProxyDatabase) {
        self.database = database
    }

    public func append(_ record: RequestLogRecord) async throws {
        try await database.pool().write { db in
            try db.execute(
                sql: """
                    INSERT INTO request_log (request_id, received_at, caller, method, path, connection_id, cache_outcome,
                        status, persona_request_id, duration_ms)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    record.requestId, record.receivedAt.timeIntervalSince1970, record.caller, record.method, record.path,
                    record.connectionId, record.cacheOutcome, record.status, record.personaRequestId, record.durationMs,
                ])
            let rowId = db.lastInsertedRowID
            for attempt in record.attempts {
                try db.execute(
                    sql: """
                        INSERT INTO upstream_attempts (request_log_id, attempt, persona_request_id, status, error, duration_ms, waited_ms)
                        VALUES (?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [rowId, attempt.attempt, attempt.personaRequestId, attempt.status, attempt.error, attempt.durationMs, attempt.waitedMs])
            }
        }
    }

    public func recent(limit: Int) async throws -> [RequestLogRecord] {
        try await fetch(whereClause: "1", arguments: [], limit: limit)
    }

    public func records(personaRequestId: String) async throws -> [RequestLogRecord] {
        try await fetch(
            whereClause: """
                persona_request_id = ? OR id IN (SELECT request_log_id FROM upstream_attempts WHERE persona_request_id = ?)
                """,
            arguments: [personaRequestId, personaRequestId], limit: 1000)
    }

    private func fetch(whereClause: String, arguments: StatementArguments, limit: Int) async throws -> [RequestLogRecord] {
        try await database.pool().read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM request_log WHERE \(whereClause) ORDER BY id DESC LIMIT ?",
                arguments: arguments + [limit])
            return try rows.map { row in
                let id: Int64 = row["id"]
                let attempts = try Row.fetchAll(
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
                    durationMs: row["duration_ms"], attempts: attempts)
            }
        }
    }
}
