public import Foundation

/// Where request records go. `SQLiteRequestLogStore` commits before `append` returns, so a
/// record of a call Persona saw survives a crash; `MemoryRequestLogStore` is its twin, and both
/// pass the same contract tests.
public protocol RequestLogStore: Sendable {
    /// Stores the records in one transaction.
    func append(_ records: [RequestLogRecord]) async throws
    /// The same, on the calling thread, which waits (the hit writer's own low-priority thread).
    func appendBlocking(_ records: [RequestLogRecord]) throws
    /// Newest first, with `id` set.
    func query(_ query: RequestLogQuery) async throws -> [RequestLogRecord]
    /// Deletes records received before `cutoff`, then the oldest beyond `maxRows`, at most
    /// `batch` rows per transaction; returns how many went.
    func prune(receivedBefore cutoff: Date, maxRows: Int?, batch: Int) async throws -> Int
    /// Rows held (exact while deletes only ever take the oldest, as pruning does).
    func rowCount() async throws -> Int
}

extension RequestLogStore {
    public func append(_ record: RequestLogRecord) async throws {
        try await append([record])
    }

    public func recent(limit: Int) async throws -> [RequestLogRecord] {
        try await query(RequestLogQuery(limit: limit))
    }

    public func records(personaRequestId: String) async throws -> [RequestLogRecord] {
        try await query(RequestLogQuery(personaRequestId: personaRequestId, limit: RequestLogQuery.maxLimit))
    }

    /// The newest record with this proxy request id.
    public func record(requestId: String) async throws -> RequestLogRecord? {
        try await query(RequestLogQuery(requestId: requestId, limit: 1)).first
    }
}

/// A store that takes the hit writer's queue as it is (`RecordBytes`): `SQLiteRequestLogStore`
/// copies the hits' packed JSON from it instead of decoding records and formatting them again.
/// Another store is handed the decoded records.
protocol RequestLogQueueStore: RequestLogStore {
    func appendQueued(_ queue: RecordBytes) async throws
    func appendQueuedBlocking(_ queue: RecordBytes) throws
}

extension SQLiteRequestLogStore: RequestLogQueueStore {}
