import ArgumentParser
import Foundation
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
        LoggingSetup.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
        // A file-size limit (LimitFSIZE=, ulimit -f) must degrade the proxy like a full disk does:
        // an error from write(), not a signal that kills it.
        signal(SIGXFSZ, SIG_IGN)
        let logger = Logger(label: "persona-proxy")
        logger.info(
            "starting",
            metadata: [
                "version": "\(PersonaProxyVersion.string)", "listen": "\(configuration.serverHost):\(configuration.serverPort)",
                "upstream": "\(configuration.upstreamBaseURL.absoluteString)", "api_key_source": "\(apiKey.source)",
                "cache_path": "\(configuration.cachePath)",
            ])
        let proxy = ProxyApplication(
            configuration: configuration, apiKey: apiKey, dependencies: ProxyDependencies(logger: logger), logLevel: LoggingSetup.level)
        let environment = ProcessInfo.processInfo.environment
        let options = options
        let reload = ReloadService(
            live: proxy.live,
            load: {
                do {
                    return try await options.load(requireKey: false).0
                }
            }, logger: logger)
        // The application first (stops last); systemd notifications and reload after it, so that
        // STOPPING=1 and /readyz draining happen as soon as shutdown begins.
        let group = ServiceGroup(
            configuration: .init(
                services: [proxy.application, proxy.systemdLifecycle(environment: environment, logger: logger), reload],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("stopped")
        // The last lines (and "stopped") reach the journal, unless stderr itself is stuck.
        LogLineBuffer.standardError.flush(timeout: 2)
    }
}
