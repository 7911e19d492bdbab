import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import PersonaProxy
import Prometheus
import Synchronization

/// Builds the real application (real SQLite in a temp directory) around a given client and clock.
struct TestProxy {
    let proxy: ProxyApplication
    let clock: ManualWallClock
    let monotonic = ManualMonotonicClock()
    let registry: PrometheusCollectorRegistry
    /// The port the listener bound, once `testLive` or a service group runs it.
    let boundPort = BoundPort()

    /// - Parameters:
    ///   - client: nil for the real `HTTPPersonaClient` (against `upstream.base_url`).
    ///   - realTime: system clocks and real jitter instead of the manual twins (live tests whose
    ///     upstream keeps real time, like the simulator's rate-limit window).
    init(
        cachePath: String, client: (any PersonaClient)?, clock: ManualWallClock = ManualWallClock(), realTime: Bool = false,
        configure: (inout ProxyConfiguration) -> Void = { _ in }
    ) {
        var configuration = ProxyConfiguration()
        configuration.cachePath = cachePath
        configuration.serverPort = 0
        configuration.logLevel = .critical
        configure(&configuration)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        self.clock = clock
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
