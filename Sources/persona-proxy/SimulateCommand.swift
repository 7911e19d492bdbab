import ArgumentParser
import Logging
import PersonaSimulator
import ServiceLifecycle

struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run the Persona simulator (a faithful local Persona API for development, tests and benchmarks).")

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on (0 = any free port).") var port = 8090
    @Option(help: "The API key the simulator accepts as 'Authorization: Bearer KEY'.") var apiKey = SimulatorConfiguration().apiKey
    @Option(help: "Requests allowed per rate-limit window.") var rateLimit = 300
    @Option(help: "Rate-limit window length in seconds.") var windowSeconds = 60
    @Option(help: "Latency added to every answer, in milliseconds.") var latencyMs = 0
    @Option(help: "How many connections to seed besides cxn_ABC123.") var seed = 25

    func run() async throws {
        var configuration = SimulatorConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.apiKey = apiKey
        configuration.rateLimit = rateLimit
        configuration.rateLimitWindow = .seconds(windowSeconds)
        configuration.latency = .milliseconds(latencyMs)
        configuration.seededConnections = seed
        LoggingSetup.bootstrap()
        let logger = Logger(label: "persona-simulator")
        let state = SimulatorState(configuration: configuration)
        let app = PersonaSimulator.makeApplication(
            configuration: configuration, state: state, logger: logger,
            onServerRunning: { [host] port in printNow("persona simulator listening on http://\(host):\(port)") })
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
