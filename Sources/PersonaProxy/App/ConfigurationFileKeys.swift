import Foundation
import Yams

/// Refuses a configuration file that names a key the proxy does not read: a typo such as
/// `ttl_secnds` would otherwise leave the default silently in force.
public enum ConfigurationFileKeys {
    /// Throws for the first unknown key in the YAML text, naming it and the closest known one.
    public static func check(yaml: String, file: String, known: [String]) throws(ConfigurationError) {
        let document: Any?
        do {
            document = try Yams.load(yaml: yaml)
        } catch {
            throw ConfigurationError(key: "--config", message: "cannot parse \(file): \(error)")
        }
        guard let document else { return }
        guard let root = document as? [AnyHashable: Any] else {
            throw ConfigurationError(key: "--config", message: "\(file) must be a mapping of sections (server:, cache:, …)")
        }
        let knownKeys = Set(known)
        for path in leafPaths(root, prefix: []).sorted() where !knownKeys.contains(path) {
            throw ConfigurationError(key: path, message: "unknown key in \(file)" + (closest(to: path, in: known).map { "; did you mean \($0)?" } ?? ""))
        }
    }

    /// Dotted paths of every value that is not itself a mapping (an empty mapping counts too).
    static func leafPaths(_ mapping: [AnyHashable: Any], prefix: [String]) -> [String] {
        mapping.flatMap { key, value -> [String] in
            let path = prefix + ["\(key)"]
            if let nested = value as? [AnyHashable: Any], !nested.isEmpty { return leafPaths(nested, prefix: path) }
            return [path.joined(separator: ".")]
        }
    }

    /// The known key or section nearest in spelling, if any is reasonably near.
    static func closest(to path: String, in known: [String]) -> String? {
        let sections = Set(known.compactMap { $0.split(separator: ".").first.map(String.init) })
        let candidates = known + sections.sorted()
        let best = candidates.map { (candidate: $0, distance: distance(path, $0)) }.min { $0.distance < $1.distance }
        guard let best, best.distance <= max(3, path.count / 3) else { return nil }
        return best.candidate
    }

    /// Levenshtein distance.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }
}
