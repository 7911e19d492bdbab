import PersonaProxy
import Testing

/// The governor's decisions as plain values: no clock, no tasks.
@Suite struct RateLimitStateTests {
    var settings = RateLimitSettings(maxWaitSeconds: 10, reserveFraction: 0.15, maxConcurrency: 16, backoffBaseSeconds: 1, backoffMaxSeconds: 60, resetJitterSeconds: 0.25)

    func known(limit: Int, remaining: Int, endsAt: Double) -> RateLimitState {
        var state = RateLimitState()
        state.limit = limit
        state.remaining = remaining
        state.windowEndsAt = endsAt
        // Consistent with `remaining`: the rest of the window went to calls before these tests start.
        state.othersInWindow = limit - remaining
        return state
    }

    @Test func unknownBudgetSendsOneProbeAtATime() {
        var state = RateLimitState()
        #expect(state.decide(.foreground, now: 0, settings: settings, jitterSample: 0) == .proceed)
        state.issue(.foreground, now: 0, settings: settings)
        #expect(state.decide(.foreground, now: 0, settings: settings, jitterSample: 0) == .waitForCompletion)
        state.observe(status: 200, limit: 20, remaining: 19, reset: 5, now: 0.1, settings: settings, jitterSample: 0)
        #expect(state.remaining == 19)
        #expect(state.windowEndsAt == 5.1)
        #expect(state.decide(.foreground, now: 0.1, settings: settings, jitterSample: 0) == .proceed)
    }

    @Test func callsInFlightAreCountedAgainstTheLastKnownRemaining() {
        var state = known(limit: 20, remaining: 10, endsAt: 5)
        for _ in 0..<4 { state.issue(.foreground, now: 1, settings: settings) }
        #expect(state.remaining == 6)
        // The answer to the first of the four says 9 left; three are still in flight and may not be counted.
        state.observe(status: 200, limit: 20, remaining: 9, reset: 4, now: 1, settings: settings, jitterSample: 0)
        #expect(state.remaining == 6)
    }

    @Test func answersArrivingOutOfOrderDoNotLoseBudget() {
        // 20 per window, nothing spent by anyone else; 16 concurrent calls, answered out of order.
        var state = RateLimitState()
        let probe = state.issue(.foreground, now: 0, settings: settings)
        state.observe(status: 200, limit: 20, remaining: 19, reset: 5, now: 0.1, settings: settings, jitterSample: 0, sequence: probe)
        let sequences = (0..<16).map { _ in state.issue(.foreground, now: 0.1, settings: settings) }
        #expect(state.remaining == 3)
        // The first-issued call is answered last: Persona counted all 17 by then.
        for (index, sequence) in sequences.reversed().enumerated() {
            state.observe(status: 200, limit: 20, remaining: 3 + (15 - index) * 0, reset: 5, now: 0.2, settings: settings, jitterSample: 0, sequence: sequence)
        }
        #expect(state.remaining == 3, "the reserve is still there to spend, not lost to double counting")
    }

    @Test func anotherUserOfTheKeyIsSeenInPersonasCount() {
        var state = RateLimitState()
        let probe = state.issue(.foreground, now: 0, settings: settings)
        state.observe(status: 200, limit: 20, remaining: 19, reset: 5, now: 0.1, settings: settings, jitterSample: 0, sequence: probe)
        let next = state.issue(.foreground, now: 0.2, settings: settings)
        // Persona says 15 left after our second call: three calls were someone else's.
        state.observe(status: 200, limit: 20, remaining: 15, reset: 5, now: 0.3, settings: settings, jitterSample: 0, sequence: next)
        #expect(state.othersInWindow == 3)
        #expect(state.remaining == 15)
    }

