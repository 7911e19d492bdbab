import Foundation
import Logging
import NIOCore
import PersonaProxy
import Prometheus
import Synchronization
import Testing

/// Coalescing and stale serving, on the read-through layer itself (memory store, the scripted
/// upstream twin without a governor, a manual clock), so a thousand concurrent callers cost no
/// sockets and no rate-limit rule leaks into what is tested.
@Suite struct ReadThroughCacheTests {
    struct Harness {
        let wall = ManualWallClock()
        let store = MemoryCacheStore()
        let client: ScriptedPersonaClient
        let registry = PrometheusCollectorRegistry()
        let cache: ReadThroughCache

        init(policy: CachePolicy = CachePolicy(ttlSeconds: 300, notFoundTTLSeconds: 30, staleWhileRevalidateSeconds: 60, staleIfErrorSeconds: 86_400),
             refusing refusal: (refusal: RateLimitRefusal, afterExchanges: Int)? = nil, answer: @escaping ScriptedPersonaClient.Answer) {
            client = ScriptedPersonaClient(answer)
            let metrics = ProxyMetrics(factory: PrometheusMetricsFactory(registry: registry))
            cache = ReadThroughCache(
                store: store, upstream: ScriptedUpstream(client, refusing: refusal), clock: wall, policy: { policy }, metrics: metrics, logger: Logger(label: "test"))
        }

        func get(
            _ id: String = "cxn_ABC123", _ directives: CacheDirectives = CacheDirectives(), caller: CallerIdentity = CallerIdentity(name: "test", requestId: "r")
        ) async throws -> ReadResult {
            let request = try ConnectionRequest.parse(connectionId: id, personaVersion: nil, keyInflection: nil, query: [], defaultPersonaVersion: nil)
            return try await cache.retrieve(request, directives: directives, caller: caller)
        }

        var metricsText: String { registry.emitToString() }
    }

    static func ok(_ id: String) -> UpstreamResponse {
        UpstreamResponse(
            status: 200, headers: [(name: "Request-Id", value: id), (name: "Content-Type", value: "application/json")],
            body: ByteBuffer(string: "{\"data\":{\"type\":\"connect/connection\",\"id\":\"cxn_ABC123\",\"fetch\":\"\(id)\"}}"))
    }

    @Test func thousandConcurrentMissesMakeOneUpstreamCallAndAllGetTheSameBytes() async throws {
        let gate = Gate()
        let harness = Harness { _ in
            await gate.wait()
            return ReadThroughCacheTests.ok("req_1")
        }
        let responses = try await withThrowingTaskGroup(of: ReadResult?.self) { group in
            for index in 0..<1000 {
                group.addTask {
                    if index == 7 {
                        // This caller goes away while the fetch runs: the others must not notice.
                        let waiter = Task { try await harness.get() }
                        await gate.waitForArrivals(1)
                        waiter.cancel()
                        return nil
                    }
                    return try await harness.get()
                }
            }
            await gate.waitForArrivals(1)
            // Let every caller reach the coalescer before the single fetch completes.
            for _ in 0..<2000 { await Task.yield() }
            gate.open()
            var collected: [ReadResult] = []
            for try await response in group { if let response { collected.append(response) } }
            return collected
        }
        #expect(harness.client.requests.count == 1)
        #expect(responses.count == 999)
        #expect(Set(responses.map { String(buffer: $0.body) }).count == 1)
        #expect(responses.allSatisfy { $0.personaRequestId == "req_1" })
        let leaders = responses.filter { !$0.cacheStatus.collapsed }
        #expect(leaders.count <= 1)
        #expect(responses.filter(\.cacheStatus.collapsed).allSatisfy { $0.calls.isEmpty && $0.cacheStatus.headerValue.contains("collapsed") })
        // Later callers hit the stored entry.
        #expect(try await harness.get().cacheStatus.hit)
    }

