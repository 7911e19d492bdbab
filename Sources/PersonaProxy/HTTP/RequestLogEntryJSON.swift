import Foundation

/// The JSON form of a request-log record (admin API and `persona-proxy requests --json`).
public struct RequestLogEntryJSON: Codable, Sendable, Equatable {
    public struct Attempt: Codable, Sendable, Equatable {
        public let attempt: Int
        public let personaRequestId: String?
        public let status: Int?
        public let error: String?
        public let durationMs: Double
        public let waitedMs: Double

        enum CodingKeys: String, CodingKey {
            case attempt, status, error
            case personaRequestId = "persona_request_id"
            case durationMs = "duration_ms"
            case waitedMs = "waited_ms"
        }
    }

    public let id: Int64?
    public let requestId: String
    public let callerRequestId: String?
    public let receivedAt: String
    public let caller: String
    public let method: String
    public let path: String
    public let connectionId: String?
    public let cacheOutcome: String
    public let status: Int
    public let personaRequestId: String?
    public let durationMs: Double
    public let attempts: [Attempt]

    enum CodingKeys: String, CodingKey {
        case id, caller, method, path, status, attempts
        case requestId = "request_id"
        case callerRequestId = "caller_request_id"
        case receivedAt = "received_at"
        case connectionId = "connection_id"
        case cacheOutcome = "cache_outcome"
        case personaRequestId = "persona_request_id"
        case durationMs = "duration_ms"
    }

    public init(_ record: RequestLogRecord) {
        id = record.id
        requestId = record.requestId
        callerRequestId = record.callerRequestId
        receivedAt = Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(record.receivedAt)
        caller = record.caller
        method = record.method
        path = record.path
        connectionId = record.connectionId
        cacheOutcome = record.cacheOutcome
        status = record.status
        personaRequestId = record.personaRequestId
        durationMs = (record.durationMs * 1000).rounded() / 1000
        attempts = record.attempts.map {
            Attempt(
                attempt: $0.attempt, personaRequestId: $0.personaRequestId, status: $0.status, error: $0.error,
                durationMs: ($0.durationMs * 1000).rounded() / 1000, waitedMs: ($0.waitedMs * 1000).rounded() / 1000)
        }
    }
}
