import Foundation
import NIOCore
import PersonaProxy
import Testing

@Suite struct CachePolicyTests {
    let policy = CachePolicy(ttlSeconds: 300, notFoundTTLSeconds: 30, staleWhileRevalidateSeconds: 60, staleIfErrorSeconds: 86_400)
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func entry(fetched: Date, lifetime: Double) -> CachedEntry {
        CachedEntry(
            key: CacheKey(connectionId: "cxn_1", personaVersion: "", keyInflection: "", fields: ""), status: 200,
            body: ByteBuffer(string: "{}"), contentType: nil, personaRequestId: nil, environmentId: nil, organizationId: nil,
            fetchedAt: fetched, expiresAt: fetched.addingTimeInterval(lifetime))
    }

    @Test func nothingStoredIsAMiss() {
        #expect(policy.decide(entry: nil, now: start) == .fetch(.miss, staleFallback: false))
    }

    @Test func freshEntryReportsAgeAndRemainingTTL() {
        let stored = entry(fetched: start, lifetime: 300)
        #expect(policy.decide(entry: stored, now: start.addingTimeInterval(88.7)) == .fresh(age: 88, ttlRemaining: 211))
    }

    @Test func entryExpiresExactlyAtItsExpiry() {
        let stored = entry(fetched: start, lifetime: 300)
        #expect(policy.decide(entry: stored, now: start.addingTimeInterval(299.5)) == .fresh(age: 299, ttlRemaining: 0))
        #expect(policy.decide(entry: stored, now: start.addingTimeInterval(300)) == .stale(age: 300, staleFor: 0, revalidate: true, reason: .whileRevalidate))
    }

    @Test func staleWhileRevalidateWindowThenFetchWithStaleFallback() {
        let stored = entry(fetched: start, lifetime: 300)
        #expect(
            policy.decide(entry: stored, now: start.addingTimeInterval(360)) == .stale(age: 360, staleFor: 60, revalidate: true, reason: .whileRevalidate))
        #expect(policy.decide(entry: stored, now: start.addingTimeInterval(360.5)) == .fetch(.stale, staleFallback: true))
        // Past stale-if-error there is nothing to fall back to.
        #expect(policy.decide(entry: stored, now: start.addingTimeInterval(300 + 86_400.5)) == .fetch(.stale, staleFallback: false))
    }

    @Test func noCacheRevalidatesEvenAFreshEntryAndNeverFallsBackToStale() {
        let stored = entry(fetched: start, lifetime: 300)
        let noCache = CacheDirectives(noCache: true)
        #expect(policy.decide(entry: stored, now: start.addingTimeInterval(10), directives: noCache) == .fetch(.request, staleFallback: false))
        #expect(policy.decide(entry: stored, now: start.addingTimeInterval(310), directives: noCache) == .fetch(.request, staleFallback: false))
    }

    @Test func maxAgeRefusesOlderEntries() {
        let stored = entry(fetched: start, lifetime: 300)
        let maxAge = CacheDirectives(maxAge: 60)
        #expect(policy.decide(entry: stored, now: start.addingTimeInterval(60), directives: maxAge) == .fresh(age: 60, ttlRemaining: 240))
        #expect(policy.decide(entry: stored, now: start.addingTimeInterval(61), directives: maxAge) == .fetch(.request, staleFallback: true))
        // max-age also rules out serving it stale-while-revalidate.
        #expect(policy.decide(entry: stored, now: start.addingTimeInterval(310), directives: maxAge) == .fetch(.stale, staleFallback: true))
    }

    @Test func maxStaleAcceptsThatMuchStaleness() {
        let stored = entry(fetched: start, lifetime: 300)
        let bounded = CacheDirectives(maxStale: 600)
        #expect(policy.decide(entry: stored, now: start.addingTimeInterval(900), directives: bounded) == .stale(age: 900, staleFor: 600, revalidate: false, reason: .maxStale))
        #expect(policy.decide(entry: stored, now: start.addingTimeInterval(901), directives: bounded) == .fetch(.stale, staleFallback: true))
        let unbounded = CacheDirectives(maxStale: Int.max)
        #expect(policy.decide(entry: stored, now: start.addingTimeInterval(100_000), directives: unbounded) == .stale(age: 100_000, staleFor: 99_700, revalidate: false, reason: .maxStale))
    }

    @Test func minFreshNeedsThatMuchTTLLeft() {
        let stored = entry(fetched: start, lifetime: 300)
        #expect(policy.decide(entry: stored, now: start.addingTimeInterval(200), directives: CacheDirectives(minFresh: 100)) == .fresh(age: 200, ttlRemaining: 100))
        #expect(policy.decide(entry: stored, now: start.addingTimeInterval(201), directives: CacheDirectives(minFresh: 100)) == .fetch(.request, staleFallback: true))
    }

    @Test func onlyIfCachedNeverFetches() {
        let onlyIfCached = CacheDirectives(onlyIfCached: true)
        let stored = entry(fetched: start, lifetime: 300)
        #expect(policy.decide(entry: nil, now: start, directives: onlyIfCached) == .unsatisfiable)
        #expect(policy.decide(entry: stored, now: start.addingTimeInterval(10), directives: onlyIfCached) == .fresh(age: 10, ttlRemaining: 290))
        #expect(policy.decide(entry: stored, now: start.addingTimeInterval(330), directives: onlyIfCached) == .stale(age: 330, staleFor: 30, revalidate: true, reason: .whileRevalidate))
        #expect(policy.decide(entry: stored, now: start.addingTimeInterval(400), directives: onlyIfCached) == .unsatisfiable)
    }

    @Test func clockSteppingBackNeverGivesNegativeAge() {
        let stored = entry(fetched: start, lifetime: 300)
        #expect(policy.decide(entry: stored, now: start.addingTimeInterval(-5)) == .fresh(age: 0, ttlRemaining: 305))
    }

    @Test func onlyConnectionsAndNotFoundAreStored() {
        #expect(policy.lifetime(forStatus: 200) == 300)
        #expect(policy.lifetime(forStatus: 404) == 30)
        for status in [201, 400, 401, 403, 409, 422, 429, 500, 502, 503] {
            #expect(policy.lifetime(forStatus: status) == nil, "status \(status) must not be cached")
        }
    }

    @Test func zeroTTLDisablesStoring() {
        let off = CachePolicy(ttlSeconds: 0, notFoundTTLSeconds: 0)
        #expect(off.lifetime(forStatus: 200) == nil)
        #expect(off.lifetime(forStatus: 404) == nil)
    }
}