    @Test func coalescingNeverCrossesVariants() async throws {
        let gate = Gate()
        let harness = Harness { request in
            await gate.wait()
            return ReadThroughCacheTests.ok("req_\(request.header("Key-Inflection") ?? "none")")
        }
        async let camel = harness.cache.retrieve(
            try ConnectionRequest.parse(connectionId: "cxn_ABC123", personaVersion: nil, keyInflection: "camel", query: [], defaultPersonaVersion: nil),
            directives: CacheDirectives(), caller: CallerIdentity(name: "t", requestId: "1"))
        async let snake = harness.cache.retrieve(
            try ConnectionRequest.parse(connectionId: "cxn_ABC123", personaVersion: nil, keyInflection: "snake", query: [], defaultPersonaVersion: nil),
            directives: CacheDirectives(), caller: CallerIdentity(name: "t", requestId: "2"))
        // Both reach Persona, each with its own fetch: neither is shared with the other variant.
        await gate.waitForArrivals(2)
        gate.open()
        let (a, b) = try await (camel, snake)
        #expect(a.personaRequestId == "req_camel")
        #expect(b.personaRequestId == "req_snake")
        #expect(harness.client.requests.count == 2)
    }

    @Test func staleWhileRevalidateServesAtOnceAndRefreshesExactlyOnce() async throws {
        let calls = Mutex(0)
        let gate = Gate()
        let harness = Harness { _ in
            let n = calls.withLock { $0 += 1; return $0 }
            if n > 1 { await gate.wait() }
            return ReadThroughCacheTests.ok("req_\(n)")
        }
        _ = try await harness.get()
        harness.wall.advance(by: 330)
        for _ in 0..<10 {
            let response = try await harness.get()
            #expect(response.personaRequestId == "req_1")
            #expect(response.cacheStatus.headerValue == "persona-proxy; hit; ttl=-30; detail=stale-while-revalidate")
            #expect(response.age == 330)
        }
        await gate.waitForArrivals(1)
        gate.open()
        await harness.cache.drain()
        #expect(harness.client.requests.count == 2, "one refresh for ten stale hits")
        let refreshed = try await harness.get()
        #expect(refreshed.personaRequestId == "req_2")
        #expect(refreshed.cacheStatus.hit)
        #expect(harness.metricsText.contains(#"persona_proxy_background_refreshes_total{result="stored"} 1"#))
        #expect(harness.metricsText.contains(#"persona_proxy_stale_served_total{reason="stale-while-revalidate"} 10"#))
    }

    enum Failure: String, CaseIterable, CustomTestStringConvertible {
        case unreachable, timeout, status503, status500, rateLimited
        var testDescription: String { rawValue }
    }

