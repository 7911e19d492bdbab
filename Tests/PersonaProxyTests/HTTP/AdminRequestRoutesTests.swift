import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PersonaProxy
import NIOCore
import Synchronization
import Testing

@Suite struct AdminRequestRoutesTests {
    struct Page: Decodable {
        struct Links: Decodable { let next: String? }
        let data: [RequestLogEntryJSON]
        let links: Links
    }

    @Test func findsRequestsByPersonaRequestIdAndCallerAndPages() async throws {
        let proxy = TestProxy(client: ScriptedPersonaClient.connections())
        try await proxy.test { http in
            for index in 0..<5 {
                _ = try await http.execute(
                    uri: "/api/v1/connect/connections/cxn_\(index)", method: .get,
                    headers: [HTTPField.Name("X-Client-Name")!: index < 3 ? "billing" : "orders", .xRequestId: "call-\(index)"])
            }
            let found = try await http.execute(uri: "/admin/requests?persona_request_id=req_scripted_2", method: .get)
            #expect(found.status == .ok)
            let page = try JSONDecoder().decode(Page.self, from: Data(buffer: found.body))
            #expect(page.data.map(\.callerRequestId) == ["call-1"])
            #expect(page.data.allSatisfy { $0.requestId.hasPrefix("ppx_") }, "the row's id is always the proxy's own")
            #expect(page.data.first?.caller == "billing")
            #expect(page.data.first?.attempts.first?.personaRequestId == "req_scripted_2")
            #expect(page.links.next == nil)

            var uri: String? = "/admin/requests?caller=billing&limit=2"
            var ids: [String] = []
            while let next = uri {
                let response = try await http.execute(uri: next, method: .get)
                let page = try JSONDecoder().decode(Page.self, from: Data(buffer: response.body))
                ids += page.data.compactMap(\.callerRequestId)
                uri = page.links.next
            }
            #expect(ids == ["call-2", "call-1", "call-0"])

            #expect(try await http.execute(uri: "/admin/requests/call-4", method: .get).status == .notFound, "a caller's id is not a row's id")
            let byCallerId = try await http.execute(uri: "/admin/requests?caller_request_id=call-4", method: .get)
            let proxyId = try #require(try JSONDecoder().decode(Page.self, from: Data(buffer: byCallerId.body)).data.first?.requestId)
            let one = try await http.execute(uri: "/admin/requests/\(proxyId)", method: .get)
            #expect(one.status == .ok)
            #expect(String(buffer: one.body).contains(#""caller":"orders""#))
        }
    }

    @Test func badFiltersAndUnknownIdsArePersonaShaped() async throws {
        let proxy = TestProxy(client: ScriptedPersonaClient.connections())
        try await proxy.test { http in
            for uri in ["/admin/requests?status=abc", "/admin/requests?since=yesterday", "/admin/requests?limit=ten"] {
                let response = try await http.execute(uri: uri, method: .get)
                #expect(response.status == .badRequest, "\(uri)")
                #expect(String(buffer: response.body).hasPrefix(#"{"errors":[{"title":"Bad Request""#))
            }
            let missing = try await http.execute(uri: "/admin/requests/nope", method: .get)
            #expect(missing.status == .notFound)
            #expect(String(buffer: missing.body).hasPrefix(#"{"errors":[{"title":"Not found""#))
        }
    }

    @Test func hitRowsQueuedAtShutdownAreWritten() async throws {
        let proxy = TestProxy(client: ScriptedPersonaClient.connections())
        try await proxy.test { http in
            for _ in 0..<20 { _ = try await http.execute(uri: "/api/v1/connect/connections/cxn_1", method: .get) }
        }
        // The application has stopped: its services shut down, the writer flushed last thing.
        let database = RequestLogSchema.database(path: proxy.requestLogPath, legacyCachePath: nil)
        try database.open()
        defer { database.close() }
        let records = try await SQLiteRequestLogStore(database: database).recent(limit: 100)
        #expect(records.count == 20)
        #expect(records.filter { $0.cacheOutcome == "hit" }.count == 19)
        #expect(records.allSatisfy { $0.personaRequestId == "req_scripted_1" })
    }

    @Test func hitRowsCanBeTurnedOff() async throws {
        let proxy = TestProxy(client: ScriptedPersonaClient.connections()) { $0.recordHits = false }
        try await proxy.test { http in
            for _ in 0..<5 { _ = try await http.execute(uri: "/api/v1/connect/connections/cxn_1", method: .get) }
        }
        let database = RequestLogSchema.database(path: proxy.requestLogPath, legacyCachePath: nil)
        try database.open()
        defer { database.close() }
        #expect(try await SQLiteRequestLogStore(database: database).recent(limit: 100).map(\.cacheOutcome) == ["miss"])
    }
}

@Suite struct RequestRecordingTests {
    @Test func a429ThenRetryIsOneRecordWithTwoAttemptsAndTwoPersonaIds() async throws {
        let calls = Mutex(0)
        let client = ScriptedPersonaClient { _ in
            let n = calls.withLock { $0 += 1; return $0 }
            if n == 1 {
                return UpstreamResponse(
                    status: 429,
                    headers: [(name: "Request-Id", value: "req_first"), (name: "RateLimit-Limit", value: "300"),
                              (name: "RateLimit-Remaining", value: "0"), (name: "RateLimit-Reset", value: "2")],
                    body: ByteBuffer(string: #"{"errors":[{"title":"Rate limit exceeded"}]}"#))
            }
            return UpstreamResponse(status: 200, headers: [(name: "Request-Id", value: "req_second")], body: ByteBuffer(string: #"{"data":{"type":"connect/connection","id":"cxn_1"}}"#))
        }
        let proxy = TestProxy(client: client)
        try await proxy.test { http in
            let pending = Task { try await http.execute(uri: "/api/v1/connect/connections/cxn_1", method: .get, headers: [.xRequestId: "retried"]) }
            await proxy.monotonic.waitForSleepers(1)
            proxy.monotonic.advance(by: 2)
            let response = try await pending.value
            #expect(response.status == .ok)
            let proxyId = try #require(response.headers[.xRequestId])
            let record = try #require(try await proxy.proxy.requestLog.record(requestId: proxyId))
            #expect(record.callerRequestId == "retried")
            #expect(record.attempts.map(\.attempt) == [1, 2])
            #expect(record.attempts.map(\.personaRequestId) == ["req_first", "req_second"])
            #expect(record.attempts.map(\.status) == [429, 200])
            #expect(record.attempts[1].waitedMs == 2000)
            #expect(try await proxy.proxy.requestLog.records(personaRequestId: "req_first").map(\.callerRequestId) == ["retried"])
        }
    }

    @Test func anUpstreamErrorIsRecordedWithItsError() async throws {
        let proxy = TestProxy(client: ScriptedPersonaClient { _ throws(UpstreamError) in throw .timedOut(seconds: 10) })
        try await proxy.test { http in
            _ = try await http.execute(uri: "/api/v1/connect/connections/cxn_1", method: .get, headers: [.xRequestId: "timed-out"])
            let record = try #require(try await proxy.proxy.requestLog.query(RequestLogQuery(callerRequestId: "timed-out")).first)
            #expect(record.status == 504)
            #expect(record.attempts.first?.error == "timed out after 10 s")
        }
    }
}
