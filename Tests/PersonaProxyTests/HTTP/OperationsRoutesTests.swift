import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PersonaProxy
import NIOCore
import Synchronization
import Testing

@Suite struct OperationsRoutesTests {
    @Test func readyWhenTheDatabaseIsOpen() async throws {
        let proxy = TestProxy(client: ScriptedPersonaClient.connections())
        // In process, no listener is bound: not ready yet.
        try await proxy.test { http in
            let health = try await http.execute(uri: "/healthz", method: .get)
            let readiness = try await http.execute(uri: "/readyz", method: .get)
            #expect(health.status == .ok)
            #expect(readiness.text.contains("starting"))
        }
        let live = TestProxy(client: ScriptedPersonaClient.connections())
        try await live.testLive { http in
            let ready = try await http.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .ok)
            #expect(ready.text == #"{"status":"ready"}"#)
            live.proxy.readiness.phase = .draining
            let draining = try await http.execute(uri: "/readyz", method: .get)
            #expect(draining.status == .serviceUnavailable)
            #expect(draining.text.contains("draining"))
        }
    }

    @Test func notReadyWhilePersonaRejectsTheKeyAndReadyAgainOnceItWorks() async throws {
        let rejecting = Mutex(true)
        let working = ScriptedPersonaClient.connections()
        let client = ScriptedPersonaClient { request async throws(UpstreamError) -> UpstreamResponse in
            if rejecting.withLock({ $0 }) {
                return UpstreamResponse(status: 401, headers: [], body: ByteBuffer(string: #"{"errors":[{"title":"Must be authenticated to access this endpoint"}]}"#))
            }
            return try await working.send(request)
        }
        let proxy = TestProxy(client: client)
        try await proxy.testLive { http in
            #expect(try await http.execute(uri: "/api/v1/connect/connections/cxn_1", method: .get).status == .unauthorized)
            let rejected = try await http.execute(uri: "/readyz", method: .get)
            #expect(rejected.status == .serviceUnavailable)
            #expect(rejected.text.contains("Persona rejected the stored API key (HTTP 401"))
            rejecting.withLock { $0 = false }
            #expect(try await http.execute(uri: "/api/v1/connect/connections/cxn_2", method: .get).status == .ok)
            #expect(try await http.execute(uri: "/readyz", method: .get).status == .ok)
        }
    }

    @Test func notReadyWithTheReasonWhenTheDatabaseCannotBeOpened() async throws {
        let directory = TemporaryDirectory()
        let blocker = directory.path + "/file"
        _ = FileManager.default.createFile(atPath: blocker, contents: Data())
        let client = ScriptedPersonaClient.connections()
        let proxy = TestProxy(client: client) {
            $0.cachePath = blocker + "/cache.sqlite"
            $0.requestLogPath = blocker + "/requests.sqlite"
        }
        try await proxy.test { http in
            #expect(try await http.execute(uri: "/healthz", method: .get).status == .ok)
            let ready = try await http.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.text.contains("cache.path"))
            #expect(ready.text.contains("request_log.path"))
            // Without a database the proxy cannot record the call, so it makes none.
            let retrieve = try await http.execute(uri: "/api/v1/connect/connections/cxn_ABC123", method: .get)
            #expect(retrieve.status == .serviceUnavailable)
            #expect(retrieve.text.hasPrefix(#"{"errors":[{"title":"Service unavailable""#))
        }
        #expect(client.requests.isEmpty)
    }

    @Test func metricsExposeRequestsUpstreamAndCacheSize() async throws {
        let proxy = TestProxy(client: ScriptedPersonaClient.connections())
        try await proxy.test { http in
            _ = try await http.execute(uri: "/api/v1/connect/connections/cxn_ABC123", method: .get)
            _ = try await http.execute(uri: "/api/v1/connect/connections/cxn_ABC123", method: .get)
            _ = try await http.execute(uri: "/api/v1/connect/connections/cxn_DEF456", method: .get)
            let metrics = try await http.execute(uri: "/metrics", method: .get)
            #expect(metrics.status == .ok)
            let text = metrics.text
            #expect(text.contains(#"persona_proxy_requests_total{route="/api/v1/connect/connections/{connection}",status="200",cache="miss"} 2"#))
            #expect(text.contains(#"persona_proxy_requests_total{route="/api/v1/connect/connections/{connection}",status="200",cache="hit"} 1"#))
            #expect(text.contains(#"persona_proxy_upstream_requests_total{status="200"} 2"#))
            #expect(text.contains("persona_proxy_upstream_request_duration_seconds_count 2"))
            #expect(text.contains("persona_proxy_cache_entries 2"))
            #expect(!text.contains("cxn_ABC123"), "labels must not carry ids")
            #expect(!text.contains(TestProxy.apiKey))
        }
    }
}
