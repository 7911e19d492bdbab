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
    let upstream: GovernedUpstream
    let purge: @Sendable (String) async throws -> Int
    let recorder: RequestRecorder
    let clock: any WallClock
    let defaultPersonaVersion: @Sendable () -> String?
    /// Connect write bodies are a few hundred bytes; refuse anything that is clearly not one.
    static let maxBodyBytes = 64 * 1024

    public init(
        upstream: GovernedUpstream, purge: @escaping @Sendable (String) async throws -> Int, recorder: RequestRecorder, clock: any WallClock,
        defaultPersonaVersion: @escaping @Sendable () -> String?
    ) {
        self.upstream = upstream
        self.purge = purge
        self.recorder = recorder
        self.clock = clock
        self.defaultPersonaVersion = defaultPersonaVersion
    }

    public func register(on router: Router<ProxyRequestContext>) {
        router.post("/api/v1/connect/connections") { request, context in
            try await forward(request, context: context, connectionId: nil, action: nil)
        }
        router.post("/api/v1/connect/connections/:connection/:action") { request, context in
            let action = context.parameters.get("action") ?? ""
            guard action == "deactivate" || action == "reactivate" else {
                throw ProxyError.notFound("persona-proxy does not serve POST \(request.uri.path.prefix(200)).")
            }
            return try await forward(request, context: context, connectionId: context.parameters.get("connection") ?? "", action: action)
        }
    }

    func forward(_ request: Request, context: ProxyRequestContext, connectionId: String?, action: String?) async throws -> Response {
        let receivedAt = clock.now()
        let started = ContinuousClock.now
        // Validates the id and the variant headers exactly as a retrieve does.
        let parsed = try ConnectionRequest.parse(
            connectionId: connectionId ?? "new", personaVersion: request.headers[.personaVersion],
            keyInflection: request.headers[.keyInflection], query: [], defaultPersonaVersion: defaultPersonaVersion())
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxBodyBytes)
        } catch {
            throw ProxyError(status: 413, title: "Payload too large", details: "Request bodies are limited to \(Self.maxBodyBytes) bytes.")
        }
        let caller = context.caller
        let idempotencyKey = request.headers[.idempotencyKey].flatMap { $0.isEmpty ? nil : $0 } ?? "ppx-\(UUID().uuidString.lowercased())"
        var headers: [(name: String, value: String)] = [
            (name: "User-Agent", value: caller.userAgent), (name: "Idempotency-Key", value: idempotencyKey),
            (name: "Content-Type", value: "application/json"),
        ]
        if let version = parsed.personaVersion { headers.append((name: "Persona-Version", value: version)) }
        if let inflection = parsed.keyInflection { headers.append((name: "Key-Inflection", value: inflection)) }
        let path = connectionId.map { "/api/v1/connect/connections/\($0)/\(action ?? "")" } ?? "/api/v1/connect/connections"
        let exchange = await upstream.perform(UpstreamRequest(method: "POST", path: path, headers: headers, body: body))

        let proxied: ProxiedResponse
        switch exchange.result {
        case .answered(let response):
            var forwarded = ResponseBuilder.forwarded(
                response, cacheStatus: CacheStatus(forward: .request, forwardStatus: response.status), outcome: "pass", attempts: exchange.attempts)
            forwarded.headers.append((name: "Idempotency-Key", value: idempotencyKey))
            proxied = forwarded
            if let connectionId, (200..<300).contains(response.status) {
                do {
                    _ = try await purge(connectionId)
                } catch {
                    context.logger.error("cache purge after \(action ?? "write") failed", metadata: ["connection_id": "\(connectionId)", "error": "\(error)"])
                }
            }
        case .failed(let error):
            let (proxyError, detail) = ReadThroughCache.proxyError(for: error)
            proxied = .error(proxyError, cacheStatus: CacheStatus(forward: .request, detail: detail), attempts: exchange.attempts)
        case .refused(let refusal):
            proxied = .error(
                ReadThroughCache.rateLimitError(refusal), cacheStatus: CacheStatus(forward: .request, detail: "rate-limit-wait-exceeded"),
                cacheOutcome: "rate_limited", attempts: exchange.attempts)
        }
        let record = RequestLogRecord(
            requestId: context.requestId, receivedAt: receivedAt, caller: caller.name, method: "POST", path: request.uri.path,
            connectionId: connectionId, cacheOutcome: proxied.cacheOutcome, status: proxied.status,
            personaRequestId: proxied.personaRequestId, durationMs: (ContinuousClock.now - started).milliseconds, attempts: proxied.attempts)
        await recorder.record(record, durable: true, logger: context.logger)
        return ConnectionRoutes.response(for: proxied)
    }
}

extension HTTPField.Name {
    public static let idempotencyKey = Self("Idempotency-Key")!
}
