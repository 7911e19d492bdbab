public import Foundation

/// Pure freshness decisions: what to do with a stored entry at a given moment, given the
/// caller's directives, and how long to keep an upstream answer. No I/O and no clock of its
/// own: tests feed it plain values.
public struct CachePolicy: Sendable, Equatable {
    public var ttlSeconds: Double
    public var notFoundTTLSeconds: Double
    /// Past expiry, an entry is still served at once for this long while one refresh runs.
    public var staleWhileRevalidateSeconds: Double
    /// Past expiry, an entry is served for this long when Persona fails (down, 5xx, 429 beyond the wait).
    public var staleIfErrorSeconds: Double
    /// How long a list page (200 only) is fresh (`cache.list_ttl_seconds`).
    public var listTTLSeconds: Double

    public init(
        ttlSeconds: Double, notFoundTTLSeconds: Double, staleWhileRevalidateSeconds: Double = 0, staleIfErrorSeconds: Double = 0,
        listTTLSeconds: Double = 30
    ) {
        self.listTTLSeconds = listTTLSeconds
        self.ttlSeconds = ttlSeconds
        self.notFoundTTLSeconds = notFoundTTLSeconds
        self.staleWhileRevalidateSeconds = staleWhileRevalidateSeconds
        self.staleIfErrorSeconds = staleIfErrorSeconds
    }

    public enum Decision: Sendable, Equatable {
        /// Serve the entry as is.
        case fresh(age: Int, ttlRemaining: Int)
        /// Serve the expired entry now; `revalidate`: also start one background refresh.
        case stale(age: Int, staleFor: Int, revalidate: Bool, reason: StaleReason)
        /// Go upstream. `staleFallback`: if Persona fails, the stored entry may be served instead.
        case fetch(ForwardReason, staleFallback: Bool)
        /// `only-if-cached` and nothing usable is stored.
        case unsatisfiable
    }

    public enum StaleReason: String, Sendable {
        case whileRevalidate = "stale-while-revalidate"
        case maxStale = "max-stale"
        case ifError = "stale-if-error"
    }

    public func decide(entry: CachedEntry?, now: Date, directives: CacheDirectives = CacheDirectives()) -> Decision {
        guard let entry else { return directives.onlyIfCached ? .unsatisfiable : .fetch(.miss, staleFallback: false) }
        let age = Self.age(of: entry, at: now)
        let remaining = entry.expiresAt.timeIntervalSince(now)
        let tooOld = directives.maxAge.map { age > $0 } ?? false
        if remaining > 0 {
            let freshEnough = directives.minFresh.map { remaining >= Double($0) } ?? true
            if !directives.noCache, !tooOld, freshEnough {
                return .fresh(age: age, ttlRemaining: Self.wholeSeconds(remaining))
            }
            // The caller wants something newer than what is fresh to us: its request forces the fetch.
            return directives.onlyIfCached ? .unsatisfiable : .fetch(.request, staleFallback: !directives.noCache)
        }
        let staleFor = -remaining
        let staleSeconds = Int(staleFor.rounded(.up))
        let withinRevalidate = staleWhileRevalidateSeconds > 0 && staleFor <= staleWhileRevalidateSeconds
        if !directives.noCache, !tooOld {
            if let maxStale = directives.maxStale, staleFor <= Double(maxStale) {
                return .stale(age: age, staleFor: staleSeconds, revalidate: withinRevalidate, reason: .maxStale)
            }
            if withinRevalidate {
                return .stale(age: age, staleFor: staleSeconds, revalidate: true, reason: .whileRevalidate)
            }
        }
        if directives.onlyIfCached { return .unsatisfiable }
        return .fetch(directives.noCache ? .request : .stale, staleFallback: !directives.noCache && staleFor <= staleIfErrorSeconds)
    }

    /// Whether an entry this far past its expiry may still be served when Persona fails.
    public func canServeIfError(_ entry: CachedEntry, now: Date) -> Bool {
        now.timeIntervalSince(entry.expiresAt) <= staleIfErrorSeconds
    }

    /// How long to keep an upstream answer with this status, or nil to not store it at all.
    /// Only a connection (200) and "Record not found" (404) are facts about the id; anything
    /// else (429, 5xx, 401…) says something about the moment, not the connection.
    public func lifetime(forStatus status: Int) -> Double? {
        switch status {
        case 200 where ttlSeconds > 0: ttlSeconds
        case 404 where notFoundTTLSeconds > 0: notFoundTTLSeconds
        default: nil
        }
    }

    /// A list page: only a 200 is kept; an error about a cursor or a filter is about the request.
    public func listLifetime(forStatus status: Int) -> Double? {
        status == 200 && listTTLSeconds > 0 ? listTTLSeconds : nil
    }

    /// Entries past expiry by more than this are of no use and may be deleted.
    public var retentionAfterExpiry: Double { max(staleWhileRevalidateSeconds, staleIfErrorSeconds) }

    /// `Age` in whole seconds, never negative (the clock may have stepped back since the fetch),
    /// counted from the last time the sweep confirmed the entry against Persona's list, if later:
    /// HTTP's age is the time since the origin last vouched for the bytes.
    public static func age(of entry: CachedEntry, at now: Date) -> Int {
        max(0, Int(now.timeIntervalSince(entry.verifiedAt).rounded(.down)))
    }

    static func wholeSeconds(_ interval: TimeInterval) -> Int {
        max(0, Int(interval.rounded(.down)))
    }
}