@Suite struct CacheDirectivesTests {
    @Test func parsesTheRequestDirectives() {
        #expect(CacheDirectives.parse(cacheControl: "no-cache") == CacheDirectives(noCache: true))
        #expect(CacheDirectives.parse(cacheControl: "max-age=60, min-fresh=5") == CacheDirectives(maxAge: 60, minFresh: 5))
        #expect(CacheDirectives.parse(cacheControl: "MAX-STALE") == CacheDirectives(maxStale: Int.max))
        #expect(CacheDirectives.parse(cacheControl: "max-stale=\"30\", only-if-cached") == CacheDirectives(maxStale: 30, onlyIfCached: true))
        #expect(CacheDirectives.parse(cacheControl: "max-age=soon, private, foo=bar") == CacheDirectives())
        #expect(CacheDirectives.parse(cacheControl: nil, pragma: "no-cache") == CacheDirectives(noCache: true))
        #expect(CacheDirectives.parse(cacheControl: "max-age=5", pragma: "no-cache") == CacheDirectives(maxAge: 5))
    }
}

@Suite struct CacheStatusTests {
    @Test func hitNamesTheCacheAndTTL() {
        #expect(CacheStatus(hit: true, ttl: 212).headerValue == "persona-proxy; hit; ttl=212")
    }

    @Test func storedMissCarriesForwardStatus() {
        #expect(
            CacheStatus(forward: .miss, forwardStatus: 200, ttl: 300, stored: true).headerValue
                == "persona-proxy; fwd=miss; fwd-status=200; stored; ttl=300")
    }

    @Test func failureCarriesDetail() {
        #expect(CacheStatus(forward: .stale, detail: "upstream-timeout").headerValue == "persona-proxy; fwd=stale; detail=upstream-timeout")
    }
}
