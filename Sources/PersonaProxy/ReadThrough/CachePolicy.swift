public import Foundation

/// Pure freshness decisions: what to do with a stored entry at a given moment, and how long to
/// keep an upstream answer. No I/O, no clock of its own: tests feed it plain values.
public struct CachePolicy: Sendable, Equatable {
    public var ttlSeconds: Double
    public var notFoundTTLSeconds: Double

    public init(ttlSeconds: Double, notFoundTTLSeconds: Double) {
        self.ttlSeconds = ttlSeconds
        self.notFoundTTLSeconds = notFoundTTLSeconds
    }

    public enum Decision: Sendable, Equatable {
        /// Serve the entry as is.
        case fresh(age: Int, ttlRemaining: Int)
        /// An entry exists but is past its expiry: fetch again.
        case expired
        /// Nothing stored: fetch.
        case miss
    }

    public func decide(entry: CachedEntry?, now: Date) -> Decision {
        guard let entry else { return .miss }
        guard now < entry.expiresAt else { return .expired }
        return .fresh(age: Self.age(of: entry, at: now), ttlRemaining: Self.wholeSeconds(entry.expiresAt.timeIntervalSince(now)))
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

    /// `Age` in whole seconds, never negative (the clock may have stepped back since the fetch).
    public static func age(of entry: CachedEntry, at now: Date) -> Int {
        max(0, Int(now.timeIntervalSince(entry.fetchedAt).rounded(.down)))
    }

    static func wholeSeconds(_ interval: TimeInterval) -> Int {
        max(0, Int(interval.rounded(.down)))
    }
}
