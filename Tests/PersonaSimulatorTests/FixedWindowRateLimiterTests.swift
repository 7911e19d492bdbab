import PersonaSimulator
import Testing

@Suite struct FixedWindowRateLimiterTests {
    let start = ContinuousClock.now

    @Test func windowOpensWithFirstRequestAndRefusesOverLimit() {
        var limiter = FixedWindowRateLimiter(limit: 2, window: .seconds(60))
        #expect(limiter.decide(at: start) == .init(isAllowed: true, limit: 2, remaining: 1, secondsToReset: 60))
        #expect(limiter.decide(at: start + .seconds(10)) == .init(isAllowed: true, limit: 2, remaining: 0, secondsToReset: 50))
        #expect(limiter.decide(at: start + .seconds(20)) == .init(isAllowed: false, limit: 2, remaining: 0, secondsToReset: 40))
        // Refused requests never push `remaining` below zero.
        #expect(limiter.decide(at: start + .seconds(21)).remaining == 0)
    }

    @Test func newWindowStartsWithFirstRequestAfterTheOldOneEnded() {
        var limiter = FixedWindowRateLimiter(limit: 1, window: .seconds(60))
        _ = limiter.decide(at: start)
        #expect(!limiter.decide(at: start + .seconds(59)).isAllowed)
        // The window ends at exactly 60 s; a request 30 s later opens a new one from then.
        let later = start + .seconds(90)
        #expect(limiter.decide(at: later) == .init(isAllowed: true, limit: 1, remaining: 0, secondsToReset: 60))
        #expect(!limiter.decide(at: later + .seconds(59)).isAllowed)
    }

    @Test func resetIsRoundedUpAndAtLeastOne() {
        var limiter = FixedWindowRateLimiter(limit: 10, window: .seconds(60))
        _ = limiter.decide(at: start)
        #expect(limiter.decide(at: start + .milliseconds(300)).secondsToReset == 60)
        #expect(limiter.decide(at: start + .milliseconds(59_001)).secondsToReset == 1)
        #expect(limiter.decide(at: start + .nanoseconds(59_999_999_999)).secondsToReset == 1)
    }

    @Test func statusDoesNotCount() {
        var limiter = FixedWindowRateLimiter(limit: 3, window: .seconds(60))
        #expect(limiter.status(at: start) == .init(isAllowed: true, limit: 3, remaining: 3, secondsToReset: 60))
        _ = limiter.decide(at: start)
        #expect(limiter.status(at: start + .seconds(1)).remaining == 2)
        #expect(limiter.status(at: start + .seconds(1)).remaining == 2)
    }

    @Test func zeroLimitRefusesEverything() {
        var limiter = FixedWindowRateLimiter(limit: 0, window: .seconds(1))
        #expect(limiter.decide(at: start) == .init(isAllowed: false, limit: 0, remaining: 0, secondsToReset: 1))
    }

    @Test func reconfigureStartsAFreshWindow() {
        var limiter = FixedWindowRateLimiter(limit: 1, window: .seconds(60))
        _ = limiter.decide(at: start)
        limiter.reconfigure(limit: 5, window: .seconds(10))
        #expect(limiter.decide(at: start + .seconds(1)) == .init(isAllowed: true, limit: 5, remaining: 4, secondsToReset: 10))
    }
}
