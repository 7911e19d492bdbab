/// The columns a *grouped* request-log row is found by. A row that made no upstream call (a hit,
/// a stale answer, a refusal) is left out of these columns' indexes; instead each commit records,
/// per distinct value, the range of row ids that holds it (`request_log_groups`). A batch of
/// 5 000 hits from one caller on one connection then costs four small rows instead of 20 000
/// index entries.
enum RequestLogGroupKind: String, CaseIterable, Sendable {
    case personaRequestId = "persona"
    case connectionId = "connection"
    case caller
    case status

    /// The `request_log` column this kind stands for.
    var column: String {
        switch self {
        case .personaRequestId: "persona_request_id"
        case .connectionId: "connection_id"
        case .caller: "caller"
        case .status: "status"
        }
    }

    /// The record's value in this column, as the groups table stores it (nil: no group).
    func value(of record: RequestLogRecord) -> String? {
        switch self {
        case .personaRequestId: record.personaRequestId
        case .connectionId: record.connectionId
        case .caller: record.caller
        case .status: String(record.status)
        }
    }

    /// Whether a row goes into groups rather than the per-column indexes.
    static func isGrouped(_ record: RequestLogRecord) -> Bool { record.attempts.isEmpty }

    /// The group a query walks to find grouped rows, or nil when its filters use indexes that
    /// hold every row (request ids) or it has none of these filters (it walks the primary key).
    /// The rarest kind first: a Persona request id names a handful of rows, a status millions.
    static func key(for query: RequestLogQuery) -> (kind: RequestLogGroupKind, value: String)? {
        if query.requestId != nil || query.callerRequestId != nil { return nil }
        return keys(for: query).first
    }

    /// Every grouped filter a query names, the rarest kind first (`key(for:)` walks the first).
    static func keys(for query: RequestLogQuery) -> [(kind: RequestLogGroupKind, value: String)] {
        var keys: [(kind: RequestLogGroupKind, value: String)] = []
        if let value = query.personaRequestId { keys.append((.personaRequestId, value)) }
        if let value = query.connectionId { keys.append((.connectionId, value)) }
        if let value = query.caller { keys.append((.caller, value)) }
        if let value = query.status { keys.append((.status, String(value))) }
        return keys
    }
}
