import ArgumentParser
import Foundation
import Logging
import PersonaProxy
import PersonaSimulator
import ServiceLifecycle

/// The simulator and the proxy in one process: the quickest way to see the proxy work.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start the Persona simulator and the proxy (127.0.0.1:8080, cache in ./data/) together; Ctrl-C stops both.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        LoggingSetup.bootstrap()
        var options = options
        if options.config == nil, FileManager.default.fileExists(atPath: "config/demo.yaml") {
            options.config = "config/demo.yaml"
        }
        let configuration: ProxyConfiguration
        do {
            configuration = try await options.load(requireKey: false).0
        } catch let error as ConfigurationError {
            throw exitForConfigurationError(error)
        }
        var logger = Logger(label: "persona-proxy")
        logger.logLevel = configuration.logLevel

        // The simulator on any free port; the proxy is pointed at it once it is listening.
        var simulatorConfiguration = SimulatorConfiguration()
        simulatorConfiguration.port = 0
        let state = SimulatorState(configuration: simulatorConfiguration)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        var simulatorLogger = Logger(label: "persona-simulator")
        simulatorLogger.logLevel = .warning
        let simulator = PersonaSimulator.makeApplication(
            configuration: simulatorConfiguration, state: state, logger: simulatorLogger,
            onServerRunning: { port in portContinuation.yield(port) })

        let quietLogger = simulatorLogger
        let simulatorGroup = ServiceGroup(
            configuration: .init(services: [simulator], gracefulShutdownSignals: [.sigterm, .sigint], logger: quietLogger))
        let proxyLogger = logger
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await simulatorGroup.run() }
            var iterator = ports.makeAsyncIterator()
            guard let simulatorPort = await iterator.next() else { return }
            var proxyConfiguration = configuration
            proxyConfiguration.upstreamBaseURL = URL(string: "http://127.0.0.1:\(simulatorPort)")!
            let shown = proxyConfiguration
            let key = APIKey(simulatorConfiguration.apiKey, source: "the demo simulator")
            let proxy = ProxyApplication(
                configuration: shown, apiKey: key, dependencies: ProxyDependencies(logger: proxyLogger),
                onServerRunning: { port in
                    let base = "http://\(shown.serverHost):\(port)"
                    printNow("""

                        persona-proxy demo: the proxy listens on \(base), in front of a Persona simulator on port \(simulatorPort).
                        Cache: \(shown.cachePath). Try this twice (the first answer is a miss, the second a hit):

                          curl -sS -D - \(base)/api/v1/connect/connections/cxn_ABC123
                          curl -sS -D - \(base)/api/v1/connect/connections/cxn_ABC123

                        Also: \(base)/metrics, \(base)/readyz. Ctrl-C stops both.

                        """)
                })
            let proxyGroup = ServiceGroup(
                configuration: .init(services: [proxy.application], gracefulShutdownSignals: [.sigterm, .sigint], logger: proxyLogger))
            group.addTask { try await proxyGroup.run() }
            try await group.next()
            group.cancelAll()
        }
    }
}
