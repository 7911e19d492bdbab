import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import PersonaProxy
import PersonaSimulator
import Testing

/// The proxy's real upstream client over loopback against the Persona simulator on port 0.
@Suite struct SimulatorLiveTests {
    static let path = "/api/v1/connect/connections/cxn_ABC123"

    /// Runs the simulator on a real socket and hands the test its base URL and state.
    static func withSimulator(
        configure: (inout SimulatorConfiguration) -> Void = { _ in },
        _ body: @Sendable (URL, SimulatorState, any TestClientProtocol) async throws -> Void
    ) async throws {
        var configuration = SimulatorConfiguration()
        configuration.port = 0
        configuration.apiKey = TestProxy.apiKey
        configure(&configuration)
        let state = SimulatorState(configuration: configuration)
        var logger = Logger(label: "simulator")
        logger.logLevel = .critical
        let simulator = PersonaSimulator.makeApplication(configuration: configuration, state: state, logger: logger)
        try await simulator.test(.live) { client in
            try await body(URL(string: "http://127.0.0.1:\(client.port!)")!, state, client)
        }
    }

    @Test func missThenHitServesTheSimulatorsExactBytesWithTheStoredKey() async throws {
        try await Self.withSimulator { base, state, simulator in
            let direct = try await simulator.execute(
                uri: Self.path, method: .get, headers: [.authorization: "Bearer \(TestProxy.apiKey)"])
            await state.reset()
            let proxy = TestProxy(client: nil) { $0.upstreamBaseURL = base }
            try await proxy.test { http in
                let callerHeaders: HTTPFields = [.authorization: "Bearer caller-token", HTTPField.Name("X-Client-Name")!: "orders"]
                let miss = try await http.execute(uri: Self.path, method: .get, headers: callerHeaders)
                let hit = try await http.execute(uri: Self.path, method: .get, headers: callerHeaders)
                #expect(miss.status == .ok)
                #expect(miss.body == direct.body)
                #expect(hit.body == direct.body)
                #expect(miss.headers[.cacheStatus]?.contains("fwd=miss") == true)
                #expect(hit.headers[.cacheStatus]?.hasPrefix("persona-proxy; hit") == true)
                #expect(hit.headers[HTTPField.Name("Request-Id")!] == miss.headers[HTTPField.Name("Request-Id")!])
                #expect(hit.headers[HTTPField.Name("Persona-Environment-Id")!] == direct.headers[HTTPField.Name("Persona-Environment-Id")!])
            }
            let received = await state.requests.filter { $0.path == Self.path }
            #expect(received.count == 1)
            #expect(received.first?.header("Authorization") == "Bearer \(TestProxy.apiKey)")
            #expect(received.first?.header("User-Agent")?.contains("caller=orders") == true)
        }
    }

    @Test func variantsReachTheSimulatorSeparately() async throws {
        try await Self.withSimulator { base, state, _ in
            let proxy = TestProxy(client: nil) { $0.upstreamBaseURL = base }
            try await proxy.test { http in
                let kebab = try await http.execute(uri: Self.path, method: .get)
                let camel = try await http.execute(uri: Self.path, method: .get, headers: [.keyInflection: "camel"])
                let sparse = try await http.execute(uri: Self.path + "?fields%5Bconnect/connection%5D=status", method: .get)
                #expect(String(buffer: kebab.body).contains("\"source-organization-id\""))
                #expect(String(buffer: camel.body).contains("\"sourceOrganizationId\""))
                #expect(!String(buffer: sparse.body).contains("created-at"))
                #expect(String(buffer: sparse.body).contains("\"status\""))
            }
            #expect(await state.requests.count == 3)
        }
    }

    @Test func cacheSurvivesARestartOfTheProxy() async throws {
        try await Self.withSimulator { base, state, _ in
            let first = TestProxy(client: nil) { $0.upstreamBaseURL = base }
            let body = try await first.test { try await $0.execute(uri: Self.path, method: .get).body }
            let second = TestProxy(client: nil, clock: first.clock, directory: first.directory) { $0.upstreamBaseURL = base }
            try await second.test { http in
                let again = try await http.execute(uri: Self.path, method: .get)
                #expect(again.body == body)
                #expect(again.headers[.cacheStatus]?.hasPrefix("persona-proxy; hit") == true)
            }
            #expect(await state.requests.count == 1)
        }
    }

