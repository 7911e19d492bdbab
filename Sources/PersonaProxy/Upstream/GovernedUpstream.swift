import Foundation
public import Logging
import NIOCore

/// Every call to Persona goes through here: a permit from the governor, the call, the answer
/// reported back, and retries by `RetryPolicy` within the caller's deadline.
public struct GovernedUpstream: UpstreamCalling {
    let client: any PersonaClient
    let governor: RateLimitGovernor
    let clock: any MonotonicClock
    let settings: @Sendable () -> RateLimitSettings
    let random: @Sendable () -> Double
    let metrics: ProxyMetrics
    let logger: Logger
    /// Sees every status Persona answers (readiness watches for 401/403).
    let onAnswer: @Sendable (Int) -> Void

    public init(
        client: any PersonaClient, governor: RateLimitGovernor, clock: any MonotonicClock,
        settings: @escaping @Sendable () -> RateLimitSettings, random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        metrics: ProxyMetrics, logger: Logger, onAnswer: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.client = client
        self.governor = governor
        self.clock = clock
        self.settings = settings
        self.random = random
        self.metrics = metrics
        self.logger = logger
        self.onAnswer = onAnswer
    }

    /// - Parameter maxWait: how long this request may wait for budget in total (nil: `rate_limit.max_wait_seconds`).
    public func perform(_ request: UpstreamRequest, priority: UpstreamPriority, maxWait: Double?) async -> UpstreamExchange {
        let deadline = clock.now() + (maxWait ?? settings().maxWaitSeconds)
        let hasIdempotencyKey = request.header("Idempotency-Key") != nil
        var calls: [UpstreamCall] = []
        var failures = 0
        while true {
            let permit: RateLimitGovernor.Permit
            do {
                permit = try await governor.permit(priority, share: request.share, deadline: deadline)
            } catch {
                return UpstreamExchange(result: .refused(error), calls: calls)
            }
            metrics.recordBudgetSpent(client: request.share.client, waited: permit.waited)
            let started = ContinuousClock.now
            let outcome: RetryPolicy.Outcome
            let result: UpstreamExchange.Result
            do throws(UpstreamError) {
                let response = try await client.send(request)
                let elapsed = ContinuousClock.now - started
                let rateLimit = RateLimitHeaders(response)
                for name in rateLimit.rejected {
                    metrics.recordInvalidRateLimitHeader(name)
                    logger.warning(
                        "ignored an unusable rate-limit header from Persona",
                        metadata: ["header": "\(name)", "value": "\(String((response.header(name) ?? "").prefix(40)))", "status": "\(response.status)"])
                }
                await governor.completed(
                    permit, status: response.status, limit: rateLimit.limit, remaining: rateLimit.remaining, reset: rateLimit.reset)
                metrics.recordUpstream(status: response.status, duration: elapsed)
                onAnswer(response.status)
                if response.status == 429 { metrics.recordRateLimited() }
                calls.append(
                    UpstreamCall(
                        attempt: calls.count + 1, personaRequestId: response.personaRequestId, status: response.status, error: nil,
                        duration: elapsed, waitedSeconds: permit.waited))
                outcome = .answered(status: response.status)
                result = .answered(response)
            } catch {
                let elapsed = ContinuousClock.now - started
                await governor.abandoned(permit)
                metrics.recordUpstream(status: nil, duration: elapsed)
                calls.append(
                    UpstreamCall(
                        attempt: calls.count + 1, personaRequestId: nil, status: nil, error: error, duration: elapsed,
                        waitedSeconds: permit.waited))
                if case .timedOut = error { outcome = .timedOut } else { outcome = .unreachable }
                result = .failed(error)
            }
            let decision = RetryPolicy.decide(
                method: request.method, outcome: outcome, attempt: calls.count, failuresSoFar: failures,
                hasIdempotencyKey: hasIdempotencyKey)
            switch decision {
            case .done:
                return UpstreamExchange(result: result, calls: calls)
            case .retryWhenPermitted:
                break
            case .retryAfterBackoff(let failure):
                failures = failure
                let delay = settings().backoff(attempt: failure, sample: random())
                // A retry that could only start after the deadline would just make the caller wait longer.
                guard clock.now() + delay < deadline else { return UpstreamExchange(result: result, calls: calls) }
                do { try await clock.sleep(until: clock.now() + delay) } catch { return UpstreamExchange(result: result, calls: calls) }
            }
            metrics.recordRetry()
            logger.debug("retrying upstream call", metadata: ["path": "\(request.path)", "attempt": "\(calls.count + 1)"])
        }
    }
}
