public import Configuration
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Builds the reader the daemon takes its configuration from: command-line flags first, then
/// environment variables, then the YAML file, then the defaults in `ProxyConfiguration`.
public enum ConfigurationSources {
    /// - Parameters:
    ///   - configFile: the YAML file, or nil for none. A named file that does not exist is an error.
    ///   - overrides: `--key-name value` / `--key-name=value` pairs for any key in `keys`.
    ///   - environment: the process environment (passed in so that tests control it).
    public static func reader(
        configFile: String?,
        overrides: [String],
        environment: [String: String],
        keys: [String] = ProxyConfiguration.keys
    ) async throws(ConfigurationError) -> ConfigReader {
        let flagValues = try parseOverrides(overrides, keys: keys)
        var providers: [any ConfigProvider] = [
            InMemoryProvider(
                name: "command line",
                values: Dictionary(uniqueKeysWithValues: flagValues.map { (AbsoluteConfigKey($0.key.split(separator: ".").map(String.init)), ConfigValue(.string($0.value), isSecret: false)) })),
            EnvironmentVariablesProvider(environmentVariables: environment),
        ]
        if let configFile {
            let text: String
            do {
                text = try String(contentsOfFile: configFile, encoding: .utf8)
            } catch {
                // The system's reason ("Permission denied", "No such file or directory") says what to fix.
                let reason = access(configFile, R_OK) != 0 ? String(cString: strerror(errno)) : "\(error)"
                throw ConfigurationError(key: "--config", message: "cannot read \(configFile): \(reason)")
            }
            // `clients:` is a list, read from the file alone (ClientConfiguration.parse).
            try ConfigurationFileKeys.check(yaml: text, file: configFile, known: keys + ["clients"])
            providers.append(try YAMLConfigurationValues.provider(yaml: text, file: configFile))
        }
        return ConfigReader(providers: providers)
    }

    /// Maps `--cache-ttl-seconds 60` to `cache.ttl_seconds = "60"`. Unknown flags are errors, so a
    /// typo never silently leaves the default in force.
    public static func parseOverrides(_ arguments: [String], keys: [String]) throws(ConfigurationError) -> [String: String] {
        let flags = Dictionary(uniqueKeysWithValues: keys.map { (flagName(for: $0), $0) })
        var values: [String: String] = [:]
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let name: String
            let value: String
            if let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                value = String(argument[argument.index(after: equals)...])
            } else {
                name = argument
                guard index + 1 < arguments.count else {
                    throw ConfigurationError(key: argument, message: "expects a value")
                }
                index += 1
                value = arguments[index]
            }
            guard let key = flags[name] else {
                throw ConfigurationError(key: name, message: "unknown option; configuration flags are \(flags.keys.sorted().joined(separator: ", "))")
            }
            values[key] = value
            index += 1
        }
        return values
    }

    /// `cache.ttl_seconds` → `--cache-ttl-seconds`.
    public static func flagName(for key: String) -> String {
        "--" + key.replacingOccurrences(of: ".", with: "-").replacingOccurrences(of: "_", with: "-")
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
