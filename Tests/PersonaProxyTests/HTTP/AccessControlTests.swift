import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PersonaProxy
import Testing

/// Who may call which route: every route without a token, with a wrong one, with one lacking the
/// scope and with the right one; and the loopback-only mode without clients.
@Suite struct AccessControlTests {
    static let reader = ("ppt_reader-token", ClientConfiguration.Scope.read)
    static let writer = ("ppt_writer-token", ClientConfiguration.Scope.write)
    static let admin = ("ppt_admin-token", ClientConfiguration.Scope.admin)
    static let clients = [reader, writer, admin].enumerated().map { index, pair in
        ClientConfiguration(name: ["billing", "onboarding", "ops"][index], tokenSHA256: ClientConfiguration.hash(token: pair.0), scopes: [pair.1])
    }

    static let routes: [(method: HTTPRequest.Method, path: String, scope: ClientConfiguration.Scope)] = [
        (.get, "/api/v1/connect/connections/cxn_ABC123", .read),
        (.post, "/api/v1/connect/connections", .write),
        (.post, "/api/v1/connect/connections/cxn_ABC123/deactivate", .write),
        (.post, "/api/v1/connect/connections/cxn_ABC123/reactivate", .write),
        (.get, "/admin/requests", .admin),
        (.get, "/admin/requests/some-id", .admin),
        (.get, "/admin/requests/some-id/persona-log", .admin),
        (.get, "/admin/cache", .admin),
        (.get, "/admin/cache/cxn_ABC123", .admin),
        (.delete, "/admin/cache/cxn_ABC123", .admin),
        (.delete, "/admin/cache?confirm=true", .admin),
    ]

    static func token(for scope: ClientConfiguration.Scope) -> String {
        [reader, writer, admin].first { $0.1 == scope }!.0
    }

    @Test func everyRouteAsksForItsScope() async throws {
        let client = ScriptedPersonaClient.connections()
        let proxy = TestProxy(client: client) { $0.clients = Self.clients }
        try await proxy.test { http in
            for route in Self.routes {
                let body = route.path == "/api/v1/connect/connections" ? #"{"data":{"attributes":{"destination-organization-id":"org_X"}}}"# : ""
                func call(_ authorization: String?) async throws -> TestResponse {
                    var headers = HTTPFields()
                    if let authorization { headers[.authorization] = authorization }
                    return try await http.execute(uri: route.path, method: route.method, headers: headers, body: ByteBuffer(string: body))
                }
                let anonymous = try await call(nil)
                #expect(anonymous.status == .unauthorized, "\(route.method) \(route.path) without a token")
                #expect(anonymous.text == #"{"errors":[{"title":"Must be authenticated to access this endpoint"}]}"#)
                #expect(try await call("Bearer ppt_wrong").status == .unauthorized, "\(route.method) \(route.path) with a wrong token")
                let other = ClientConfiguration.Scope.allCases.first { $0 != route.scope }!
                let lacking = try await call("Bearer " + Self.token(for: other))
                #expect(lacking.status == .forbidden, "\(route.method) \(route.path) with the \(other) scope")
                #expect(lacking.text.hasPrefix(#"{"errors":[{"title":"Forbidden","details":"Client "#))
                let allowed = try await call("Bearer " + Self.token(for: route.scope))
                #expect(allowed.status != .unauthorized && allowed.status != .forbidden, "\(route.method) \(route.path) with its scope: \(allowed.status)")
            }
            for open in ["/healthz", "/readyz", "/metrics"] {
                #expect(try await http.execute(uri: open, method: .get).status != .unauthorized, "\(open) stays open")
            }
        }
        // Only the authorised calls reached Persona, and never with a caller's token.
        #expect(client.requests.allSatisfy { $0.header("Authorization") == nil })
    }

    @Test func theAuthenticatedNameIsTheCallerAndXClientNameOnlyASubName() async throws {
        let proxy = TestProxy(client: ScriptedPersonaClient.connections()) { $0.clients = Self.clients }
        let record = try await proxy.test { http in
            _ = try await http.execute(
                uri: "/api/v1/connect/connections/cxn_1", method: .get,
                headers: [.authorization: "Bearer " + Self.reader.0, HTTPField.Name("X-Client-Name")!: "ops"])
            return try await proxy.proxy.requestLog.recent(limit: 1).first
        }
        #expect(record?.caller == "billing/ops", "a forged X-Client-Name cannot take another client's name")
    }

