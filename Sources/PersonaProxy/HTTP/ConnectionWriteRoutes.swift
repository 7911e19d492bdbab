import Foundation
import HTTPTypes
public import Hummingbird
import Logging
import NIOCore

/// Persona's connection writes — create, deactivate, reactivate — forwarded, never cached, and
/// made safe to retry: each carries an `Idempotency-Key` (the caller's, or one the proxy adds and
/// reuses across its own retries). A successful deactivate/reactivate purges the cached variants
/// of that connection, so a caller never reads the old status back through the proxy.
public struct ConnectionWriteRoutes: Sendable {
    let cache: any ConnectionCache
    let recorder: RequestRecorder
    let clock: any WallClock
    let defaultPersonaVersion: @Sendable () -> String?
    let allowedPersonaVersions: @Sendable () -> Set<String>?
    /// Connect write bodies are a few hundred bytes; refuse anything that is clearly not one.
    static let maxBodyBytes = 64 * 1024

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
        router.post("/api/v1/connect/connections") { request, context in
            try await forward(request, context: context, connectionId: nil, action: .create)
        }
        router.post("/api/v1/connect/connections/:connection/:action") { request, context in
            guard let action = context.parameters.get("action").flatMap(ConnectionWrite.Action.init(rawValue:)), action != .create else {
                throw ProxyError.notFound("persona-proxy does not serve POST \(request.uri.path.prefix(200)).")
            }
            return try await forward(request, context: context, connectionId: context.parameters.get("connection") ?? "", action: action)
        }
    }

    func forward(_ request: Request, context: ProxyRequestContext, connectionId: String?, action: ConnectionWrite.Action) async throws -> Response {
        let receivedAt = clock.now()
        let started = ContinuousClock.now
        // Validates the id and the variant headers exactly as a retrieve does.
        let parsed: ConnectionRequest
        do {
            parsed = try ConnectionRequest.parse(
                connectionId: connectionId ?? "new", personaVersion: request.headers[.personaVersion],
                keyInflection: request.headers[.keyInflection], query: [], defaultPersonaVersion: defaultPersonaVersion(), 
                // Only a caller's own version is checked: no Set is built for the usual request that sends none.
                allowedPersonaVersions: request.headers[.personaVersion] == nil ? nil : allowedPersonaVersions())
        } catch {
            throw ProxyError.invalid(error)
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxBodyBytes)
        } catch {
            throw ProxyError(status: 413, title: "Payload too large", details: "Request bodies are limited to \(Self.maxBodyBytes) bytes.")
        }
        if action == .create {
            do { try ConnectionWrite.validateCreateBody(body) } catch { throw ProxyError.invalid(error) }
        }
        let write = ConnectionWrite(
            action: action, connectionId: connectionId, personaVersion: parsed.personaVersion, keyInflection: parsed.keyInflection, body: body,
            idempotencyKey: request.headers[.idempotencyKey])
        let result = await cache.write(write, caller: context.caller)

        let response: Response
        let label: String
        var personaRequestId: String?
        switch result.result {
        case .answered(let answer):
            response = ProxyResponses.forwarded(
                answer, cacheStatus: CacheStatus(forward: .request, forwardStatus: answer.status).headerValue,
                extra: [(name: "Idempotency-Key", value: result.idempotencyKey)])
            label = "pass"
            personaRequestId = answer.personaRequestId
        case .failed(let error):
            response = ProxyError.upstream(error).response(cacheStatus: CacheStatus(forward: .request, detail: ProxyError.detail(for: error)))
            label = "error"
        case .refused(let refusal):
            response = ProxyError.rateLimited(refusal).response(cacheStatus: CacheStatus(forward: .request, detail: "rate-limit-wait-exceeded"))
            label = "rate_limited"
        }
        context.report.cacheLabel = label
        let record = RequestLogRecord(
            requestId: context.requestId, receivedAt: receivedAt, caller: context.callerName, method: "POST", path: request.uri.path,
            connectionId: connectionId, cacheOutcome: label, status: Int(response.status.code), personaRequestId: personaRequestId,
            durationMs: (ContinuousClock.now - started).milliseconds, attempts: result.calls.map(UpstreamAttempt.init),
            callerRequestId: context.callerRequestId)
        await recorder.record(record, durable: true, logger: context.logger)
        return response
    }
}

extension HTTPField.Name {
    public static let idempotencyKey = Self("Idempotency-Key")!
}
