import Foundation
public import Hummingbird
import NIOCore

/// `GET /admin/requests[?filters]`, `GET /admin/requests/{request-id}` and
/// `GET /admin/requests/{request-id}/persona-log`: the request log as JSON, and the join with
/// Persona's own API log for the calls a request made.
public struct AdminRequestRoutes: Sendable {
    let requestLog: any RequestLogStore
    let personaLogs: PersonaAPILogReader

    public init(requestLog: any RequestLogStore, personaLogs: PersonaAPILogReader) {
        self.requestLog = requestLog
        self.personaLogs = personaLogs
    }

    public func register(on router: Router<ProxyRequestContext>) {
        router.get("/admin/requests") { request, _ in
            let parameters = Dictionary(request.uri.queryParameters.map { (String($0.key), String($0.value)) }, uniquingKeysWith: { first, _ in first })
            let query = try Self.query(from: parameters)
            let records = try await requestLog.query(query)
            var next: String?
            if records.count == query.limit, let last = records.last?.id {
                var components = URLComponents()
                components.path = "/admin/requests"
                components.queryItems = parameters.filter { $0.key != "before" }.sorted { $0.key < $1.key }.map {
                    URLQueryItem(name: $0.key, value: $0.value)
                } + [URLQueryItem(name: "before", value: String(last))]
                next = components.string
            }
            let page = RequestLogPage(data: records.map(RequestLogEntryJSON.init), links: .init(next: next))
            return try Self.json(page)
        }
        router.get("/admin/requests/:request") { _, context in
            let id = context.parameters.get("request") ?? ""
            guard let record = try await requestLog.record(requestId: id) else {
                throw ProxyError.notFound("No request with id \(id.prefix(128)) is in the request log.")
            }
            return try Self.json(RequestLogItem(data: RequestLogEntryJSON(record)))
        }
        router.get("/admin/requests/:request/persona-log") { _, context in
            let id = context.parameters.get("request") ?? ""
            guard let record = try await requestLog.record(requestId: id) else {
                throw ProxyError.notFound("No request with id \(id.prefix(128)) is in the request log.")
            }
            return try await joined(record, share: context.caller.share)
        }
    }

    /// `{"data":{"request":{…},"persona_api_logs":[{"persona_request_id","status","source","api_log"|"error"}]}}`,
    /// with Persona's own JSON embedded unchanged.
    func joined(_ record: RequestLogRecord, share: BudgetShare) async throws -> Response {
        // The calls the request made, else the one behind the bytes it was served (a hit).
        var ids = record.attempts.compactMap(\.personaRequestId)
        if ids.isEmpty, let served = record.personaRequestId { ids = [served] }
        var logs: [String] = []
        for id in ids {
            let quoted = JSONString.quote(id)
            switch try await personaLogs.lookup(id, share: share) {
            case .copy(let body):
                logs.append("{\"persona_request_id\":\(quoted),\"status\":200,\"source\":\"copy\",\"api_log\":\(String(decoding: body, as: UTF8.self))}")
            case .fetched(let body):
                logs.append("{\"persona_request_id\":\(quoted),\"status\":200,\"source\":\"persona\",\"api_log\":\(String(decoding: body, as: UTF8.self))}")
            case .personaError(let status, let body):
                logs.append("{\"persona_request_id\":\(quoted),\"status\":\(status),\"source\":\"persona\",\"error\":\(String(decoding: body, as: UTF8.self))}")
            case .unavailable(let reason):
                logs.append("{\"persona_request_id\":\(quoted),\"status\":null,\"source\":null,\"error\":\(JSONString.quote(reason))}")
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let local = String(decoding: try encoder.encode(RequestLogEntryJSON(record)), as: UTF8.self)
        let body = "{\"data\":{\"request\":\(local),\"persona_api_logs\":[\(logs.joined(separator: ","))]}}"
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    /// Parses the filters; a malformed one is a 400 that names it.
    static func query(from parameters: [String: String]) throws(ProxyError) -> RequestLogQuery {
        func string(_ name: String) -> String? {
            parameters[name].flatMap { $0.isEmpty ? nil : $0 }
        }
        func int(_ name: String) throws(ProxyError) -> Int? {
            guard let raw = string(name) else { return nil }
            guard let value = Int(raw) else { throw .badRequest("\(name) must be a whole number.") }
            return value
        }
        func date(_ name: String) throws(ProxyError) -> Date? {
            guard let raw = string(name) else { return nil }
            if let seconds = Double(raw) { return Date(timeIntervalSince1970: seconds) }
            if let date = try? Date(raw, strategy: .iso8601) { return date }
            throw .badRequest("\(name) must be an ISO 8601 time (2026-11-29T14:02:00Z) or Unix seconds.")
        }
        return RequestLogQuery(
            requestId: string("request_id"), personaRequestId: string("persona_request_id"), connectionId: string("connection_id"),
            caller: string("caller"), status: try int("status"), since: try date("since"), until: try date("until"),
            beforeId: try int("before").map(Int64.init), limit: try int("limit") ?? 50, callerRequestId: string("caller_request_id"))
    }

    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}

struct RequestLogPage: Encodable {
    struct Links: Encodable {
        let next: String?
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(next, forKey: .next)  // null at the end, as Persona's links
        }
        enum CodingKeys: String, CodingKey { case next }
    }
    let data: [RequestLogEntryJSON]
    let links: Links
}

struct RequestLogItem: Encodable {
    let data: RequestLogEntryJSON
}
