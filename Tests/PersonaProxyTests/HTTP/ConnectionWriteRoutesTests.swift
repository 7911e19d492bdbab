import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PersonaProxy
import Prometheus
import Testing

/// The write routes alone, over the in-memory twin of the read-through layer: what reaches it,
/// and how each way a write can end becomes an HTTP answer and a request-log row.
@Suite struct ConnectionWriteRoutesTests {
    struct Harness {
        let cache = InMemoryConnectionCache()
        let log = MemoryRequestLogStore()
        let application: Application<RouterResponder<ProxyRequestContext>>

        init() {
            let router = Router(context: ProxyRequestContext.self)
            router.add(middleware: RequestEdgeMiddleware(metrics: ProxyMetrics(factory: PrometheusMetricsFactory(registry: PrometheusCollectorRegistry()))))
            let logger = Logger(label: "test")
            let recorder = RequestRecorder(store: log, hits: BatchedRequestLogWriter(store: log, logger: logger), recordHits: { true })
            ConnectionWriteRoutes(cache: cache, recorder: recorder, clock: ManualWallClock(), defaultPersonaVersion: { "2025-12-08" })
                .register(on: router)
            application = Application(router: router, logger: logger)
        }
    }

    static let created = UpstreamResponse(
        status: 201,
        headers: [(name: "Content-Type", value: "application/json; charset=utf-8"), (name: "Request-Id", value: "req_w1"),
                  (name: "RateLimit-Remaining", value: "299"), (name: "Set-Cookie", value: "never=forwarded")],
        body: ByteBuffer(string: #"{"data":{"type":"connect/connection","id":"cxn_NEW"}}"#))

    @Test func aCreateReachesTheReadThroughLayerWithItsBodyAndKeyAndIsAnsweredAsPersonaDid() async throws {
        let harness = Harness()
        harness.cache.state.withLock { $0.writeResult = { write in
            WriteResult(
                result: .answered(Self.created),
                calls: [UpstreamCall(attempt: 1, personaRequestId: "req_w1", status: 201, error: nil, duration: .milliseconds(3))],
                idempotencyKey: write.idempotencyKey ?? "generated")
        } }
        let body = #"{"data":{"attributes":{"destination-organization-id":"org_X"}}}"#
        try await harness.application.test(.router) { http in
            let response = try await http.execute(
                uri: "/api/v1/connect/connections", method: .post,
                headers: [.idempotencyKey: "caller-key", HTTPField.Name("X-Client-Name")!: "billing", .keyInflection: "snake"],
                body: ByteBuffer(string: body))
            #expect(response.status == .created)
            #expect(String(buffer: response.body) == #"{"data":{"type":"connect/connection","id":"cxn_NEW"}}"#)
            #expect(response.headers[.idempotencyKey] == "caller-key")
            #expect(response.headers[HTTPField.Name("Request-Id")!] == "req_w1")
            #expect(response.headers[HTTPField.Name("RateLimit-Remaining")!] == "299")
            #expect(response.headers[.setCookie] == nil, "only Persona's known headers pass")
            #expect(response.headers[.cacheStatus] == "persona-proxy; fwd=request; fwd-status=201")
        }
        let write = try #require(harness.cache.state.withLock { $0.writes.first })
        #expect(write.write.action == .create && write.write.connectionId == nil)
        #expect(String(buffer: write.write.body) == body)
        #expect(write.write.idempotencyKey == "caller-key")
        #expect(write.write.personaVersion == "2025-12-08" && write.write.keyInflection == "snake")
        #expect(write.caller.name == "billing")
        let record = try #require(try await harness.log.recent(limit: 10).first)
        #expect(record.method == "POST" && record.status == 201 && record.cacheOutcome == "pass")
        #expect(record.attempts.map(\.personaRequestId) == ["req_w1"])
    }

    @Test func deactivateAndReactivateNameTheConnectionAndOtherActionsAre404() async throws {
        let harness = Harness()
        try await harness.application.test(.router) { http in
            for action in ["deactivate", "reactivate"] {
                _ = try await http.execute(uri: "/api/v1/connect/connections/cxn_A1/\(action)", method: .post)
            }
            let unknown = try await http.execute(uri: "/api/v1/connect/connections/cxn_A1/delete", method: .post)
            #expect(unknown.status == .notFound)
            #expect(String(buffer: unknown.body).hasPrefix(#"{"errors":[{"title":"Not found""#))
            let create = try await http.execute(uri: "/api/v1/connect/connections/cxn_A1/create", method: .post)
            #expect(create.status == .notFound)
            let badId = try await http.execute(uri: "/api/v1/connect/connections/cxn%20A1/deactivate", method: .post)
            #expect(badId.status == .badRequest)
        }
        let writes = harness.cache.state.withLock { $0.writes.map { ($0.write.action, $0.write.connectionId, $0.write.path) } }
        #expect(writes.map(\.0) == [.deactivate, .reactivate])
        #expect(writes.map(\.2) == ["/api/v1/connect/connections/cxn_A1/deactivate", "/api/v1/connect/connections/cxn_A1/reactivate"])
    }

    @Test func failuresAndRefusalsArePersonaShapedAndRecorded() async throws {
        let harness = Harness()
        let refusal = RateLimitRefusal(retryAfterSeconds: 7, limit: 300, resetSeconds: 7)
        harness.cache.state.withLock { $0.writeResult = { write in
            write.connectionId == "cxn_T"
                ? WriteResult(
                    result: .failed(.timedOut(seconds: 3)),
                    calls: [UpstreamCall(attempt: 1, personaRequestId: nil, status: nil, error: .timedOut(seconds: 3), duration: .seconds(3))],
                    idempotencyKey: "k")
                : WriteResult(result: .refused(refusal), calls: [], idempotencyKey: "k")
        } }
        try await harness.application.test(.router) { http in
            let timedOut = try await http.execute(uri: "/api/v1/connect/connections/cxn_T/deactivate", method: .post)
            #expect(timedOut.status == .gatewayTimeout)
            #expect(String(buffer: timedOut.body).hasPrefix(#"{"errors":[{"title":"Gateway timeout","details":"Persona did not answer within 3 seconds"#))
            #expect(timedOut.headers[.cacheStatus] == "persona-proxy; fwd=request; detail=upstream-timeout")
            let refused = try await http.execute(uri: "/api/v1/connect/connections/cxn_R/deactivate", method: .post)
            #expect(refused.status == .tooManyRequests)
            #expect(refused.headers[.retryAfter] == "7")
            #expect(refused.headers[.cacheStatus] == "persona-proxy; fwd=request; detail=rate-limit-wait-exceeded")
        }
        let records = try await harness.log.recent(limit: 10)
        #expect(records.map(\.cacheOutcome) == ["rate_limited", "error"])
        #expect(records.last?.attempts.first?.error == "timed out after 3 s")
    }

    @Test func anInvalidCreateBodyIs400AndCostsNoBudget() async throws {
        let harness = Harness()
        try await harness.application.test(.router) { http in
            for body in ["not json", #"{"data":{"attributes":{}}}"#] {
                let response = try await http.execute(uri: "/api/v1/connect/connections", method: .post, body: ByteBuffer(string: body))
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).hasPrefix(#"{"errors":[{"title":"Bad Request","details":"#))
            }
        }
        #expect(harness.cache.state.withLock { $0.writes.isEmpty })
    }

    @Test func anOversizedBodyIs413AndNeverReachesTheReadThroughLayer() async throws {
        let harness = Harness()
        try await harness.application.test(.router) { http in
            let response = try await http.execute(
                uri: "/api/v1/connect/connections", method: .post, body: ByteBuffer(repeating: UInt8(ascii: "x"), count: 64 * 1024 + 1))
            #expect(response.status == .contentTooLarge)
            #expect(String(buffer: response.body).hasPrefix(#"{"errors":[{"title":"Payload too large""#))
        }
        #expect(harness.cache.state.withLock { $0.writes.isEmpty })
    }
}
