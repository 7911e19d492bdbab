import HTTPTypes
import Foundation
public import Hummingbird
import Logging

/// `GET /api/v1/connect/connections/{connection-id}`: Persona's retrieve, served through the cache.
public struct ConnectionRoutes: Sendable {
    let readThrough: ReadThroughCache
    let recorder: RequestRecorder
    let clock: any WallClock
    let defaultPersonaVersion: @Sendable () -> String?

    public init(
        readThrough: ReadThroughCache, recorder: RequestRecorder, clock: any WallClock,
        defaultPersonaVersion: @escaping @Sendable () -> String?
    ) {
        self.readThrough = readThrough
        self.recorder = recorder
        self.clock = clock
        self.defaultPersonaVersion = defaultPersonaVersion
    }

    public func register(on router: Router<ProxyRequestContext>) {
        router.get("/api/v1/connect/connections/:connection") { request, context in
            try await retrieve(request, context: context)
        }
    }

    func retrieve(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let receivedAt = clock.now()
        let started = ContinuousClock.now
        let connectionId = context.parameters.get("connection") ?? ""
        let parsed = try ConnectionRequest.parse(
            connectionId: connectionId, personaVersion: request.headers[.personaVersion],
            keyInflection: request.headers[.keyInflection],
            // Hummingbird decodes query values but not keys; `fields%5B...%5D` is the usual spelling.
            query: request.uri.queryParameters.map { (name: String($0.key).removingPercentEncoding ?? String($0.key), value: String($0.value)) },
            defaultPersonaVersion: defaultPersonaVersion())
        let caller = context.caller
        let proxied: ProxiedResponse
        do throws(ProxyError) {
            let directives = CacheDirectives.parse(cacheControl: request.headers[.cacheControl], pragma: request.headers[.pragma])
            proxied = try await readThrough.retrieve(parsed, directives: directives, caller: caller)
        } catch {
            proxied = .error(error, cacheStatus: CacheStatus(detail: "proxy-unavailable"))
        }
        let record = RequestLogRecord(
            requestId: context.requestId, receivedAt: receivedAt, caller: caller.name, method: "GET", path: request.uri.path,
            connectionId: parsed.connectionId, cacheOutcome: proxied.cacheOutcome, status: proxied.status,
            personaRequestId: proxied.personaRequestId, durationMs: (ContinuousClock.now - started).milliseconds, attempts: proxied.attempts)
        // Committed before the caller hears back when Persona saw a call (or refused one): a crash
        // now cannot lose that record. Answers from the cache are batched in the background.
        let durable = !proxied.attempts.isEmpty || !["hit", "stale", "collapsed"].contains(proxied.cacheOutcome)
        await recorder.record(record, durable: durable, logger: context.logger)
        return Self.response(for: proxied)
    }

    static func response(for proxied: ProxiedResponse) -> Response {
        var headers = HTTPFields()
        headers.reserveCapacity(proxied.headers.count + 3)
        for header in proxied.headers {
            if let name = HTTPField.Name(header.name) { headers.append(HTTPField(name: name, value: header.value)) }
        }
        headers[.cacheStatus] = proxied.cacheStatus.headerValue
        headers[.proxyCacheOutcome] = proxied.cacheOutcome
        return Response(status: HTTPResponse.Status(code: proxied.status), headers: headers, body: ResponseBody(byteBuffer: proxied.body))
    }
}
