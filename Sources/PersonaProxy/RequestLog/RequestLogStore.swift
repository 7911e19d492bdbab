/// Where request records go. `SQLiteRequestLogStore` commits before it returns, so a record of
/// a call Persona saw survives a crash; `MemoryRequestLogStore` is its twin for tests.
public protocol RequestLogStore: Sendable {
    func append(_ record: RequestLogRecord) async throws
    /// Newest first.
    func recent(limit: Int) async throws -> [RequestLogRecord]
    /// Every record with an attempt (or a served entry) carrying this Persona `Request-Id`.
    func records(personaRequestId: String) async throws -> [RequestLogRecord]
}