    @Test func anAnswerIsNotChargedForCallsIssuedBeforeIt() {
        var state = known(limit: 20, remaining: 10, endsAt: 5)
        var sequences: [Int] = []
        for _ in 0..<4 { sequences.append(state.issue(.foreground, now: 1, settings: settings)) }
        // The last call's answer already counts the three sent before it: 6 left is exact.
        state.observe(status: 200, limit: 20, remaining: 6, reset: 4, now: 1, settings: settings, jitterSample: 0, sequence: sequences[3])
        #expect(state.remaining == 6)
        #expect(state.inFlight == 3)
    }

    @Test func afterA429NothingGoesUntilTheResetPlusJitter() {
        var state = known(limit: 20, remaining: 5, endsAt: 50)
        state.issue(.foreground, now: 10, settings: settings)
        state.observe(status: 429, limit: 20, remaining: 0, reset: 2, now: 10, settings: settings, jitterSample: 0)
        #expect(state.blockedUntil == 12)
        #expect(state.decide(.foreground, now: 11.9, settings: settings, jitterSample: 0.5) == .waitUntil(12.125))
        #expect(state.decide(.background, now: 11.9, settings: settings, jitterSample: 1) == .waitUntil(12.25))
        #expect(state.decide(.foreground, now: 12, settings: settings, jitterSample: 0) == .proceed)
        // The new window opens with the full limit.
        state.issue(.foreground, now: 12, settings: settings)
        #expect(state.remaining == 19)
    }

    @Test func backoffWithoutResetGrowsAndIsCapped() {
        var state = RateLimitState()
        var waits: [Double] = []
        var now = 0.0
        for _ in 0..<9 {
            state.issue(.foreground, now: now, settings: settings)
            state.observe(status: 429, limit: nil, remaining: nil, reset: nil, now: now, settings: settings, jitterSample: 0.999)
            let wait = state.blockedUntil! - now
            waits.append((wait / 0.999).rounded())
            now = state.blockedUntil!
        }
        #expect(waits == [1, 2, 4, 8, 16, 32, 60, 60, 60])
        // A success ends the streak.
        state.issue(.foreground, now: now, settings: settings)
        state.observe(status: 200, limit: 20, remaining: 10, reset: 30, now: now, settings: settings, jitterSample: 0)
        #expect(state.backoffStreak == 0)
    }

    @Test func underTheReserveForegroundIsPacedAndBackgroundWaitsForTheNextWindow() {
        // limit 20 → reserve ceil(3.0) = 3.
        var state = known(limit: 20, remaining: 3, endsAt: 4)
        #expect(state.decide(.background, now: 0, settings: settings, jitterSample: 0) == .waitUntil(4))
        #expect(state.decide(.foreground, now: 0, settings: settings, jitterSample: 0) == .proceed)
        state.issue(.foreground, now: 0, settings: settings)
        // 2 left over 4 s: the next one no sooner than 4 / 3 s from now.
        #expect(state.decide(.foreground, now: 0, settings: settings, jitterSample: 0) == .waitUntil(4.0 / 3.0))
        #expect(state.decide(.foreground, now: 1.34, settings: settings, jitterSample: 0) == .proceed)
    }

    @Test func aboveTheReserveBackgroundYieldsToWaitingForeground() {
        var state = known(limit: 100, remaining: 50, endsAt: 60)
        #expect(state.decide(.background, now: 0, settings: settings, jitterSample: 0) == .proceed)
        state.foregroundWaiting = 1
        #expect(state.decide(.background, now: 0, settings: settings, jitterSample: 0) == .waitForCompletion)
        #expect(state.decide(.foreground, now: 0, settings: settings, jitterSample: 0) == .proceed)
    }

    @Test func spentBudgetWaitsForTheWindowEnd() {
        let state = known(limit: 20, remaining: 0, endsAt: 4)
        #expect(state.decide(.foreground, now: 1, settings: settings, jitterSample: 0) == .waitUntil(4))
        #expect(state.decide(.foreground, now: 4, settings: settings, jitterSample: 0) == .proceed)
    }

