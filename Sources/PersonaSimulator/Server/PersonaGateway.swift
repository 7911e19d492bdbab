import Hummingbird
import NIOCore

/// Runs every `/api/v1` request through Persona's layers, in Persona's order: authentication,
/// rate limiting, idempotency, then the endpoint; and then adds the headers, writes the API log
/// and the request record.
///
/// Endpoints only compute a status and body, so the rules every answer shares live here once.
struct PersonaGateway: Sendable {
    let state: SimulatorState

    /// Persona's create bodies are tiny; anything this large is a client bug.
    static let maxBodySize = 1 << 20

    func respond(
        to request: Request,
        context: some RequestContext,
        operation: (APICall) async throws -> APIResult
    ) async throws -> Response {
        var request = request
        let body = Array(buffer: try await request.collectBody(upTo: Self.maxBodySize))
        let configuration = state.configuration
        let authenticated = Self.isAuthorized(request.headers[.authorization], apiKey: configuration.apiKey)
        let admission = await state.admit(authenticated: authenticated)
        // Task.sleep throws on cancellation, so a closed connection does not wait out the delay.
        if admission.latency > .zero { try await Task.sleep(for: admission.latency) }

        guard let rateLimit = admission.rateLimit, let requestId = admission.requestId else {
            let error = PersonaError.unauthorized
            let record = SimulatorRequestRecord(request, status: error.status.code, requestId: nil)
            await state.complete(.init(record: record))
            return PersonaHeaders.json(status: error.status, headers: PersonaHeaders.plain, body: error.body)
        }

        let answer = try await answer(request, body: body, context: context, rateLimit: rateLimit, operation: operation)
        let result = answer.result
        let record = SimulatorRequestRecord(request, status: result.status.code, requestId: requestId, isReplay: answer.isReplay)
        // A replay gets its own Request-Id (ids stay unique) but no API-log entry, as Persona
        // writes none for it; that id therefore names no entry.
        let logEntry: APILogEntry? =
            answer.isReplay
            ? nil
            : APILogEntry(
                id: requestId,
                request: request,
                body: body,
                status: result.status.code,
                responseHeaders: PersonaHeaders.logged(requestId: requestId, rateLimit: rateLimit),
                createdAt: admission.receivedAt
            )
        let firstResult = answer.storeUnder.map { key, fingerprint in
            (key: key, result: IdempotencyStore.Stored(fingerprint: fingerprint, status: result.status, body: result.body))
        }
        await state.complete(.init(record: record, apiLog: logEntry, idempotentResult: firstResult))
        let headers = PersonaHeaders.authenticated(requestId: requestId, rateLimit: rateLimit, configuration: configuration)
        return PersonaHeaders.json(status: result.status, headers: headers, body: result.body)
    }

    private struct Answer {
        var result: APIResult
        var isReplay = false
        var storeUnder: (key: String, fingerprint: IdempotencyStore.Fingerprint)?
    }

    private func answer(
        _ request: Request,
        body: [UInt8],
        context: some RequestContext,
        rateLimit: FixedWindowRateLimiter.Decision,
        operation: (APICall) async throws -> APIResult
    ) async throws -> Answer {
        guard rateLimit.isAllowed else {
            return Answer(result: .error(.rateLimited(limit: rateLimit.limit)))
        }
        var storeUnder: (key: String, fingerprint: IdempotencyStore.Fingerprint)?
        // Persona honours Idempotency-Key on POST only.
        if request.method == .post, let key = request.headers[.idempotencyKey], !key.isEmpty {
            let fingerprint = IdempotencyStore.Fingerprint(
                method: request.method.rawValue, path: request.uri.path, query: request.uri.query, body: body)
            switch await state.lookupIdempotency(key: key, fingerprint: fingerprint) {
            case .replay(let stored):
                return Answer(result: APIResult(status: stored.status, body: stored.body), isReplay: true)
            case .mismatch:
                return Answer(result: .error(.idempotencyMismatch))
            case .miss:
                storeUnder = (key, fingerprint)
            }
        }
        do {
            let call = try APICall(request: request, body: body, context: context, rateLimit: rateLimit)
            return Answer(result: try await operation(call), storeUnder: storeUnder)
        } catch let error as PersonaError {
            return Answer(result: .error(error), storeUnder: storeUnder)
        }
    }

    /// `Bearer` is matched case-insensitively, as HTTP auth schemes are; the key exactly.
    static func isAuthorized(_ header: String?, apiKey: String) -> Bool {
        guard let header, let space = header.firstIndex(of: " ") else { return false }
        return header[..<space].lowercased() == "bearer" && header[header.index(after: space)...] == apiKey
    }
}
