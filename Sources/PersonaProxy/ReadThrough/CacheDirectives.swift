/// The caller's `Cache-Control` request directives (RFC 9111 §5.2.1) that the proxy honours.
public struct CacheDirectives: Sendable, Equatable {
    /// Revalidate with Persona now, even if the entry is fresh.
    public var noCache = false
    /// Serve only an entry no older than this many seconds.
    public var maxAge: Int?
    /// Accept an entry this many seconds past its expiry (`Int.max` for a bare `max-stale`).
    public var maxStale: Int?
    /// Serve only an entry that stays fresh for at least this many more seconds.
    public var minFresh: Int?
    /// Never go upstream: answer from the cache or 504.
    public var onlyIfCached = false

    public init(noCache: Bool = false, maxAge: Int? = nil, maxStale: Int? = nil, minFresh: Int? = nil, onlyIfCached: Bool = false) {
        self.noCache = noCache
        self.maxAge = maxAge
        self.maxStale = maxStale
        self.minFresh = minFresh
        self.onlyIfCached = onlyIfCached
    }

    /// Parses a `Cache-Control` value; unknown directives are ignored, as RFC 9111 requires.
    /// `Pragma: no-cache` (HTTP/1.0) counts as `no-cache` when there is no `Cache-Control`.
    public static func parse(cacheControl: String?, pragma: String? = nil) -> CacheDirectives {
        var directives = CacheDirectives()
        guard let cacheControl else {
            directives.noCache = pragma?.lowercased().contains("no-cache") == true
            return directives
        }
        for part in cacheControl.split(separator: ",") {
            let pieces = part.split(separator: "=", maxSplits: 1).map { $0.trimmingWhitespace().lowercased() }
            guard let name = pieces.first else { continue }
            let value = pieces.count > 1 ? Int(pieces[1].trimmingCharacters(in: "\"")) : nil
            switch name {
            case "no-cache": directives.noCache = true
            case "max-age": if let value, value >= 0 { directives.maxAge = value }
            case "max-stale": directives.maxStale = pieces.count > 1 ? value.map { max(0, $0) } : Int.max
            case "min-fresh": if let value, value >= 0 { directives.minFresh = value }
            case "only-if-cached": directives.onlyIfCached = true
            default: continue
            }
        }
        return directives
    }
}

extension StringProtocol {
    fileprivate func trimmingWhitespace() -> String { String(self).trimmed }
}

extension String {
    fileprivate func trimmingCharacters(in characters: String) -> String {
        var view = Substring(self)
        while let first = view.first, characters.contains(first) { view = view.dropFirst() }
        while let last = view.last, characters.contains(last) { view = view.dropLast() }
        return String(view)
    }
}
