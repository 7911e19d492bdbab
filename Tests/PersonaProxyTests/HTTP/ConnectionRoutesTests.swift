import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PersonaProxy
import Testing

/// The read path through the real router, SQLite and request log, with the upstream replaced by
/// its scripted twin so each decision can be driven exactly.
@Suite struct ConnectionRoutesTests {
    static let path = "/api/v1/connect/connections/cxn_ABC123"

    @Test func missThenHitServesIdenticalBytesWithOneUpstreamCall() async throws {
        let client = ScriptedPersonaClient.connections()
        let proxy = TestProxy(client: client)
        try await proxy.test { http in
            let first = try await http.execute(uri: Self.path, method: .get)
            #expect(first.status == .ok)
            #expect(first.headers[HTTPField.Name("Cache-Status")!] == "persona-proxy; fwd=miss; fwd-status=200; stored; ttl=300")
            #expect(first.headers[HTTPField.Name("Request-Id")!] == "req_scripted_1")
            #expect(first.headers[.age] == nil)
            proxy.clock.advance(by: 88)
            let second = try await http.execute(uri: Self.path, method: .get)
            #expect(second.status == .ok)
            #expect(second.body == first.body)
            #expect(second.headers[HTTPField.Name("Cache-Status")!] == "persona-proxy; hit; ttl=212")
            #expect(second.headers[.age] == "88")
            #expect(second.headers[.contentType] == "application/json; charset=utf-8")
            #expect(second.headers[HTTPField.Name("Request-Id")!] == "req_scripted_1")
            #expect(second.headers[HTTPField.Name("Persona-Environment-Id")!] == "env_test")
            #expect(second.headers[HTTPField.Name("Persona-Organization-Id")!] == "org_test")
        }
        #expect(client.requests.count == 1)
    }

    @Test func expiredEntryIsFetchedAgain() async throws {
        let client = ScriptedPersonaClient.connections()
        let proxy = TestProxy(client: client) {
            $0.cacheTTLSeconds = 60
            $0.staleWhileRevalidateSeconds = 0
        }
        try await proxy.test { http in
            _ = try await http.execute(uri: Self.path, method: .get)
            proxy.clock.advance(by: 59)
            #expect(try await http.execute(uri: Self.path, method: .get).headers[HTTPField.Name("Cache-Status")!]?.contains("hit") == true)
            proxy.clock.advance(by: 1)
            let refreshed = try await http.execute(uri: Self.path, method: .get)
            #expect(refreshed.headers[HTTPField.Name("Cache-Status")!] == "persona-proxy; fwd=stale; fwd-status=200; stored; ttl=60")
            #expect(refreshed.headers[HTTPField.Name("Request-Id")!] == "req_scripted_2")
        }
        #expect(client.requests.count == 2)
    }

