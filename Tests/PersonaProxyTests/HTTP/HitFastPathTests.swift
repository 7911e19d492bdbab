import Foundation
import NIOCore
import PersonaProxy
import Synchronization
import Testing

/// The hit fast path must be invisible except in speed: the same request gets the same status,
/// headers (names, order, values but the per-request id and date) and body from a proxy with it
/// as from one without it, and the same request-log row and metrics.
@Suite struct HitFastPathTests {
    /// 200 for any id but `cxn_Missing…`, which Persona does not know.
    static func persona() -> ScriptedPersonaClient {
        let counter = Mutex(0)
        return ScriptedPersonaClient { request in
            let n = counter.withLock { $0 += 1; return $0 }
            let id = String(request.path.split(separator: "/").last!)
            let headers: [(name: String, value: String)] = [
                (name: "Content-Type", value: "application/json; charset=utf-8"), (name: "Request-Id", value: "req_\(n)"),
                (name: "Persona-Environment-Id", value: "env_test"), (name: "Persona-Organization-Id", value: "org_test"),
            ]
            if id.hasPrefix("cxn_Missing") {
                return UpstreamResponse(status: 404, headers: headers, body: ByteBuffer(string: #"{"errors":[{"title":"Record not found"}]}"#))
            }
            return UpstreamResponse(
                status: 200, headers: headers,
                body: ByteBuffer(string: #"{"data":{"type":"connect/connection","id":"\#(id)","attributes":{"status":"active"}}}"#))
        }
    }

    static func get(_ path: String, _ headers: [String] = []) -> [UInt8] {
        Array(("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n").utf8)
    }

    /// Every response but its per-request values (the proxy's id and the date).
    static func comparable(_ response: RawHTTPClient.Response) -> RawHTTPClient.Response {
        var copy = response
        copy.headers = copy.headers.map { header in
            ["X-Request-Id", "Date"].contains(header.name) ? (header.name, "…") : header
        }
        return copy
    }

    static let token = "ppt_fast-path-test-token"

    /// Runs the same exchanges against a proxy with the fast path and one without; returns both.
    static func both(
        clients: Bool = false, memoryEntries: Int? = nil, _ exchanges: @escaping @Sendable (Int) async throws -> [RawHTTPClient.Response]
    ) async throws -> (fast: [RawHTTPClient.Response], slow: [RawHTTPClient.Response]) {
        try await both(clients: clients, memoryEntries: memoryEntries) { port, _, _ in try await exchanges(port) }
    }

    /// The same, with the proxy's cache store and clock in reach of the exchanges.
    static func both(
        clients: Bool = false, memoryEntries: Int? = nil,
        _ exchanges: @escaping @Sendable (Int, any CacheStore, ManualWallClock) async throws -> [RawHTTPClient.Response]
    ) async throws -> (fast: [RawHTTPClient.Response], slow: [RawHTTPClient.Response]) {
        var results: [[RawHTTPClient.Response]] = []
        for fast in [true, false] {
            let proxy = TestProxy(client: persona()) { configuration in
                configuration.hitFastPath = fast
                if let memoryEntries { configuration.memoryEntries = memoryEntries }
                if clients {
                    configuration.clients = [ClientConfiguration(name: "billing", tokenSHA256: ClientConfiguration.hash(token: token), scopes: [.read])]
                }
            }
            let (store, clock) = (proxy.proxy.store, proxy.clock)
            results.append(try await proxy.testLive { client in try await exchanges(client.port!, store, clock) })
        }
        return (results[0], results[1])
    }

    @Test func aHitIsTheSameByteForByteWithAndWithoutTheFastPath() async throws {
        let (fast, slow) = try await Self.both { port in
            var responses: [RawHTTPClient.Response] = []
            for path in ["/api/v1/connect/connections/cxn_ABC123", "/api/v1/connect/connections/cxn_Missing1"] {
                responses += try await RawHTTPClient.exchange(port: port, Self.get(path), responses: 1)  // the miss
                responses += try await RawHTTPClient.exchange(port: port, Self.get(path, ["X-Client-Name: worker-3", "X-Request-Id: mine-1"]), responses: 1)
                responses += try await RawHTTPClient.exchange(port: port, Self.get(path, ["Connection: keep-alive"]), responses: 1)
            }
            return responses
        }
        #expect(fast.count == 6 && slow.count == 6)
        #expect(fast[1].header("Cache-Status") == "persona-proxy; hit; ttl=300")
        #expect(fast[2].header("Cache-Status") == "persona-proxy; hit; ttl=300")
        #expect(fast[5].statusLine == "HTTP/1.1 404 Not Found")
        for (a, b) in zip(fast, slow) {
            #expect(Self.comparable(a) == Self.comparable(b), "\(a.statusLine) \(a.headers) vs \(b.headers)")
        }
    }

    /// An entry that fell out of the memory tier is read from SQLite on the event loop: still a
    /// hit, with the same bytes, and no second call to Persona.
    @Test func anEntryOnlyInSQLiteIsAHitWithTheSameBytes() async throws {
        let (fast, slow) = try await Self.both(memoryEntries: 1) { port in
            var responses: [RawHTTPClient.Response] = []
            for id in ["cxn_First1", "cxn_Second2", "cxn_First1", "cxn_Second2"] {
                responses += try await RawHTTPClient.exchange(port: port, Self.get("/api/v1/connect/connections/\(id)"), responses: 1)
            }
            return responses
        }
        #expect(fast.map { $0.header("Request-Id") } == ["req_1", "req_2", "req_1", "req_2"], "no second call to Persona")
        #expect(fast[2].header("Cache-Status") == "persona-proxy; hit; ttl=300")
        for (a, b) in zip(fast, slow) { #expect(Self.comparable(a) == Self.comparable(b)) }
    }

    /// An entry the sweep confirmed: the same `Cache-Status` detail and `Age` (from the
    /// revalidation) on both paths, past the fetch's own expiry.
    @Test func aRevalidatedEntryIsTheSameOnBothPaths() async throws {
        let (fast, slow) = try await Self.both { port, store, clock in
            let path = "/api/v1/connect/connections/cxn_ABC123"
            var responses = try await RawHTTPClient.exchange(port: port, Self.get(path), responses: 1)
            clock.advance(by: 250)
            for entry in try await store.entries(connectionId: "cxn_ABC123") {
                _ = try await store.revalidate(entry.key, fetchedAt: entry.fetchedAt, at: clock.now(), expiresAt: clock.now().addingTimeInterval(300))
            }
            clock.advance(by: 100)
            responses += try await RawHTTPClient.exchange(port: port, Self.get(path), responses: 1)
            return responses
        }
        #expect(fast[1].header("Cache-Status") == "persona-proxy; hit; ttl=200; detail=revalidated-by-sweep")
        #expect(fast[1].header("Age") == "100")
        for (a, b) in zip(fast, slow) { #expect(Self.comparable(a) == Self.comparable(b)) }
    }

    @Test func withClientsTheTokenDecidesOnBothPathsAlike() async throws {
        let (fast, slow) = try await Self.both(clients: true) { port in
            let path = "/api/v1/connect/connections/cxn_ABC123"
            var responses = try await RawHTTPClient.exchange(port: port, Self.get(path, ["Authorization: Bearer \(Self.token)"]), responses: 1)
            for headers in [["Authorization: Bearer \(Self.token)"], [], ["Authorization: Bearer ppt_wrong"]] {
                responses += try await RawHTTPClient.exchange(port: port, Self.get(path, headers), responses: 1)
            }
            return responses
        }
        #expect(fast.map(\.statusLine) == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 401 Unauthorized", "HTTP/1.1 401 Unauthorized"])
        for (a, b) in zip(fast, slow) { #expect(Self.comparable(a) == Self.comparable(b)) }
    }

    @Test func pipelinedRequestsAreAnsweredInOrderWhenAMissIsBetweenHits() async throws {
        let proxy = TestProxy(client: Self.persona())
        let responses = try await proxy.testLive { client in
            let port = client.port!
            _ = try await RawHTTPClient.exchange(port: port, Self.get("/api/v1/connect/connections/cxn_ABC123"), responses: 1)
            let burst =
                Self.get("/api/v1/connect/connections/cxn_ABC123") + Self.get("/api/v1/connect/connections/cxn_Other1")
                + Self.get("/api/v1/connect/connections/cxn_ABC123") + Self.get("/healthz")
                + Self.get("/api/v1/connect/connections/cxn_ABC123")
            return try await RawHTTPClient.exchange(port: port, burst, responses: 5)
        }
        let cacheStatus = responses.map { $0.header("Cache-Status") ?? "none" }
        #expect(cacheStatus[0].contains("hit") && cacheStatus[1].contains("fwd=miss") && cacheStatus[2].contains("hit"), "\(cacheStatus)")
        #expect(responses[3].header("Cache-Status") == nil && responses[3].statusLine == "HTTP/1.1 200 OK", "/healthz in its place")
        #expect(String(decoding: responses[1].body, as: UTF8.self).contains("cxn_Other1"))
        let ids = responses.compactMap { $0.header("X-Request-Id") }
        #expect(Set(ids).count == 5, "every answer has its own id")
    }

    @Test func aFastHitIsLoggedAndCountedLikeASlowOne() async throws {
        let proxy = TestProxy(client: Self.persona())
        let (record, responses) = try await proxy.testLive { client in
            let port = client.port!
            _ = try await RawHTTPClient.exchange(port: port, Self.get("/api/v1/connect/connections/cxn_ABC123"), responses: 1)
            let hit = try await RawHTTPClient.exchange(
                port: port, Self.get("/api/v1/connect/connections/cxn_ABC123", ["X-Client-Name: worker-3", "X-Request-Id: order-9"]), responses: 1)
            await proxy.proxy.hitWriter.flush()
            return (try await proxy.proxy.requestLog.recent(limit: 1).first, hit)
        }
        #expect(record?.requestId == responses[0].header("X-Request-Id"))
        #expect(record?.callerRequestId == "order-9")
        #expect(record?.caller == "worker-3")
        #expect(record?.cacheOutcome == "hit" && record?.status == 200 && record?.personaRequestId == "req_1")
        let metrics = proxy.registry.emitToString()
        #expect(metrics.contains(#"persona_proxy_requests_total{route="/api/v1/connect/connections/{connection}",status="200",cache="hit"} 1"#), "\(metrics)")
        #expect(metrics.contains(#"persona_proxy_client_requests_total{client="local"} 2"#))
    }

    @Test(arguments: [
        ("GET /api/v1/connect/connections/cxn_A HTTP/1.1\r\nHost: x\r\n\r\n", "simple"),
        ("GET /api/v1/connect/connections/cxn_A HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\nX-Request-Id: r\r\n\r\nGET", "simple"),
        ("GET /api/v1/connect/connections/cxn_A HTTP/1.1\r\nConnection: Keep-Alive\r\nHost: x\r\n\r\n", "simple"),
        ("GET /api/v1/connect/connections/cxn_A HTTP/1.1\r\nConnection: close\r\nHost: x\r\n\r\n", "other"),
        ("GET /api/v1/connect/connections/cxn_A HTTP/1.1\r\nHost: x\r\n", "incomplete"),
        ("GET /api/v1/connect/connections/cxn_A HTTP/1.0\r\nHost: x\r\n\r\n", "other"),
        ("GET /api/v1/connect/connections/cxn_A?fields[x]=y HTTP/1.1\r\nHost: x\r\n\r\n", "other"),
        ("GET /api/v1/connect/connections/cxn_A HTTP/1.1\r\nHost: x\r\nCache-Control: no-cache\r\n\r\n", "other"),
        ("GET /api/v1/connect/connections/cxn_A HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", "other"),
        ("GET /api/v1/connect/connections/cxn_A HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", "other"),
        ("GET /api/v1/connect/connections/cxn_A HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", "other"),
        ("GET /api/v1/connect/connections/cxn_A HTTP/1.1\r\nX-Bad Name: v\r\nHost: x\r\n\r\n", "other"),
        ("GET /api/v1/connect/connections/cxn_A HTTP/1.1\r\n\r\n", "other"),
        ("POST /api/v1/connect/connections/cxn_A HTTP/1.1\r\nHost: x\r\n\r\n", "other"),
        ("GET /admin/requests HTTP/1.1\r\nHost: x\r\n\r\n", "other"),
    ])
    func theRequestReaderTakesOnlyWhatItFullyUnderstands(request: String, expected: String) {
        let parse = Array(request.utf8).withUnsafeBytes { FastRequestHead.parse($0, maxHeadBytes: 16_384) }
        switch parse {
        case .simple(let head, let length):
            #expect(expected == "simple")
            #expect(head.path == "/api/v1/connect/connections/cxn_A" && head.host == "x")
            #expect(length == request.utf8.count - (request.hasSuffix("GET") ? 3 : 0))
            if request.contains("Authorization") { #expect(head.authorization == "Bearer t" && head.requestId == "r") }
        case .incomplete: #expect(expected == "incomplete")
        case .other: #expect(expected == "other")
        }
    }
}
