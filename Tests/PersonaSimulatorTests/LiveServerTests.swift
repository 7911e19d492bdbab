import Hummingbird
import HummingbirdTesting
import Logging
import PersonaSimulator
import Testing

@Suite struct LiveServerTests {
    /// A real socket on port 0: `onServerRunning` must report the port actually bound.
    @Test func makeApplicationServesOverASocketAndReportsItsPort() async throws {
        var configuration = SimulatorConfiguration()
        configuration.port = 0
        let state = SimulatorState(configuration: configuration)
        let apiKey = configuration.apiKey
        let reported = LockedValue<Int?>(nil)
        let app = PersonaSimulator.makeApplication(
            configuration: configuration,
            state: state,
            logger: Logger(label: "simulator-test"),
            onServerRunning: { port in reported.set(port) }
        )
        try await app.test(.live) { client in
            let response = try await client.execute(
                uri: RetrieveTests.fixedPath, method: .get,
                headers: plainHeaders(("Authorization", "Bearer \(apiKey)")))
            #expect(response.status == .ok)
            #expect(response.hasHeader("Request-Id"))
            let port = reported.value
            #expect(port != nil && port != 0)
            #expect(port == client.port)
        }
    }
}
