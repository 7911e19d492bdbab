import Configuration
import Foundation
import Logging

/// Reads every value as text and parses it here, so that a wrong type or range is an error that
/// names the key rather than a silent fall-back to the default (which is what swift-configuration's
/// typed getters do on a conversion failure).
struct ConfigValueParser {
    let reader: ConfigReader

    func optionalString(_ key: String) throws(ConfigurationError) -> String? {
        guard let raw = reader.string(forKey: ConfigKey(key))?.trimmed, !raw.isEmpty else { return nil }
        return raw
    }

    func string(_ key: String, default defaultValue: String, nonEmpty: Bool) throws(ConfigurationError) -> String {
        guard let raw = reader.string(forKey: ConfigKey(key)) else { return defaultValue }
        let value = raw.trimmed
        if nonEmpty, value.isEmpty { throw ConfigurationError(key: key, message: "must not be empty") }
        return value
    }

    func int(_ key: String, default defaultValue: Int, range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let raw = try optionalString(key) else { return defaultValue }
        guard let value = Int(raw) else {
            throw ConfigurationError(key: key, message: "expected a whole number, got \"\(raw)\"")
        }
        guard range.contains(value) else {
            throw ConfigurationError(key: key, message: "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        return value
    }

    func double(_ key: String, default defaultValue: Double, range: ClosedRange<Double>) throws(ConfigurationError) -> Double {
        guard let raw = try optionalString(key) else { return defaultValue }
        guard let value = Double(raw), value.isFinite else {
            throw ConfigurationError(key: key, message: "expected a number, got \"\(raw)\"")
        }
        guard range.contains(value) else {
            throw ConfigurationError(key: key, message: "must be between \(range.lowerBound.clean) and \(range.upperBound.clean), got \(raw)")
        }
        return value
    }

    func bool(_ key: String, default defaultValue: Bool) throws(ConfigurationError) -> Bool {
        guard let raw = try optionalString(key) else { return defaultValue }
        switch raw.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw ConfigurationError(key: key, message: "expected true or false, got \"\(raw)\"")
        }
    }

    func url(_ key: String, default defaultValue: URL) throws(ConfigurationError) -> URL {
        guard let raw = try optionalString(key) else { return defaultValue }
        guard let url = URL(string: raw), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty
        else {
            throw ConfigurationError(key: key, message: "expected an http(s) URL like https://api.withpersona.com, got \"\(raw)\"")
        }
        guard url.query == nil, url.user == nil, url.password == nil else {
            throw ConfigurationError(key: key, message: "must not contain a query or credentials")
        }
        // The proxy forwards caller paths, which already start with /api/v1.
        if url.path.hasSuffix("/api/v1") || url.path.hasSuffix("/api/v1/") {
            throw ConfigurationError(key: key, message: "leave /api/v1 off the base URL (use https://api.withpersona.com)")
        }
        return url
    }

    func logLevel(_ key: String, default defaultValue: Logger.Level) throws(ConfigurationError) -> Logger.Level {
        guard let raw = try optionalString(key) else { return defaultValue }
        guard let level = Logger.Level(rawValue: raw.lowercased()) else {
            let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigurationError(key: key, message: "expected one of \(names), got \"\(raw)\"")
        }
        return level
    }
}
