public import Configuration
import Foundation
import Yams

/// The configuration file's scalar settings as a provider: every `section.key: value` becomes the
/// string `value`, exactly as written (`persona_version: 2025-12-08` stays that text, not a YAML
/// timestamp), and a list of scalars becomes its items joined with commas. `clients:` is left to
/// `ClientConfiguration.parse`: it is a list of mappings, which no single key can hold.
///
/// swift-configuration's `FileProvider<YAMLSnapshot>` refuses the whole file when any value is a
/// list of mappings, so a file with clients could not be read through it at all.
public enum YAMLConfigurationValues {
    public static func provider(yaml: String, file: String) throws(ConfigurationError) -> InMemoryProvider {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigurationError(key: "--config", message: "cannot parse \(file): \(error)")
        }
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        if let root {
            guard let mapping = root.mapping else {
                throw ConfigurationError(key: "--config", message: "\(file) must be a mapping of sections (server:, cache:, …)")
            }
            for (key, value) in mapping {
                guard let name = key.scalar?.string, name != "clients" else { continue }
                try collect(value, path: [name], into: &values)
            }
        }
        return InMemoryProvider(name: file, values: values)
    }

    private static func collect(_ node: Node, path: [String], into values: inout [AbsoluteConfigKey: ConfigValue]) throws(ConfigurationError) {
        switch node {
        case .mapping(let mapping):
            for (key, value) in mapping {
                guard let name = key.scalar?.string else { continue }
                try collect(value, path: path + [name], into: &values)
            }
        case .sequence(let sequence):
            var items: [String] = []
            for item in sequence {
                guard let scalar = item.scalar else {
                    throw ConfigurationError(key: path.joined(separator: "."), message: "must be a value or a list of values")
                }
                items.append(scalar.string)
            }
            values[AbsoluteConfigKey(path)] = ConfigValue(.string(items.joined(separator: ",")), isSecret: false)
        case .scalar(let scalar):
            // `key:` with nothing after it, or `~`/`null`: not set, so the default applies.
            if scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) { return }
            values[AbsoluteConfigKey(path)] = ConfigValue(.string(scalar.string), isSecret: false)
        case .alias:
            break
        }
    }
}
