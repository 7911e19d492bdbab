/// The casing Persona applies to attribute keys, chosen per request with `Key-Inflection`.
///
/// Keys are written in kebab case throughout the simulator and converted on output, so one
/// renderer serves all three forms.
public enum KeyInflection: String, Sendable, CaseIterable {
    case kebab
    case camel
    case snake

    /// Reads the header value; a missing header means Persona's default, kebab.
    /// Returns nil for a value outside the spec's enum.
    public init?(headerValue: String?) {
        guard let headerValue else {
            self = .kebab
            return
        }
        self.init(rawValue: headerValue.lowercased())
    }

    /// Converts a kebab-case key (`source-organization-id`) to this inflection.
    public func apply(toKebab key: String) -> String {
        switch self {
        case .kebab:
            return key
        case .snake:
            return key.replacingAll("-", with: "_")
        case .camel:
            let parts = key.split(separator: "-", omittingEmptySubsequences: false)
            guard let first = parts.first else { return key }
            return parts.dropFirst().reduce(String(first)) { $0 + $1.prefix(1).uppercased() + $1.dropFirst() }
        }
    }

    /// Brings a key written in any of the three forms back to kebab case, so sparse-fieldset
    /// names and request-body keys are accepted however the caller inflected them.
    public static func kebabForm(of key: String) -> String {
        var result = ""
        for character in key {
            if character == "_" {
                result.append("-")
            } else if character.isUppercase {
                if !result.isEmpty { result.append("-") }
                result.append(contentsOf: character.lowercased())
            } else {
                result.append(character)
            }
        }
        return result
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}
