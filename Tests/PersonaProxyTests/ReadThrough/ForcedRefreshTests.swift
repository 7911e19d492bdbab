import Foundation
import PersonaProxy
import Synchronization
import Testing

/// `Cache-Control: no-cache` and its kin on a fresh entry spend budget for nothing new; each
/// client may force only so many refreshes a minute.
@Suite struct ForcedRefreshTests {
    static func caller(_ client: String, perMinute: Int) -> CallerIdentity {
        CallerIdentity(name: client, requestId: "r", client: client, share: BudgetShare(client: client), forcedRefreshesPerMinute: perMinute)
    }

    @Test func beyondItsAllowanceAClientGetsTheCachedCopyAndNoUpstreamCall() async throws {
        let calls = Mutex(0)
        let harness = ReadThroughCacheTests.Harness { _ in ReadThroughCacheTests.ok("req_\(calls.withLock { $0 += 1; return $0 })") }
        let billing = Self.caller("billing", perMinute: 2)
        _ = try await harness.get(caller: billing)
        for expected in ["req_2", "req_3"] {
            let forced = try await harness.get("cxn_ABC123", CacheDirectives(noCache: true), caller: billing)
            #expect(forced.personaRequestId == expected)
        }
        harness.wall.advance(by: 10)
        let limited = try await harness.get("cxn_ABC123", CacheDirectives(maxAge: 0), caller: billing)
        #expect(limited.personaRequestId == "req_3", "the copy the last allowed refresh stored")
        #expect(limited.cacheStatus.headerValue == "persona-proxy; hit; ttl=290; detail=forced-refresh-limited")
        #expect(limited.isAnsweredFromCache)
        #expect(harness.client.requests.count == 3)
        #expect(harness.metricsText.contains(#"persona_proxy_client_refusals_total{client="billing",reason="forced_refresh_limited"} 1"#))

        // Another client has its own allowance.
        let other = try await harness.get("cxn_ABC123", CacheDirectives(noCache: true), caller: Self.caller("fraud", perMinute: 2))
        #expect(other.personaRequestId == "req_4")

        // Two a minute: one more every 30 s.
        harness.wall.advance(by: 21)
        let refilled = try await harness.get("cxn_ABC123", CacheDirectives(noCache: true), caller: billing)
        #expect(refilled.personaRequestId == "req_5")
    }

    @Test func onlyRefreshesOfAFreshEntryCountAndLoopbackCallersHaveNoLimit() async throws {
        let calls = Mutex(0)
        let harness = ReadThroughCacheTests.Harness { _ in ReadThroughCacheTests.ok("req_\(calls.withLock { $0 += 1; return $0 })") }
        let strict = Self.caller("strict", perMinute: 0)
        // A miss is not a forced refresh, nor is no-cache on an entry past its TTL.
        _ = try await harness.get("cxn_ABC123", CacheDirectives(noCache: true), caller: strict)
        harness.wall.advance(by: 400)
        let expired = try await harness.get("cxn_ABC123", CacheDirectives(noCache: true), caller: strict)
        #expect(expired.personaRequestId == "req_2")
        let limited = try await harness.get("cxn_ABC123", CacheDirectives(noCache: true), caller: strict)
        #expect(limited.cacheStatus.detail == "forced-refresh-limited")
        // Without clients configured, the caller carries no limit.
        for _ in 0..<12 { _ = try await harness.get("cxn_ABC123", CacheDirectives(noCache: true)) }
        #expect(harness.client.requests.count == 14)
    }

    @Test func theAllowanceRefillsEvenlyAndNeverBeyondTheLimit() {
        let allowance = ForcedRefreshAllowance()
        let start = Date(timeIntervalSince1970: 1_000_000)
        #expect((0..<6).map { _ in allowance.take("a", perMinute: 5, now: start) } == [true, true, true, true, true, false])
        #expect(allowance.take("a", perMinute: 5, now: start.addingTimeInterval(11)) == false, "one every 12 s")
        #expect(allowance.take("a", perMinute: 5, now: start.addingTimeInterval(12)) == true)
        let muchLater = start.addingTimeInterval(3600)
        #expect((0..<6).map { _ in allowance.take("a", perMinute: 5, now: muchLater) } == [true, true, true, true, true, false])
    }
}
