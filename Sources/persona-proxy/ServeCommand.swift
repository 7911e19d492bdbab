import ArgumentParser
import Logging
import PersonaProxy
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the proxy daemon.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let configuration: ProxyConfiguration
        let apiKey: APIKey
        do {
            let loaded = try await options.load()
            configuration = loaded.0
            apiKey = loaded.1!
        } catch let error as ConfigurationError {
            throw exitForConfigurationError(error)
        }
        LoggingSetup.bootstrap()
        var logger = Logger(label: "persona-proxy")
        logger.logLevel = configuration.logLevel
        logger.info(
            "starting",
            metadata: [
                "version": "\(PersonaProxyVersion.string)", "listen": "\(configuration.serverHost):\(configuration.serverPort)",
                "upstream": "\(configuration.upstreamBaseURL.absoluteString)", "api_key_source": "\(apiKey.source)",
                "cache_path": "\(configuration.cachePath)",
            ])
        let runningLogger = logger
        let proxy = ProxyApplication(
            configuration: configuration, apiKey: apiKey, dependencies: ProxyDependencies(logger: logger),
            onServerRunning: { port in runningLogger.info("listening", metadata: ["port": "\(port)"]) })
        let group = ServiceGroup(
            configuration: .init(services: [proxy.application], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("stopped")
    }
}
