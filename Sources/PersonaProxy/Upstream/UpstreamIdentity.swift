import Crypto
public import Foundation

/// Which Persona environment answers: a fingerprint of `upstream.base_url` and the API key, made
/// part of every cache key so that switching from a sandbox key to a production key (or to
/// another base URL) never serves the other's documents. A one-way hash, truncated: the key
/// cannot be recovered from it, and it is safe to store and show.
public enum UpstreamIdentity {
    public static func fingerprint(baseURL: URL, apiKey: APIKey) -> String {
        var base = baseURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        let digest = SHA256.hash(data: Data("persona-proxy upstream v1\n\(base)\n\(apiKey.reveal())".utf8))
        return digest.prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}
