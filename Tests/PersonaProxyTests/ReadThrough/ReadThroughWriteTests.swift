import Foundation
import Logging
import NIOCore
import PersonaProxy
import Prometheus
import Synchronization
import Testing

/// Writes through the read-through layer: what is sent upstream, and which cached copies go.
@Suite struct ReadThroughWriteTests {
    static func harness(status: Int) -> (cache: ReadThroughCache, store: MemoryCacheStore, client: ScriptedPersonaClient) {
        let store = MemoryCacheStore()
        let client = ScriptedPersonaClient { request in
            if request.method == "GET" { return ReadThroughCacheTests.ok("req_get") }
            return UpstreamResponse(status: status, headers: [(name: "Request-Id", value: "req_post")], body: ByteBuffer(string: "{}"))
        }
        let cache = ReadThroughCache(
            store: store, upstream: ScriptedUpstream(client), clock: ManualWallClock(),
            policy: { CachePolicy(ttlSeconds: 300, notFoundTTLSeconds: 30) },
            metrics: ProxyMetrics(factory: PrometheusMetricsFactory(registry: PrometheusCollectorRegistry())), logger: Logger(label: "test"))
        return (cache, store, client)
    }

    static func write(_ action: ConnectionWrite.Action, key: String? = nil) -> ConnectionWrite {
        ConnectionWrite(
            action: action, connectionId: action == .create ? nil : "cxn_ABC123", personaVersion: "2025-12-08", keyInflection: nil,
            body: ByteBuffer(string: "{}"), idempotencyKey: key)
    }

    static func warm(_ cache: ReadThroughCache) async throws {
        let request = try ConnectionRequest.parse(connectionId: "cxn_ABC123", personaVersion: nil, keyInflection: nil, query: [], defaultPersonaVersion: nil)
        _ = try await cache.retrieve(request, directives: CacheDirectives(), caller: CallerIdentity(name: "t", requestId: "r"))
    }

    @Test(arguments: [ConnectionWrite.Action.deactivate, .reactivate])
    func aSuccessfulStatusChangePurgesTheCachedConnection(action: ConnectionWrite.Action) async throws {
        let (cache, store, client) = Self.harness(status: 200)
        try await Self.warm(cache)
        #expect(store.count() == 1)
        let result = await cache.write(Self.write(action), caller: CallerIdentity(name: "billing", requestId: "r1"))
        guard case .answered(let response) = result.result else { Issue.record("not answered"); return }
        #expect(response.status == 200)
        #expect(store.count() == 0, "the old status must not be served after a \(action.rawValue)")
        let sent = try #require(client.requests.last)
        #expect(sent.method == "POST" && sent.path == "/api/v1/connect/connections/cxn_ABC123/\(action.rawValue)")
        #expect(sent.header("Persona-Version") == "2025-12-08")
        #expect(sent.header("User-Agent")?.contains("caller=billing") == true)
    }

    @Test func aRefusedStatusChangeKeepsTheCache() async throws {
        let (cache, store, _) = Self.harness(status: 409)
        try await Self.warm(cache)
        _ = await cache.write(Self.write(.deactivate), caller: CallerIdentity(name: "t", requestId: "r"))
        #expect(store.count() == 1)
    }

    @Test func everyWriteCarriesAnIdempotencyKeyTheCallersOrAFreshOne() async throws {
        let (cache, _, client) = Self.harness(status: 201)
        let given = await cache.write(Self.write(.create, key: "caller-key"), caller: CallerIdentity(name: "t", requestId: "r"))
        let made = await cache.write(Self.write(.create), caller: CallerIdentity(name: "t", requestId: "r"))
        #expect(given.idempotencyKey == "caller-key")
        #expect(made.idempotencyKey.hasPrefix("ppx-") && made.idempotencyKey.count > 20)
        #expect(client.requests.map { $0.header("Idempotency-Key") } == ["caller-key", made.idempotencyKey])
        #expect(client.requests.allSatisfy { $0.path == "/api/v1/connect/connections" })
    }

    /// Two services that pick the same key must never get each other's stored result from Persona.
    @Test func anAuthenticatedClientsKeyIsNamespacedAndEchoedAsSent() async throws {
        let (cache, _, client) = Self.harness(status: 201)
        let billing = await cache.write(Self.write(.create, key: "retry-1"), caller: CallerIdentity(name: "billing/w1", requestId: "r", client: "billing"))
        _ = await cache.write(Self.write(.create, key: "retry-1"), caller: CallerIdentity(name: "orders", requestId: "r", client: "orders"))
        #expect(client.requests.map { $0.header("Idempotency-Key") } == ["billing:retry-1", "orders:retry-1"])
        #expect(billing.idempotencyKey == "retry-1", "the caller gets back the key it sent")
    }
}