    @Test(arguments: Failure.allCases)
    func staleIfErrorServesTheExpiredCopyAndSaysWhy(failure: Failure) async throws {
        let calls = Mutex(0)
        let refusal = failure == .rateLimited ? (refusal: RateLimitRefusal(retryAfterSeconds: 50, limit: 300, resetSeconds: 50), afterExchanges: 1) : nil
        let harness = Harness(refusing: refusal) { _ throws(UpstreamError) in
            let n = calls.withLock { $0 += 1; return $0 }
            if n == 1 { return ReadThroughCacheTests.ok("req_1") }
            switch failure {
            case .unreachable: throw .unreachable("connection refused")
            case .timeout: throw .timedOut(seconds: 10)
            case .status503: return UpstreamResponse(status: 503, headers: [], body: ByteBuffer(string: #"{"errors":[{"title":"Service unavailable"}]}"#))
            case .status500: return UpstreamResponse(status: 500, headers: [], body: ByteBuffer(string: "{}"))
            case .rateLimited: fatalError("refused before any call")
            }
        }
        let first = try await harness.get()
        harness.wall.advance(by: 300 + 3600)
        let response = try await harness.get()
        #expect(response.outcome == .staleIfError(expectedFailure(failure)))
        #expect(response.body == first.body)
        let expected = switch failure {
        case .unreachable: "persona-proxy; fwd=stale; ttl=-3600; detail=stale-if-error-upstream-unreachable"
        case .timeout: "persona-proxy; fwd=stale; ttl=-3600; detail=stale-if-error-upstream-timeout"
        case .status503: "persona-proxy; fwd=stale; fwd-status=503; ttl=-3600; detail=stale-if-error"
        case .status500: "persona-proxy; fwd=stale; fwd-status=500; ttl=-3600; detail=stale-if-error"
        case .rateLimited: "persona-proxy; fwd=stale; ttl=-3600; detail=stale-if-error-rate-limit-wait-exceeded"
        }
        #expect(response.cacheStatus.headerValue == expected)
        #expect(failure == .rateLimited || !response.calls.isEmpty, "the failed attempts are still recorded")
        #expect(response.isAnsweredFromCache == (failure == .rateLimited), "a stale copy served after calls Persona saw is committed, not batched")
        #expect(harness.metricsText.contains(#"persona_proxy_stale_served_total{reason="stale-if-error"} 1"#))
    }

    func expectedFailure(_ failure: Failure) -> UpstreamFailure {
        switch failure {
        case .unreachable: .error(.unreachable("connection refused"))
        case .timeout: .error(.timedOut(seconds: 10))
        case .status503: .status(503)
        case .status500: .status(500)
        case .rateLimited: .rateLimited
        }
    }

    @Test func withoutAStaleCopyTheErrorReachesTheCaller() async throws {
        let harness = Harness { _ throws(UpstreamError) in throw .unreachable("connection refused") }
        let response = try await harness.get()
        #expect(response.outcome == .failed(.unreachable("connection refused")))
        #expect(response.cacheStatus.headerValue == "persona-proxy; fwd=miss; detail=upstream-unreachable")
        // Too old for stale-if-error: the error too.
        let old = Harness { request throws(UpstreamError) in
            if old_calls.withLock({ $0 += 1; return $0 }) == 1 { return ReadThroughCacheTests.ok("req_1") }
            throw .unreachable("down")
        }
        _ = try await old.get()
        old.wall.advance(by: 300 + 86_400 + 1)
        #expect(try await old.get().outcome == .failed(.unreachable("down")))
    }

    @Test func onlyIfCachedForAnUnknownIdIs504WithoutAnUpstreamCall() async throws {
        let harness = Harness { _ in ReadThroughCacheTests.ok("req_1") }
        let response = try await harness.get("cxn_unknown", CacheDirectives(onlyIfCached: true))
        #expect(response.outcome == .unsatisfiable)
        #expect(response.cacheStatus.headerValue == "persona-proxy; detail=only-if-cached")
        #expect(harness.client.requests.isEmpty)
    }

    @Test func noCacheRevalidatesAFreshEntry() async throws {
        let calls = Mutex(0)
        let harness = Harness { _ in ReadThroughCacheTests.ok("req_\(calls.withLock { $0 += 1; return $0 })") }
        _ = try await harness.get()
        let revalidated = try await harness.get("cxn_ABC123", CacheDirectives(noCache: true))
        #expect(revalidated.personaRequestId == "req_2")
        #expect(revalidated.cacheStatus.headerValue == "persona-proxy; fwd=request; fwd-status=200; stored; ttl=300")
        #expect(try await harness.get().personaRequestId == "req_2", "the revalidated copy replaced the old one")
    }

    @Test func maxAgeAndMaxStaleShapeWhatIsAcceptable() async throws {
        let calls = Mutex(0)
        let harness = Harness { _ in ReadThroughCacheTests.ok("req_\(calls.withLock { $0 += 1; return $0 })") }
        _ = try await harness.get()
        harness.wall.advance(by: 120)
        #expect(try await harness.get("cxn_ABC123", CacheDirectives(maxAge: 200)).cacheStatus.hit)
        let tooOld = try await harness.get("cxn_ABC123", CacheDirectives(maxAge: 60))
        #expect(tooOld.personaRequestId == "req_2")
        harness.wall.advance(by: 300 + 600)
        let stale = try await harness.get("cxn_ABC123", CacheDirectives(maxStale: 3600))
        #expect(stale.personaRequestId == "req_2")
        #expect(stale.cacheStatus.headerValue == "persona-proxy; hit; ttl=-600; detail=max-stale")
        #expect(harness.client.requests.count == 2, "max-stale served without going upstream")
    }
}

private let old_calls = Mutex(0)
