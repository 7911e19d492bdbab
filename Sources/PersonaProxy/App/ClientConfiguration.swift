import Crypto
import Foundation
import Yams

/// One internal service allowed to call the proxy (`clients:` in the configuration file). The
/// file holds the SHA-256 of the client's token, never the token.
public struct ClientConfiguration: Sendable, Equatable {
    public enum Scope: String, Sendable, CaseIterable {
        /// Retrieve (and list) connections.
        case read
        /// Create, deactivate, reactivate.
        case write
        /// `/admin/*`: the request log, Persona's API logs, cache purges.
        case admin
    }

    public var name: String
    /// SHA-256 of the token, 32 bytes.
    public var tokenSHA256: [UInt8]
    public var scopes: Set<Scope>
    /// Share of the rate-limit budget when calls wait for it.
    public var weight: Int
    /// Requests a minute that may force a call to Persona for a connection that is cached and
    /// fresh (`no-cache`, `max-age=0`, `min-fresh`); beyond it the cached copy is served.
    public var maxForcedRefreshesPerMinute: Int

    public static let defaultMaxForcedRefreshesPerMinute = 10

    public init(
        name: String, tokenSHA256: [UInt8], scopes: Set<Scope>, weight: Int = 1,
        maxForcedRefreshesPerMinute: Int = Self.defaultMaxForcedRefreshesPerMinute
    ) {
        self.name = name
        self.tokenSHA256 = tokenSHA256
        self.scopes = scopes
        self.weight = weight
        self.maxForcedRefreshesPerMinute = maxForcedRefreshesPerMinute
    }

    /// The caller as the read path sees it: whose budget it spends, and its forced-refresh allowance.
    public func caller(name callerName: String, requestId: String) -> CallerIdentity {
        CallerIdentity(
            name: callerName, requestId: requestId, client: name, share: BudgetShare(client: name, weight: weight),
            forcedRefreshesPerMinute: maxForcedRefreshesPerMinute)
    }

    public static func hash(token: String) -> [UInt8] {
        Array(SHA256.hash(data: Data(token.utf8)))
    }

    /// A new random token (256 bits, URL-safe) and its hash, for `persona-proxy token new`.
    public static func newToken() -> (token: String, sha256Hex: String) {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let token = "ppt_" + Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return (token, hash(token: token).map { String(format: "%02x", $0) }.joined())
    }

    /// Reads `clients:` from the configuration file's text. Every mistake names the client and
    /// the field; an empty or absent list means no clients (loopback-only mode).
    public static func parse(yaml: String, file: String) throws(ConfigurationError) -> [ClientConfiguration] {
        let document: Any?
        do {
            document = try Yams.load(yaml: yaml)
        } catch {
            throw ConfigurationError(key: "--config", message: "cannot parse \(file): \(error)")
        }
        guard let root = document as? [AnyHashable: Any], let raw = root["clients"] else { return [] }
        if raw is NSNull { return [] }
        guard let list = raw as? [Any] else { throw ConfigurationError(key: "clients", message: "must be a list of clients") }
        var clients: [ClientConfiguration] = []
        for (index, item) in list.enumerated() {
            let key = "clients[\(index)]"
            guard let fields = item as? [String: Any] else {
                throw ConfigurationError(key: key, message: "must be a mapping (\(Self.fields.joined(separator: ", ")))")
            }
            for field in fields.keys where !Self.fields.contains(field) {
                throw ConfigurationError(key: "\(key).\(field)", message: "unknown field; a client has \(Self.fields.joined(separator: ", "))")
            }
            guard let name = fields["name"] as? String, !name.isEmpty, name.count <= 64,
                name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
            else {
                throw ConfigurationError(key: "\(key).name", message: "must be 1 to 64 letters, digits, '-', '_' or '.'")
            }
            guard !clients.contains(where: { $0.name == name }) else { throw ConfigurationError(key: "\(key).name", message: "\(name) is listed twice") }
            guard let hex = fields["token_sha256"] as? String, let digest = Self.bytes(hex: hex), digest.count == 32 else {
                throw ConfigurationError(
                    key: "\(key).token_sha256", message: "must be the 64-hex-digit SHA-256 of the token (persona-proxy token new prints it)")
            }
            guard let scopeNames = fields["scopes"] as? [String], !scopeNames.isEmpty else {
                throw ConfigurationError(key: "\(key).scopes", message: "must list at least one of read, write, admin")
            }
            var scopes = Set<Scope>()
            for scopeName in scopeNames {
                guard let scope = Scope(rawValue: scopeName) else {
                    throw ConfigurationError(key: "\(key).scopes", message: "unknown scope \(scopeName); scopes are read, write, admin")
                }
                scopes.insert(scope)
            }
            let weight = fields["weight"].map { $0 as? Int } ?? 1
            guard let weight, (1...1000).contains(weight) else { throw ConfigurationError(key: "\(key).weight", message: "must be a whole number from 1 to 1000") }
            let forced = fields["max_forced_refreshes_per_minute"].map { $0 as? Int } ?? Self.defaultMaxForcedRefreshesPerMinute
            guard let forced, (0...10_000).contains(forced) else {
                throw ConfigurationError(key: "\(key).max_forced_refreshes_per_minute", message: "must be a whole number from 0 to 10000")
            }
            clients.append(
                ClientConfiguration(name: name, tokenSHA256: digest, scopes: scopes, weight: weight, maxForcedRefreshesPerMinute: forced))
        }
        return clients
    }

    static let fields = ["name", "token_sha256", "scopes", "weight", "max_forced_refreshes_per_minute"]

    static func bytes(hex: String) -> [UInt8]? {
        let characters = Array(hex.lowercased().utf8)
        guard characters.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: characters.count, by: 2) {
            guard let byte = UInt8(String(decoding: characters[index...index + 1], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }
}
