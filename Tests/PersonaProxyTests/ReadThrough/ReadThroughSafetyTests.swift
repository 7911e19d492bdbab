import Foundation
import Logging
import NIOCore
import PersonaProxy
import Prometheus
import Synchronization
import Testing

/// What the read path must never store or serve, whatever the upstream and the timing.
@Suite struct ReadThroughSafetyTests {
    static func cache(
        store: any CacheStore, client: ScriptedPersonaClient, upstream identity: String = "env-a", clock: ManualWallClock = ManualWallClock(),
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()
    ) -> ReadThroughCache {
        ReadThroughCache(
            store: store, upstream: ScriptedUpstream(client), upstreamIdentity: identity, clock: clock,
            policy: { CachePolicy(ttlSeconds: 300, notFoundTTLSeconds: 30, staleWhileRevalidateSeconds: 0, staleIfErrorSeconds: 86_400) },
            metrics: ProxyMetrics(factory: PrometheusMetricsFactory(registry: registry)), logger: Logger(label: "test"))
    }

    static func get(_ cache: ReadThroughCache, _ id: String = "cxn_ABC123") async throws -> ReadResult {
        let request = try ConnectionRequest.parse(connectionId: id, personaVersion: nil, keyInflection: nil, query: [], defaultPersonaVersion: nil)
        return try await cache.retrieve(request, directives: CacheDirectives(), caller: CallerIdentity(name: "t", requestId: "r"))
    }

    /// The fetch is held at the upstream while the purge happens (a deactivate elsewhere): the
    /// answer it then gets predates the purge and must not be stored.
    @Test func aFetchStalledAcrossAPurgeNeverStoresTheOldDocument() async throws {
        let gate = Gate()
        let calls = Mutex(0)
        let store = TieredCacheStore(memory: MemoryCacheStore(), durable: MemoryCacheStore())
        let cache = Self.cache(
            store: store,
            client: ScriptedPersonaClient { _ in
                if calls.withLock({ $0 += 1; return $0 }) == 1 { await gate.wait() }
                return ReadThroughCacheTests.ok("req_\(calls.withLock { $0 })")
            })
        async let stalled = Self.get(cache)
        await gate.waitForArrivals(1)
        #expect(try await cache.purge(connectionId: "cxn_ABC123") == 0)
        gate.open()
        let answered = try await stalled
        #expect(answered.outcome == .forwarded(stored: false), "the caller still gets Persona's answer, it is just not kept")
        #expect(try await store.count() == 0)
        let next = try await Self.get(cache)
        #expect(next.outcome == .forwarded(stored: true) && next.personaRequestId == "req_2", "the next request fetches afresh")
    }

    /// A sandbox key's documents are never served to a production key, or to another base URL.
    @Test func anotherUpstreamNeverSeesTheseEntries() async throws {
        let store = MemoryCacheStore()
        let client = ScriptedPersonaClient.connections()
        _ = try await Self.get(Self.cache(store: store, client: client, upstream: "sandbox"))
        let production = try await Self.get(Self.cache(store: store, client: client, upstream: "production"))
        #expect(production.outcome == .forwarded(stored: true), "a miss, not the sandbox's copy")
        #expect(client.requests.count == 2)
        #expect(store.count() == 2)
    }

    @Test func anInvalidAnswerIsNotStoredAndTheStaleCopyIsServed() async throws {
        let clock = ManualWallClock()
        let registry = PrometheusCollectorRegistry()
        let garbage = Mutex(false)
        let store = MemoryCacheStore()
        let cache = Self.cache(
            store: store,
            client: ScriptedPersonaClient { _ in
                garbage.withLock { $0 }
                    ? UpstreamResponse(status: 200, headers: [(name: "Request-Id", value: "req_bad")], body: ByteBuffer(string: "<html>"))
                    : ReadThroughCacheTests.ok("req_good")
            }, clock: clock, registry: registry)
        let good = try await Self.get(cache)
        clock.advance(by: 301)
        garbage.withLock { $0 = true }
        let stale = try await Self.get(cache)
        guard case .staleIfError(.invalid(let invalid)) = stale.outcome else {
            Issue.record("expected stale-if-error for an invalid answer, got \(stale.outcome)")
            return
        }
        #expect(invalid.reason == .notJSON)
        #expect(stale.body == good.body)
        #expect(stale.calls.map(\.personaRequestId) == ["req_bad"], "the bad call is still recorded, with Persona's id")
        #expect(store.entry(for: try ConnectionRequest.parse(
            connectionId: "cxn_ABC123", personaVersion: nil, keyInflection: nil, query: [], defaultPersonaVersion: nil).cacheKey(upstream: "env-a"))?
            .personaRequestId == "req_good")
        #expect(registry.emitToString().contains(#"persona_proxy_upstream_invalid_responses_total{reason="not_json"} 1"#))
        // Nothing cached at all: the caller gets a 502 that says what was wrong.
        let cold = try await Self.get(cache, "cxn_OTHER")
        guard case .invalidAnswer(let coldInvalid) = cold.outcome else {
            Issue.record("expected an invalid answer, got \(cold.outcome)")
            return
        }
        #expect(cold.status == 502)
        #expect(coldInvalid.explanation.contains("not a JSON document"))
    }
}
