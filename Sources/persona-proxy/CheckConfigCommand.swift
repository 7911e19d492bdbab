import ArgumentParser
import PersonaProxy

struct CheckConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the configuration and print the effective values (secrets redacted).")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        do {
            let (configuration, key) = try await options.load()
            for line in configuration.effectiveLines { printNow(line) }
            // The key itself is never printed, only where it came from.
            printNow("api_key: <redacted> (from \(key!.source))")
            printNow("configuration OK")
        } catch let error as ConfigurationError {
            throw exitForConfigurationError(error)
        }
    }
}