    /// Whole-second resets rounded up: each answer bounds the end from above, and the smallest
    /// bound wins, so the proxy does not wait up to a second past every window.
    @Test func theWindowEndIsTheSharpestBoundTheAnswersGive() {
        var state = RateLimitState()
        state.issue(.foreground, now: 0, settings: settings)
        state.observe(status: 200, limit: 20, remaining: 19, reset: 5, now: 0.1, settings: settings, jitterSample: 0)
        #expect(state.windowEndsAt == 5.1)
        state.issue(.foreground, now: 0.7, settings: settings)
        state.observe(status: 200, limit: 20, remaining: 18, reset: 4, now: 0.8, settings: settings, jitterSample: 0)
        #expect(state.windowEndsAt == 4.8, "the reset ticked from 5 to 4 by 0.8 s: the window ends by 4.8 s")
        state.issue(.foreground, now: 1.0, settings: settings)
        state.observe(status: 200, limit: 20, remaining: 17, reset: 4, now: 1.1, settings: settings, jitterSample: 0)
        #expect(state.windowEndsAt == 4.8, "a looser bound does not move it later")
    }

    @Test func concurrencyIsCapped() {
        var settings = settings
        settings.maxConcurrency = 2
        var state = known(limit: 300, remaining: 300, endsAt: 60)
        state.issue(.foreground, now: 0, settings: settings)
        state.issue(.foreground, now: 0, settings: settings)
        #expect(state.decide(.foreground, now: 0, settings: settings, jitterSample: 0) == .waitForCompletion)
        state.observe(status: 200, limit: 300, remaining: 298, reset: 60, now: 0.1, settings: settings, jitterSample: 0)
        #expect(state.decide(.foreground, now: 0.1, settings: settings, jitterSample: 0) == .proceed)
    }
}

@Suite struct RetryPolicyTests {
    @Test func getRetriesConnectionErrorsAndGatewayStatusesTwice() {
        for outcome in [RetryPolicy.Outcome.unreachable, .answered(status: 502), .answered(status: 503), .answered(status: 504)] {
            #expect(RetryPolicy.decide(method: "GET", outcome: outcome, attempt: 1, failuresSoFar: 0, hasIdempotencyKey: false) == .retryAfterBackoff(failure: 1))
            #expect(RetryPolicy.decide(method: "GET", outcome: outcome, attempt: 2, failuresSoFar: 1, hasIdempotencyKey: false) == .retryAfterBackoff(failure: 2))
            #expect(RetryPolicy.decide(method: "GET", outcome: outcome, attempt: 3, failuresSoFar: 2, hasIdempotencyKey: false) == .done)
        }
    }

    @Test func timeoutsAndOtherStatusesAreNotRetried() {
        for outcome in [RetryPolicy.Outcome.timedOut, .answered(status: 500), .answered(status: 404), .answered(status: 200)] {
            #expect(RetryPolicy.decide(method: "GET", outcome: outcome, attempt: 1, failuresSoFar: 0, hasIdempotencyKey: true) == .done)
        }
    }

    @Test func postIsRetriedOn429AlwaysAndOnFailuresOnlyWithAnIdempotencyKey() {
        #expect(RetryPolicy.decide(method: "POST", outcome: .answered(status: 429), attempt: 1, failuresSoFar: 0, hasIdempotencyKey: false) == .retryWhenPermitted)
        #expect(RetryPolicy.decide(method: "POST", outcome: .unreachable, attempt: 1, failuresSoFar: 0, hasIdempotencyKey: false) == .done)
        #expect(RetryPolicy.decide(method: "POST", outcome: .answered(status: 503), attempt: 1, failuresSoFar: 0, hasIdempotencyKey: false) == .done)
        #expect(RetryPolicy.decide(method: "POST", outcome: .unreachable, attempt: 1, failuresSoFar: 0, hasIdempotencyKey: true) == .retryAfterBackoff(failure: 1))
    }

    @Test func attemptsAreBoundedEvenFor429() {
        #expect(RetryPolicy.decide(method: "GET", outcome: .answered(status: 429), attempt: RetryPolicy.maxAttempts, failuresSoFar: 0, hasIdempotencyKey: false) == .done)
    }
}