    @Test func notFoundIsCachedForItsOwnShorterTTL() async throws {
        let client = ScriptedPersonaClient { _ in
            UpstreamResponse(
                status: 404, headers: [(name: "Content-Type", value: "application/json"), (name: "Request-Id", value: "req_404")],
                body: ByteBuffer(string: #"{"errors":[{"title":"Record not found"}]}"#))
        }
        // No stale-while-revalidate: the request after expiry fetches before it answers, so the
        // count below does not race a background refresh.
        let proxy = TestProxy(client: client) { $0.staleWhileRevalidateSeconds = 0 }
        try await proxy.test { http in
            let first = try await http.execute(uri: Self.path, method: .get)
            #expect(first.status == .notFound)
            #expect(first.text == #"{"errors":[{"title":"Record not found"}]}"#)
            proxy.clock.advance(by: 29)
            let second = try await http.execute(uri: Self.path, method: .get)
            #expect(second.status == .notFound)
            #expect(second.headers[HTTPField.Name("Cache-Status")!] == "persona-proxy; hit; ttl=1")
            #expect(client.requests.count == 1)
            proxy.clock.advance(by: 1)
            _ = try await http.execute(uri: Self.path, method: .get)
            #expect(client.requests.count == 2)
        }
    }

    /// Upstream attempts per request: gateway errors are retried twice, everything else is final.
    @Test(arguments: [(401, 1), (403, 1), (409, 1), (500, 1), (503, 3)])
    func otherStatusesPassThroughUnchangedAndAreNotStored(status: Int, attemptsPerRequest: Int) async throws {
        let client = ScriptedPersonaClient { _ in
            UpstreamResponse(
                status: status,
                headers: [(name: "Content-Type", value: "application/json"), (name: "Request-Id", value: "req_x"), (name: "RateLimit-Remaining", value: "7")],
                body: ByteBuffer(string: #"{"errors":[{"title":"Upstream says no"}]}"#))
        }
        let proxy = TestProxy(client: client)
        try await proxy.test { http in
            for _ in 0..<2 {
                let response = try await http.execute(uri: Self.path, method: .get)
                #expect(response.status.code == status)
                #expect(response.text == #"{"errors":[{"title":"Upstream says no"}]}"#)
                #expect(response.headers[HTTPField.Name("RateLimit-Remaining")!] == "7")
                #expect(response.headers[HTTPField.Name("Cache-Status")!] == "persona-proxy; fwd=miss; fwd-status=\(status)")
            }
        }
        #expect(client.requests.count == 2 * attemptsPerRequest)
    }

    @Test func budgetBeyondTheWaitLimitGetsPersonaShaped429WithRetryAfter() async throws {
        let client = ScriptedPersonaClient { _ in
            UpstreamResponse(
                status: 429,
                headers: [(name: "Request-Id", value: "req_429"), (name: "RateLimit-Limit", value: "300"), (name: "RateLimit-Remaining", value: "0"),
                          (name: "RateLimit-Reset", value: "42")],
                body: ByteBuffer(string: #"{"errors":[{"title":"Rate limit exceeded"}]}"#))
        }
        let proxy = TestProxy(client: client)
        try await proxy.test { http in
            let response = try await http.execute(uri: Self.path, method: .get)
            #expect(response.status == .tooManyRequests)
            #expect(response.headers[.retryAfter] == "42")
            #expect(response.headers[HTTPField.Name("RateLimit-Limit")!] == "300")
            #expect(response.headers[HTTPField.Name("RateLimit-Remaining")!] == "0")
            #expect(response.headers[HTTPField.Name("RateLimit-Reset")!] == "42")
            #expect(response.text.hasPrefix(#"{"errors":[{"title":"Rate limit exceeded","details":"#))
            // A second caller is refused by the governor without another upstream call.
            let second = try await http.execute(uri: "/api/v1/connect/connections/cxn_other", method: .get)
            #expect(second.status == .tooManyRequests)
            let records = try await proxy.proxy.requestLog.recent(limit: 10)
            #expect(records.first?.attempts.isEmpty == true)
            #expect(records.last?.attempts.map(\.personaRequestId) == ["req_429"])
        }
        #expect(client.requests.count == 1)
    }

    @Test func variantsNeverServeEachOthersBytes() async throws {
        let client = ScriptedPersonaClient.connections()
        let proxy = TestProxy(client: client)
        try await proxy.test { http in
            let kebab = try await http.execute(uri: Self.path, method: .get, headers: [HTTPField.Name("Key-Inflection")!: "kebab"])
            let camel = try await http.execute(uri: Self.path, method: .get, headers: [HTTPField.Name("Key-Inflection")!: "camel"])
            let fields = try await http.execute(uri: Self.path + "?fields%5Bconnect%2Fconnection%5D=status", method: .get)
            #expect(kebab.body != camel.body)
            #expect(fields.body != kebab.body)
            #expect(camel.headers[HTTPField.Name("Cache-Status")!]?.contains("fwd=miss") == true)
            let camelAgain = try await http.execute(uri: Self.path, method: .get, headers: [HTTPField.Name("Key-Inflection")!: "camel"])
            #expect(camelAgain.body == camel.body)
            #expect(camelAgain.headers[HTTPField.Name("Cache-Status")!]?.contains("hit") == true)
        }
        #expect(client.requests.count == 3)
        #expect(client.requests[2].query == "fields%5Bconnect/connection%5D=status")
    }

    @Test func invalidIdsAndUnknownPathsNeverReachUpstream() async throws {
        let client = ScriptedPersonaClient.connections()
        let proxy = TestProxy(client: client)
        try await proxy.test { http in
            let badId = try await http.execute(uri: "/api/v1/connect/connections/cxn_bad%20id", method: .get)
            #expect(badId.status == .badRequest)
            #expect(badId.text.hasPrefix(#"{"errors":[{"title":"Bad Request","details":"#))
            let longId = try await http.execute(uri: "/api/v1/connect/connections/" + String(repeating: "a", count: 129), method: .get)
            #expect(longId.status == .badRequest)
            for (uri, method) in [
                ("/api/v1/inquiries/inq_1", HTTPRequest.Method.get), ("/api/v1/connect/connections/cxn_1/status", .get),
                ("/api/v1/api-logs", .get), ("/api/v1/connect/connections/cxn_ABC123/destroy", .post), ("/", .get),
            ] {
                let response = try await http.execute(uri: uri, method: method)
                #expect(response.status == .notFound, "\(method) \(uri)")
                #expect(response.text.hasPrefix(#"{"errors":[{"title":"Not found""#), "\(method) \(uri)")
                #expect(response.headers[.xRequestId] != nil)
            }
        }
        #expect(client.requests.isEmpty)
    }

    @Test func callerAuthorizationAndHeadersAreNotForwarded() async throws {
        let client = ScriptedPersonaClient.connections()
        let proxy = TestProxy(client: client) { $0.personaVersion = "2025-12-08" }
        let response = try await proxy.test { http in
            try await http.execute(
                uri: Self.path, method: .get,
                headers: [.authorization: "Bearer caller-token", .cookie: "session=1", HTTPField.Name("X-Client-Name")!: "billing-svc",
                          .xRequestId: "trace-123"])
        }
        let proxyId = try #require(response.headers[.xRequestId])
        #expect(proxyId != "trace-123", "the proxy issues its own id")
        let sent = try #require(client.requests.first)
        #expect(sent.header("Authorization") == nil)
        #expect(sent.header("Cookie") == nil)
        #expect(sent.header("Persona-Version") == "2025-12-08")
        #expect(sent.header("User-Agent") == "persona-proxy/\(PersonaProxyVersion.string) (caller=billing-svc; request-id=\(proxyId))")
    }

    @Test func everyUpstreamCallIsInTheRequestLogBeforeTheResponse() async throws {
        let client = ScriptedPersonaClient.connections()
        let proxy = TestProxy(client: client)
        try await proxy.test { http in
            let response = try await http.execute(uri: Self.path, method: .get, headers: [.xRequestId: "call-1"])
            // Read straight after the response: the row must already be committed.
            let records = try await proxy.proxy.requestLog.recent(limit: 10)
            #expect(records.count == 1)
            let record = try #require(records.first)
            #expect(record.callerRequestId == "call-1")
            #expect(response.headers[.xRequestId] == record.requestId)
            #expect(record.personaRequestId == "req_scripted_1")
            #expect(record.connectionId == "cxn_ABC123")
            #expect(record.cacheOutcome == "miss")
            #expect(record.status == 200)
            #expect(record.attempts.map(\.personaRequestId) == ["req_scripted_1"])
            #expect(try await proxy.proxy.requestLog.records(personaRequestId: "req_scripted_1").map(\.callerRequestId) == ["call-1"])
            _ = try await http.execute(uri: Self.path, method: .get, headers: [HTTPField.Name("X-Client-Name")!: "reports"])
            // A hit is queued for the batched writer, not written on the request path.
            await proxy.proxy.hitWriter.flush()
            let hit = try #require(try await proxy.proxy.requestLog.recent(limit: 10).first)
            #expect(hit.cacheOutcome == "hit")
            #expect(hit.caller == "reports")
            #expect(hit.attempts.isEmpty)
            #expect(hit.personaRequestId == "req_scripted_1", "a hit names the fetch that produced its bytes")
        }
    }

    @Test func upstreamFailuresBecomePersonaShaped502And504() async throws {
        let client = ScriptedPersonaClient { request throws(UpstreamError) in
            if request.path.hasSuffix("slow") { throw .timedOut(seconds: 10) }
            throw .unreachable("connection refused")
        }
        let proxy = TestProxy(client: client)
        try await proxy.test { http in
            let down = try await http.execute(uri: Self.path, method: .get)
            #expect(down.status == .badGateway)
            #expect(down.text.hasPrefix(#"{"errors":[{"title":"Bad gateway","details":"Persona could not be reached"#))
            #expect(down.headers[HTTPField.Name("Cache-Status")!] == "persona-proxy; fwd=miss; detail=upstream-unreachable")
            let slow = try await http.execute(uri: "/api/v1/connect/connections/cxn_slow", method: .get)
            #expect(slow.status == .gatewayTimeout)
            #expect(slow.text.contains("upstream.timeout_seconds"))
            let records = try await proxy.proxy.requestLog.recent(limit: 10)
            #expect(records.map(\.status) == [504, 502])
            #expect(records.allSatisfy { $0.attempts.first?.status == nil && $0.attempts.first?.error != nil })
        }
    }

    @Test func insaneRequestIdsAreReplaced() async throws {
        let proxy = TestProxy(client: ScriptedPersonaClient.connections())
        try await proxy.test { http in
            let response = try await http.execute(uri: "/healthz", method: .get, headers: [.xRequestId: "bad id\twith spaces"])
            let id = try #require(response.headers[.xRequestId])
            #expect(id.hasPrefix("ppx_"))
            #expect(id.count == 26)
        }
    }
}