    @Test func metricsCanRequireAToken() async throws {
        let proxy = TestProxy(client: nil) {
            $0.clients = Self.clients
            $0.metricsRequireToken = true
        }
        try await proxy.test { http in
            let anonymous = try await http.execute(uri: "/metrics", method: .get)
            let scraper = try await http.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer " + Self.reader.0])
            #expect(anonymous.status == .unauthorized)
            #expect(scraper.status == .ok)
        }
    }

    @Test func withoutClientsOnlyLoopbackHostsAndNoBrowsers() {
        let access = AccessControl(clients: [])
        func decide(host: String?, origin: String? = nil, path: Substring = "/api/v1/connect/connections/cxn_1") -> AccessControl.Decision {
            access.decide(method: "GET", path: path, authorization: nil, host: host, origin: origin, clientName: nil, peer: "127.0.0.1")
        }
        for host in [
            "127.0.0.1:8080", "localhost", "localhost:8080", "[::1]:8080", "127.1.2.3", "api.localhost", "LocalHost:80", "127.255.0.001",
        ] {
            #expect(decide(host: host) == .allow(callerName: "127.0.0.1"), "\(host)")
        }
        for host in [
            "evil.example:8080", "10.0.0.5", "127.0.0.1.evil.example", "localhost.evil.example", "127.0.0.256", "127.0.0", "127..0.1",
            "1127.0.0.1", "[::2]:80", "xlocalhost", "", "127.0.0.1.",
        ] {
            guard case .refuse(let error) = decide(host: host) else {
                Issue.record("\(host) was allowed")
                continue
            }
            #expect(error.status == 403)
        }
        guard case .refuse(let error) = decide(host: "127.0.0.1", origin: "http://127.0.0.1:3000") else {
            Issue.record("a browser request was allowed")
            return
        }
        #expect(error.status == 403)
        #expect(decide(host: "evil.example", path: "/healthz") == .allow(callerName: "127.0.0.1"), "health stays open")
    }

    @Test func listeningBeyondLoopbackWithoutClientsIsAConfigurationError() throws {
        var configuration = ProxyConfiguration()
        configuration.serverHost = "0.0.0.0"
        #expect(throws: ConfigurationError.self) { try configuration.validateExposure() }
        configuration.clients = Self.clients
        try configuration.validateExposure()
        configuration.clients = []
        configuration.serverHost = "127.0.0.1"
        try configuration.validateExposure()
    }

    @Test func clientsAreReadFromTheFileWithClearErrors() throws {
        let hash = String(repeating: "ab", count: 32)
        let clients = try ClientConfiguration.parse(
            yaml: "clients:\n  - name: billing\n    token_sha256: \(hash)\n    scopes: [read, write]\n    weight: 3\n", file: "f")
        #expect(clients.map(\.name) == ["billing"] && clients[0].scopes == [.read, .write] && clients[0].weight == 3)
        #expect(clients[0].maxForcedRefreshesPerMinute == 10, "the default")
        let strict = try ClientConfiguration.parse(
            yaml: "clients:\n  - name: b\n    token_sha256: \(hash)\n    scopes: [read]\n    max_forced_refreshes_per_minute: 0\n", file: "f")
        #expect(strict[0].maxForcedRefreshesPerMinute == 0)
        #expect(strict[0].caller(name: "b/worker", requestId: "r").share == BudgetShare(client: "b"))
        do {
            _ = try ClientConfiguration.parse(
                yaml: "clients:\n  - name: b\n    token_sha256: \(hash)\n    scopes: [read]\n    max_forced_refreshes_per_minute: -1\n", file: "f")
            Issue.record("a negative allowance was accepted")
        } catch {
            #expect(error.key == "clients[0].max_forced_refreshes_per_minute")
        }
        #expect(throws: ConfigurationError.self) { try ClientConfiguration.parse(yaml: "clients:\n  - name: b\n    token_sha256: abc\n    scopes: [read]\n", file: "f") }
        #expect(throws: ConfigurationError.self) {
            try ClientConfiguration.parse(yaml: "clients:\n  - name: b\n    token_sha256: \(hash)\n    scopes: [everything]\n", file: "f")
        }
        #expect(throws: ConfigurationError.self) {
            try ClientConfiguration.parse(yaml: "clients:\n  - name: b\n    token: secret\n    token_sha256: \(hash)\n    scopes: [read]\n", file: "f")
        }
        let (token, hex) = ClientConfiguration.newToken()
        #expect(token.hasPrefix("ppt_") && token.count > 40)
        #expect(ClientConfiguration.hash(token: token).map { String(format: "%02x", $0) }.joined() == hex)
    }
}
