import ArgumentParser
import Foundation
import PersonaProxy

/// `--config FILE` plus any `--<key>` override (e.g. `--cache-ttl-seconds 60`), shared by the
/// commands that read the daemon's configuration.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "YAML configuration file (keys: see config/persona-proxy.yaml).")
    var config: String?

    @Argument(
        parsing: .allUnrecognized,
        help: ArgumentHelp("Per-key overrides such as --cache-ttl-seconds 60 (any key, dots and underscores as dashes).", valueName: "overrides"))
    var overrides: [String] = []

    /// Reads and validates the configuration and the API key. Throws `ConfigurationError`.
    func load(requireKey: Bool = true) async throws -> (ProxyConfiguration, APIKey?) {
        let environment = ProcessInfo.processInfo.environment
        let reader = try await ConfigurationSources.reader(configFile: config, overrides: overrides, environment: environment)
        var configuration = try ProxyConfiguration(reader: reader)
        if let config {
            configuration.clients = try ClientConfiguration.parse(yaml: (try? String(contentsOfFile: config, encoding: .utf8)) ?? "", file: config)
        }
        try configuration.validateExposure()
        let key: APIKey?
        if requireKey {
            key = try APIKey.load(apiKeyFile: configuration.apiKeyFile, environment: environment)
        } else {
            key = try? APIKey.load(apiKeyFile: configuration.apiKeyFile, environment: environment)
        }
        return (configuration, key)
    }
}

/// Prints a configuration error the way operators read it, and exits with EX_CONFIG (78), which
/// systemd shows as a configuration failure rather than a crash.
func exitForConfigurationError(_ error: ConfigurationError) -> ExitCode {
    FileHandle.standardError.write(Data("persona-proxy: \(error)\n".utf8))
    return ExitCode(78)
}
