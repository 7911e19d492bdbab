import Foundation
import NIOCore
import PersonaProxy
import Testing

@Suite struct CachePolicyTests {
    let policy = CachePolicy(ttlSeconds: 300, notFoundTTLSeconds: 30)
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func entry(fetched: Date, lifetime: Double) -> CachedEntry {
        CachedEntry(
            key: CacheKey(connectionId: "cxn_1", personaVersion: "", keyInflection: "", fields: ""), status: 200,
            body: ByteBuffer(string: "{}"), contentType: nil, personaRequestId: nil, environmentId: nil, organizationId: nil,
            fetchedAt: fetched, expiresAt: fetched.addingTimeInterval(lifetime))
    }

    @Test func nothingStoredIsAMiss() {
        #expect(policy.decide(entry: nil, now: start) == .miss)
    }

    @Test func freshEntryReportsAgeAndRemainingTTL() {
        let stored = entry(fetched: start, lifetime: 300)
        #expect(policy.decide(entry: stored, now: start.addingTimeInterval(88.7)) == .fresh(age: 88, ttlRemaining: 211))
    }

    @Test func entryExpiresExactlyAtItsExpiry() {
        let stored = entry(fetched: start, lifetime: 300)
        #expect(policy.decide(entry: stored, now: start.addingTimeInterval(299.5)) == .fresh(age: 299, ttlRemaining: 0))
        #expect(policy.decide(entry: stored, now: start.addingTimeInterval(300)) == .expired)
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
