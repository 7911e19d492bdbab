import PersonaProxy
import Testing

/// One misbehaving answer must neither crash the process nor stop every call for a long time.
@Suite struct RateLimitHeadersTests {
    @Test func plainNumbersAreRead() {
        let headers = RateLimitHeaders(limit: "300", remaining: " 12 ", reset: "42")
        #expect(headers == RateLimitHeaders(limit: 300, remaining: 12, reset: 42))
    }

    @Test(arguments: ["inf", "-inf", "nan", "1e300", "-5", "soon", "86401", "0x10"])
    func anUnusableResetIsTreatedAsAbsent(value: String) {
        let headers = RateLimitHeaders(limit: "300", remaining: "0", reset: value)
        #expect(headers.reset == nil)
        #expect(headers.rejected == ["RateLimit-Reset"])
        #expect(headers.limit == 300 && headers.remaining == 0)
    }

    @Test(arguments: ["-5", "1e3", "soon", "99999999999999999999", "3.5"])
    func unusableCountsAreTreatedAsAbsent(value: String) {
        let headers = RateLimitHeaders(limit: value, remaining: value, reset: "10")
        #expect(headers.limit == nil && headers.remaining == nil)
        #expect(headers.rejected == ["RateLimit-Limit", "RateLimit-Remaining"])
        #expect(headers.reset == 10)
    }

    @Test func aLimitOfZeroIsNotABudget() {
        #expect(RateLimitHeaders(limit: "0", remaining: "0", reset: "10").limit == nil)
    }

    /// Persona's word is trusted only up to `backoff_max_seconds`: a reset of a day must not
    /// stop every call for a day.
    @Test func noWaitExceedsTheBackoffMaximum() {
        var settings = RateLimitSettings()
        settings.backoffMaxSeconds = 30
        settings.resetJitterSeconds = 0
        var state = RateLimitState()
        state.observe(status: 429, limit: 300, remaining: 0, reset: 3_600, now: 100, settings: settings, jitterSample: 0)
        guard case .waitUntil(let moment) = state.decide(.foreground, now: 100, settings: settings, jitterSample: 0) else {
            Issue.record("expected a wait")
            return
        }
        #expect(moment <= 130)
    }
}
