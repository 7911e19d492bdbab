import PersonaProxy
import Synchronization

/// The in-memory twin of `UpstreamCalling`: no governor, no budget, one call per exchange, so
/// read-through tests are about the read path alone. Rate-limit refusals are scripted too.
final class ScriptedUpstream: UpstreamCalling {
    private let client: ScriptedPersonaClient
    private let refusal: (refusal: RateLimitRefusal, afterExchanges: Int)?
    private let priorities = Mutex<[UpstreamPriority]>([])

    /// - Parameter refusing: every exchange after the first `afterExchanges` is refused for lack of budget.
    init(_ client: ScriptedPersonaClient, refusing refusal: (refusal: RateLimitRefusal, afterExchanges: Int)? = nil) {
        self.client = client
        self.refusal = refusal
    }

    func perform(_ request: UpstreamRequest, priority: UpstreamPriority, maxWait: Double?) async -> UpstreamExchange {
        let earlier = priorities.withLock { $0.append(priority); return $0.count - 1 }
        if let refusal, earlier >= refusal.afterExchanges { return UpstreamExchange(result: .refused(refusal.refusal), calls: []) }
        let started = ContinuousClock.now
        do throws(UpstreamError) {
            let response = try await client.send(request)
            return UpstreamExchange(
                result: .answered(response),
                calls: [UpstreamCall(attempt: 1, personaRequestId: response.personaRequestId, status: response.status, error: nil, duration: .now - started)])
        } catch {
            return UpstreamExchange(
                result: .failed(error), calls: [UpstreamCall(attempt: 1, personaRequestId: nil, status: nil, error: error, duration: .now - started)])
        }
    }

    /// The priority of every exchange asked for, in order.
    var askedPriorities: [UpstreamPriority] { priorities.withLock { $0 } }
}

extension ContinuousClock.Instant {
    fileprivate static var now: Self { ContinuousClock.now }
}
