import Foundation
import GRDB
public import Hummingbird
import NIOCore

/// Joins a local request record with Persona's own API-log entries for the calls it made
/// (`GET /api/v1/api-logs/{request-id}`), fetched with the stored key through the governor and
/// kept for a day, since an entry only changes when Persona redacts it.
public struct PersonaAPILogFetcher: Sendable {
    let upstream: GovernedUpstream
    let database: ProxyDatabase
    let clock: any WallClock
    let keepSeconds: Double

    public init(upstream: GovernedUpstream, database: ProxyDatabase, clock: any WallClock, keepSeconds: Double = 86_400) {
        self.upstream = upstream
        self.database = database
        self.clock = clock
        self.keepSeconds = keepSeconds
    }

    /// `{"data":{"request":{…},"persona_api_logs":[{"persona_request_id","status","source","api_log"|"error"}]}}`.
    public func joined(_ record: RequestLogRecord) async throws -> Response {
        var ids = record.attempts.compactMap(\.personaRequestId)
        if ids.isEmpty, let served = record.personaRequestId { ids = [served] }
        var logs: [String] = []
        for id in ids {
            logs.append(try await entry(for: id))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let local = String(decoding: try encoder.encode(RequestLogEntryJSON(record)), as: UTF8.self)
        let body = "{\"data\":{\"request\":\(local),\"persona_api_logs\":[\(logs.joined(separator: ","))]}}"
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    /// One element of `persona_api_logs`, with Persona's own JSON embedded unchanged.
    func entry(for personaRequestId: String) async throws -> String {
        let quotedId = JSONString.quote(personaRequestId)
        let pool = try database.pool()
        let cutoff = clock.now().timeIntervalSince1970 - keepSeconds
        if let cached = try await pool.read({ db in
            try Data.fetchOne(
                db, sql: "SELECT body FROM persona_api_logs WHERE persona_request_id = ? AND fetched_at >= ?", arguments: [personaRequestId, cutoff])
        }) {
            return "{\"persona_request_id\":\(quotedId),\"status\":200,\"source\":\"copy\",\"api_log\":\(String(decoding: cached, as: UTF8.self))}"
        }
        guard ConnectionRequest.isValidConnectionId(personaRequestId) else {
            return "{\"persona_request_id\":\(quotedId),\"status\":null,\"source\":null,\"error\":\"not a Persona request id\"}"
        }
        let exchange = await upstream.perform(UpstreamRequest(method: "GET", path: "/api/v1/api-logs/\(personaRequestId)", headers: [(name: "User-Agent", value: "persona-proxy/\(PersonaProxyVersion.string) (caller=admin)")]))
        switch exchange.result {
        case .answered(let response) where response.status == 200:
            let body = Data(response.body.readableBytesView)
            try await pool.write { db in
                try db.execute(
                    sql: "INSERT OR REPLACE INTO persona_api_logs (persona_request_id, body, fetched_at) VALUES (?, ?, ?)",
                    arguments: [personaRequestId, body, clock.now().timeIntervalSince1970])
            }
            return "{\"persona_request_id\":\(quotedId),\"status\":200,\"source\":\"persona\",\"api_log\":\(String(buffer: response.body))}"
        case .answered(let response):
            // Persona's own error (404 after its two-week retention, 403 without api_log.read).
            return "{\"persona_request_id\":\(quotedId),\"status\":\(response.status),\"source\":\"persona\",\"error\":\(String(buffer: response.body))}"
        case .failed(let error):
            return "{\"persona_request_id\":\(quotedId),\"status\":null,\"source\":null,\"error\":\(JSONString.quote(error.summary))}"
        case .refused(let refusal):
            return "{\"persona_request_id\":\(quotedId),\"status\":null,\"source\":null,\"error\":\(JSONString.quote("rate limit: retry after \(refusal.retryAfterSeconds) s"))}"
        }
    }
}
