public import Foundation
import NIOCore

/// Persona's own API-log entries for the calls a request made (`GET /api/v1/api-logs/{id}`),
/// read through a copy kept in the audit database for a day: an entry only changes when Persona
/// redacts it, and each lookup would otherwise spend the shared budget.
public struct PersonaAPILogReader: Sendable {
    let upstream: any UpstreamCalling
    let copies: any APILogCopyStore
    let clock: any WallClock
    let keepSeconds: Double

    public init(upstream: any UpstreamCalling, copies: any APILogCopyStore, clock: any WallClock, keepSeconds: Double = 86_400) {
        self.upstream = upstream
        self.copies = copies
        self.clock = clock
        self.keepSeconds = keepSeconds
    }

    /// One Persona request id's entry, or why there is none.
    public enum Lookup: Sendable, Equatable {
        /// Persona's JSON for the entry, from the local copy.
        case copy(Data)
        /// Persona's JSON for the entry, fetched now.
        case fetched(Data)
        /// Persona answered with an error (404 past its two-week retention, 403 without `api_log.read`): its body.
        case personaError(status: Int, body: Data)
        /// No answer: the reason.
        case unavailable(String)
    }

    /// - Parameter share: whose budget a fetch spends (the admin client asking).
    public func lookup(_ personaRequestId: String, share: BudgetShare = .local) async throws -> Lookup {
        if let copy = try await copies.copy(personaRequestId: personaRequestId, fetchedSince: clock.now().addingTimeInterval(-keepSeconds)) {
            return .copy(copy)
        }
        // Ids come from our own log, but a row may predate validation: never put an odd one in a path.
        guard ConnectionRequest.isValidConnectionId(personaRequestId) else { return .unavailable("not a Persona request id") }
        let request = UpstreamRequest(
            method: "GET", path: "/api/v1/api-logs/\(personaRequestId)",
            headers: [(name: "User-Agent", value: "persona-proxy/\(PersonaProxyVersion.string) (caller=\(share.client))")], share: share)
        let exchange = await upstream.perform(request)
        switch exchange.result {
        case .answered(let response) where response.status == 200:
            let body = Data(response.body.readableBytesView)
            try await copies.save(personaRequestId: personaRequestId, body: body, fetchedAt: clock.now())
            return .fetched(body)
        case .answered(let response):
            return .personaError(status: response.status, body: Data(response.body.readableBytesView))
        case .failed(let error):
            return .unavailable(error.summary)
        case .refused(let refusal):
            return .unavailable("rate limit: retry after \(refusal.retryAfterSeconds) s")
        }
    }
}
