public import Foundation

/// Filters for finding requests in the log: newest first, `limit` at a time, continued with
/// `beforeId` (the `id` of the last record of the previous page).
public struct RequestLogQuery: Sendable, Equatable {
    public var requestId: String?
    /// The `X-Request-Id` the caller sent, kept beside the proxy's own.
    public var callerRequestId: String?
    /// Matches the id of any upstream attempt, or the id behind the bytes a hit served.
    public var personaRequestId: String?
    public var connectionId: String?
    public var caller: String?
    public var status: Int?
    public var since: Date?
    public var until: Date?
    public var beforeId: Int64?
    public var limit: Int

    public static let maxLimit = 1000

    public init(
        requestId: String? = nil, personaRequestId: String? = nil, connectionId: String? = nil, caller: String? = nil, status: Int? = nil,
        since: Date? = nil, until: Date? = nil, beforeId: Int64? = nil, limit: Int = 50, callerRequestId: String? = nil
    ) {
        self.requestId = requestId
        self.callerRequestId = callerRequestId
        self.personaRequestId = personaRequestId
        self.connectionId = connectionId
        self.caller = caller
        self.status = status
        self.since = since
        self.until = until
        self.beforeId = beforeId
        self.limit = min(max(1, limit), Self.maxLimit)
    }

    /// Whether a record matches (the in-memory twin's filter, and the SQL's meaning).
    public func matches(_ record: RequestLogRecord) -> Bool {
        if let requestId, record.requestId != requestId { return false }
        if let callerRequestId, record.callerRequestId != callerRequestId { return false }
        if let personaRequestId, record.personaRequestId != personaRequestId,
            !record.attempts.contains(where: { $0.personaRequestId == personaRequestId })
        {
            return false
        }
        if let connectionId, record.connectionId != connectionId { return false }
        if let caller, record.caller != caller { return false }
        if let status, record.status != status { return false }
        if let since, record.receivedAt < since { return false }
        if let until, record.receivedAt >= until { return false }
        if let beforeId, let id = record.id, id >= beforeId { return false }
        return true
    }
}
