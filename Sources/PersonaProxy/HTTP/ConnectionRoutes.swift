import HTTPTypes
import Foundation
public import Hummingbird
import Logging

/// `GET /api/v1/connect/connections/{connection-id}` and `GET /api/v1/connect/connections`:
/// Persona's retrieve and list, served through the cache.
public struct ConnectionRoutes: Sendable {
    let cache: any ConnectionCache
    let recorder: RequestRecorder
    let clock: any WallClock
    let defaultPersonaVersion: @Sendable () -> String?
    let allowedPersonaVersions: @Sendable () -> Set<String>?

    public init(
        cache: any ConnectionCache, recorder: RequestRecorder, clock: any WallClock, defaultPersonaVersion: @escaping @Sendable () -> String?,
        allowedPersonaVersions: @escaping @Sendable () -> Set<String>? = { nil }
    ) {
        self.cache = cache
        self.recorder = recorder
        self.clock = clock
        self.defaultPersonaVersion = defaultPersonaVersion
        self.allowedPersonaVersions = allowedPersonaVersions
    }

    public func register(on router: Router<ProxyRequestContext>) {
        router.get("/api/v1/connect/connections/:connection") { request, context in
            try await retrieve(request, context: context)
        }
        router.get("/api/v1/connect/connections") { request, context in
            try await list(request, context: context)
        }
    }

    /// Hummingbird decodes query values but not keys; `fields%5B...%5D` is the usual spelling.
    private static func query(_ request: Request) -> [(name: String, value: String)] {
        request.uri.queryParameters.map { (name: String($0.key).removingPercentEncoding ?? String($0.key), value: String($0.value)) }
    }

    func retrieve(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let parsed: ConnectionRequest
        do {
            parsed = try ConnectionRequest.parse(
                connectionId: context.parameters.get("connection") ?? "", personaVersion: request.headers[.personaVersion],
                keyInflection: request.headers[.keyInflection], query: Self.query(request), defaultPersonaVersion: defaultPersonaVersion(),
                // Only a caller's own version is checked: no Set is built for the usual request that sends none.
                allowedPersonaVersions: request.headers[.personaVersion] == nil ? nil : allowedPersonaVersions())
        } catch {
            throw ProxyError.invalid(error)
        }
        return try await serve(parsed, request: request, context: context, path: request.uri.path)
    }

    func list(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let parsed: ConnectionRequest
        do {
            parsed = try ConnectionRequest.parseList(
                personaVersion: request.headers[.personaVersion], keyInflection: request.headers[.keyInflection], query: Self.query(request),
                defaultPersonaVersion: defaultPersonaVersion(),
                allowedPersonaVersions: request.headers[.personaVersion] == nil ? nil : allowedPersonaVersions())
        } catch {
            throw ProxyError.invalid(error)
        }
        // The log names the page as it was asked of Persona.
        let query = parsed.upstreamQuery
        return try await serve(parsed, request: request, context: context, path: ConnectionListQuery.path + (query.isEmpty ? "" : "?" + query))
    }

    private func serve(_ parsed: ConnectionRequest, request: Request, context: ProxyRequestContext, path: String) async throws -> Response {
        let receivedAt = clock.now()
        let started = ContinuousClock.now
        let directives = CacheDirectives.parse(cacheControl: request.headers[.cacheControl], pragma: request.headers[.pragma])
        let response: Response
        var record = RequestLogRecord(
            requestId: context.requestId, receivedAt: receivedAt, caller: context.callerName, method: "GET", path: path,
            connectionId: parsed.isList ? nil : parsed.connectionId, cacheOutcome: "error", status: 503, personaRequestId: nil, durationMs: 0, attempts: [],
            callerRequestId: context.callerRequestId)
        let durable: Bool
        do throws(StorageError) {
            let result = try await cache.retrieve(parsed, directives: directives, caller: context.caller)
            response = result.response
            record.cacheOutcome = result.label
            record.status = result.status
            record.personaRequestId = result.personaRequestId
            record.attempts = result.calls.map(UpstreamAttempt.init)
            durable = !result.isAnsweredFromCache
        } catch {
            var refusal = ProxyError.storage(error).response
            refusal.headers[.cacheStatus] = CacheStatus(detail: "proxy-unavailable").headerValue
            response = refusal
            durable = true
        }
        context.report.cacheLabel = record.cacheOutcome
        record.durationMs = (ContinuousClock.now - started).milliseconds
        // Committed before the caller hears back when Persona saw a call (or refused one): a crash
        // now cannot lose that record. Answers from the cache are batched in the background.
        await recorder.record(record, durable: durable, logger: context.logger)
        return response
    }
}
