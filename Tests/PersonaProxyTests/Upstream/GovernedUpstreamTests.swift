import Logging
import Metrics
import NIOCore
import PersonaProxy
import Prometheus
import Synchronization
import Testing

/// The governor and retry loop driven by a manual clock: every wait is a clock advance.
@Suite struct GovernedUpstreamTests {
    static func response(_ status: Int, remaining: Int = 10, reset: String? = "30", id: String) -> UpstreamResponse {
        var headers: [(name: String, value: String)] = [(name: "Request-Id", value: id), (name: "RateLimit-Limit", value: "20"), (name: "RateLimit-Remaining", value: String(remaining))]
        if let reset { headers.append((name: "RateLimit-Reset", value: reset)) }
        return UpstreamResponse(status: status, headers: headers, body: ByteBuffer(string: "{}"))
    }

    struct Harness {
        let clock = ManualMonotonicClock()
        let client: ScriptedPersonaClient
        let governor: RateLimitGovernor
        let upstream: GovernedUpstream
        let registry = PrometheusCollectorRegistry()

        init(settings: RateLimitSettings = RateLimitSettings(), answer: @escaping ScriptedPersonaClient.Answer) {
            client = ScriptedPersonaClient(answer)
            let clock = self.clock
            governor = RateLimitGovernor(clock: clock, settings: { settings }, random: { 0 })
            upstream = GovernedUpstream(
                client: client, governor: governor, clock: clock, settings: { settings }, random: { 0.5 },
                metrics: ProxyMetrics(factory: PrometheusMetricsFactory(registry: registry)), logger: Logger(label: "test"))
        }
    }

    @Test func after429NoCallUntilTheResetThenExactlyOneRetry() async throws {
        let calls = Mutex(0)
        let harness = Harness { _ in
            let n = calls.withLock { $0 += 1; return $0 }
            return n == 1 ? GovernedUpstreamTests.response(429, remaining: 0, reset: "2", id: "req_1") : GovernedUpstreamTests.response(200, id: "req_2")
        }
        let exchange = Task { await harness.upstream.perform(UpstreamRequest(method: "GET", path: "/api/v1/connect/connections/cxn_1")) }
        await harness.clock.waitForSleepers(1)
        #expect(harness.client.requests.count == 1)
        harness.clock.advance(by: 1.9)
        await harness.clock.waitForSleepers(1)
        #expect(harness.client.requests.count == 1, "no call before the reset")
        harness.clock.advance(by: 0.1)
        let result = await exchange.value
        #expect(harness.client.requests.count == 2)
        guard case .answered(let response) = result.result else { Issue.record("expected an answer"); return }
        #expect(response.status == 200)
        #expect(result.calls.map(\.status) == [429, 200])
        #expect(result.calls.map(\.personaRequestId) == ["req_1", "req_2"])
        #expect(result.calls[1].waitedSeconds == 2)
    }

    @Test func waitBeyondTheDeadlineIsRefusedAtOnceWithRetryAfter() async throws {
        let harness = Harness { _ in GovernedUpstreamTests.response(429, remaining: 0, reset: "30", id: "req_1") }
        let result = await harness.upstream.perform(UpstreamRequest(method: "GET", path: "/x"))
        guard case .refused(let refusal) = result.result else { Issue.record("expected a refusal, got \(result.result)"); return }
        #expect(refusal.retryAfterSeconds == 30)
        #expect(refusal.limit == 20)
        #expect(harness.client.requests.count == 1)
        #expect(harness.clock.now() == 0, "refused without waiting")
    }

    @Test func connectionErrorsAreRetriedWithBackoffWithinTheDeadline() async throws {
        let calls = Mutex(0)
        let harness = Harness { _ throws(UpstreamError) in
            let n = calls.withLock { $0 += 1; return $0 }
            if n < 3 { throw .unreachable("refused") }
            return GovernedUpstreamTests.response(200, id: "req_ok")
        }
        let exchange = Task { await harness.upstream.perform(UpstreamRequest(method: "GET", path: "/x")) }
        // Backoff 1: base 1 s × sample 0.5; backoff 2: 2 s × 0.5.
        await harness.clock.waitForSleepers(1)
        #expect(harness.clock.nextWake == 0.5)
        harness.clock.advance(by: 0.5)
        await harness.clock.waitForSleepers(1)
        #expect(harness.clock.nextWake == 1.5)
        harness.clock.advance(by: 1)
        let result = await exchange.value
        #expect(result.calls.map(\.status) == [nil, nil, 200])
    }

    @Test func postWithoutIdempotencyKeyIsNotRetriedAfterAFailure() async throws {
        let harness = Harness { _ throws(UpstreamError) in throw .unreachable("reset by peer") }
        let result = await harness.upstream.perform(UpstreamRequest(method: "POST", path: "/x"))
        #expect(result.calls.count == 1)
        let keyed = await harness.upstream.perform(UpstreamRequest(method: "POST", path: "/x", headers: [(name: "Idempotency-Key", value: "k")]), priority: .foreground, maxWait: 0.1)
        // With a key it would retry, but the first backoff (0.5 s) ends past this caller's 0.1 s budget.
        #expect(keyed.calls.count == 1)
    }

    @Test func concurrencyCapHoldsTheThirdCallUntilOneCompletes() async throws {
        var settings = RateLimitSettings()
        settings.maxConcurrency = 2
        let harness = Harness(settings: settings) { _ in GovernedUpstreamTests.response(200, id: "req") }
        // Learn the budget first (the first call is a lone probe).
        await harness.governor.completed(status: 200, limit: 300, remaining: 299, reset: 60)
        _ = try await harness.governor.permit(.foreground, deadline: 10)
        _ = try await harness.governor.permit(.foreground, deadline: 10)
        let third = Task { try await harness.governor.permit(.foreground, deadline: 10) }
        await harness.clock.waitForSleepers(1)
        #expect(await harness.governor.snapshot.inFlight == 2)
        await harness.governor.completed(status: 200, limit: 300, remaining: 297, reset: 60)
        let permit = try await third.value
        #expect(permit.waited == 0)
        #expect(await harness.governor.snapshot.inFlight == 2)
    }

    @Test func backgroundWaitsForTheNextWindowWhileForegroundProceeds() async throws {
        let harness = Harness { _ in GovernedUpstreamTests.response(200, id: "req") }
        // 20 per window, 3 left (the reserve): background must wait for the window end at t = 5.
        await harness.governor.completed(status: 200, limit: 20, remaining: 3, reset: 5)
        let background = Task { try await harness.governor.permit(.background, deadline: 100) }
        await harness.clock.waitForSleepers(1)
        let foreground = try await harness.governor.permit(.foreground, deadline: 10)
        #expect(foreground.waited == 0)
        harness.clock.advance(by: 4.9)
        await harness.clock.waitForSleepers(1)
        #expect(harness.clock.nextWake == 5)
        harness.clock.advance(by: 0.1)
        let permit = try await background.value
        #expect(permit.waited == 5)
    }
}