    @Test func slowUpstreamIs504WithinTheTimeout() async throws {
        try await Self.withSimulator(configure: { $0.latency = .milliseconds(1500) }) { base, _, _ in
            let proxy = TestProxy(client: nil) {
                $0.upstreamBaseURL = base
                $0.upstreamTimeoutSeconds = 0.3
            }
            try await proxy.test { http in
                let started = ContinuousClock.now
                let response = try await http.execute(uri: Self.path, method: .get)
                #expect(response.status == .gatewayTimeout)
                #expect(String(buffer: response.body).hasPrefix(#"{"errors":[{"title":"Gateway timeout""#))
                #expect(ContinuousClock.now - started < .seconds(2))
            }
        }
    }

    @Test func unreachableUpstreamIs502WithoutWaitingForTheTimeout() async throws {
        // Port 1 on loopback: nothing listens there, so connecting is refused at once.
        let proxy = TestProxy(client: nil) {
            $0.upstreamBaseURL = URL(string: "http://127.0.0.1:1")!
            $0.upstreamTimeoutSeconds = 5
        }
        try await proxy.test { http in
            let started = ContinuousClock.now
            let response = try await http.execute(uri: Self.path, method: .get)
            #expect(response.status == .badGateway)
            #expect(String(buffer: response.body).hasPrefix(#"{"errors":[{"title":"Bad gateway""#))
            #expect(ContinuousClock.now - started < .seconds(2))
        }
    }

    /// A short real window: 3 calls per second. Nine distinct ids at once all succeed, and the
    /// simulator never has to answer 429.
    @Test func burstOverAShortWindowIsPacedWithoutA429() async throws {
        try await Self.withSimulator(configure: {
            $0.rateLimit = 3
            $0.rateLimitWindow = .seconds(1)
        }) { base, state, _ in
            let ids = Array(await state.connectionIds.prefix(9))
            let proxy = TestProxy(client: nil, realTime: true) {
                $0.upstreamBaseURL = base
                $0.rateLimit.maxWaitSeconds = 10
                $0.rateLimit.resetJitterSeconds = 0.05
            }
            try await proxy.test { http in
                let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                    for id in ids {
                        group.addTask { try await http.execute(uri: "/api/v1/connect/connections/\(id)", method: .get).status }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(statuses.allSatisfy { $0 == .ok })
            }
            let statistics = await state.statistics
            #expect(statistics.byStatus[429, default: 0] == 0)
            #expect(statistics.byStatus[200, default: 0] == 9)
        }
    }
}

@Suite struct PersonaLogJoinLiveTests {
    @Test func joinsTheLocalRecordWithPersonasAPILogEntryAndKeepsACopy() async throws {
        try await SimulatorLiveTests.withSimulator { base, state, _ in
            let proxy = TestProxy(client: nil) { $0.upstreamBaseURL = base }
            try await proxy.test { http in
                let miss = try await http.execute(
                    uri: SimulatorLiveTests.path, method: .get, headers: [.xRequestId: "join-1", HTTPField.Name("X-Client-Name")!: "support"])
                let personaId = try #require(miss.headers[HTTPField.Name("Request-Id")!])
                let proxyId = try #require(miss.headers[.xRequestId])
                let joined = try await http.execute(uri: "/admin/requests/\(proxyId)/persona-log", method: .get)
                #expect(joined.status == .ok)
                let text = String(buffer: joined.body)
                #expect(text.contains(#""caller_request_id":"join-1""#))
                #expect(text.contains(#""source":"persona""#))
                #expect(text.contains(#""type":"api-log""#))
                #expect(text.contains(personaId))
                #expect(text.contains("caller=support"), "Persona's log kept the User-Agent naming the caller")
                #expect(!text.contains(TestProxy.apiKey))
                let again = try await http.execute(uri: "/admin/requests/\(proxyId)/persona-log", method: .get)
                #expect(String(buffer: again.body).contains(#""source":"copy""#))
            }
            let apiLogCalls = await state.requests.filter { $0.path.hasPrefix("/api/v1/api-logs/") }
            #expect(apiLogCalls.count == 1)
        }
    }
}
