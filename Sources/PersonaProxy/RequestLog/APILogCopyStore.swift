public import Foundation
import GRDB
import Synchronization

/// Copies of Persona's API-log entries (`GET /api/v1/api-logs/{id}`), kept in the audit database
/// beside the request rows they explain. `SQLiteAPILogCopyStore` is the real one,
/// `MemoryAPILogCopyStore` its twin.
public protocol APILogCopyStore: Sendable {
    /// Persona's JSON for the entry, if a copy fetched at or after `fetchedSince` is held.
    func copy(personaRequestId: String, fetchedSince: Date) async throws -> Data?
    func save(personaRequestId: String, body: Data, fetchedAt: Date) async throws
}

public struct SQLiteAPILogCopyStore: APILogCopyStore {
    let database: SQLiteDatabase

    public init(database: SQLiteDatabase) {
        self.database = database
    }

    public func copy(personaRequestId: String, fetchedSince: Date) async throws -> Data? {
        try await database.pool().read { db in
            try Data.fetchOne(
                db, sql: "SELECT body FROM persona_api_logs WHERE persona_request_id = ? AND fetched_at >= ?",
                arguments: [personaRequestId, fetchedSince.timeIntervalSince1970])
        }
    }

    public func save(personaRequestId: String, body: Data, fetchedAt: Date) async throws {
        try await database.write { db in
            try db.execute(
                sql: "INSERT OR REPLACE INTO persona_api_logs (persona_request_id, body, fetched_at) VALUES (?, ?, ?)",
                arguments: [personaRequestId, body, fetchedAt.timeIntervalSince1970])
        }
    }
}

public final class MemoryAPILogCopyStore: APILogCopyStore {
    private let copies = Mutex<[String: (body: Data, fetchedAt: Date)]>([:])

    public init() {}

    public func copy(personaRequestId: String, fetchedSince: Date) -> Data? {
        copies.withLock { copies in
            copies[personaRequestId].flatMap { $0.fetchedAt >= fetchedSince ? $0.body : nil }
        }
    }

    public func save(personaRequestId: String, body: Data, fetchedAt: Date) {
        copies.withLock { $0[personaRequestId] = (body, fetchedAt) }
    }
}
