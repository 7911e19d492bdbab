import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PersonaProxy
import Prometheus
import Synchronization

/// Builds the real application (real SQLite in a temporary directory it owns) around a given
/// client and clock: the one set-up every app-level test shares.
struct TestProxy {
    let proxy: ProxyApplication
    let clock: ManualWallClock
    let monotonic = ManualMonotonicClock()
    let registry: PrometheusCollectorRegistry
    /// Holds `cache.sqlite` and `requests.sqlite`; removed when the last proxy using it is gone.
    let directory: TestDirectory
    /// The port the listener bound, once `testLive` or a service group runs it.
    let boundPort = BoundPort()

    var cachePath: String { directory.path + "/cache.sqlite" }
    var requestLogPath: String { directory.path + "/requests.sqlite" }

    /// - Parameters:
    ///   - client: nil for the real `HTTPPersonaClient` (against `upstream.base_url`).
    ///   - realTime: system clocks and real jitter instead of the manual twins (live tests whose
    ///     upstream keeps real time, like the simulator's rate-limit window).
    ///   - directory: another proxy's, to start a second process's worth of state on the same files.
    init(
        client: (any PersonaClient)?, clock: ManualWallClock = ManualWallClock(), realTime: Bool = false, directory: TestDirectory = TestDirectory(),
        configure: (inout ProxyConfiguration) -> Void = { _ in }
    ) {
        var configuration = ProxyConfiguration()
        configuration.cachePath = directory.path + "/cache.sqlite"
        configuration.requestLogPath = directory.path + "/requests.sqlite"
        configuration.serverPort = 0
        configuration.logLevel = .critical
        configure(&configuration)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        self.clock = clock
        self.directory = directory
        let boundPort = self.boundPort
        self.proxy = ProxyApplication(
            configuration: configuration, apiKey: APIKey(TestProxy.apiKey, source: "test"),
            dependencies: realTime
                ? ProxyDependencies(client: client, registry: registry, logger: logger)
                : ProxyDependencies(clock: clock, monotonicClock: monotonic, random: { 0 }, client: client, registry: registry, logger: logger),
            onServerRunning: { port in boundPort.set(port) })
    }

    static let apiKey = "persona_sandbox_test-key-not-real"

    func test<Value>(_ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await proxy.application.test(.router, body)
    }

    /// Over a real socket: the listener is bound, so readiness and systemd see a running server.
    func testLive<Value>(_ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await proxy.application.test(.live, body)
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
}

final class BoundPort: Sendable {
    private let port = Mutex(0)
    var value: Int { port.withLock { $0 } }
    func set(_ value: Int) { port.withLock { $0 = value } }
}
