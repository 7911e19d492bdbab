public import Foundation
import Synchronization

/// How many forced refreshes each client may still make: requests whose directives (`no-cache`,
/// `max-age=0`, `min-fresh`) would send a call to Persona for a connection that is cached and
/// fresh. Without a limit, `Cache-Control: no-cache` on every request spends the organisation's
/// whole budget. A token bucket per client: `perMinute` to start with, refilled evenly over a
/// minute, so a client can burst up to its limit and then one every `60 / perMinute` seconds.
///
/// Keyed by client name, which comes from the configuration: the table stays as small as the
/// list of clients.
public final class ForcedRefreshAllowance: Sendable {
    struct Bucket: Equatable {
        var tokens: Double
        var at: Date
    }

    private let buckets = Mutex<[String: Bucket]>([:])

    public init() {}

    /// Takes one refresh from `client`'s allowance if one is left.
    public func take(_ client: String, perMinute limit: Int, now: Date) -> Bool {
        buckets.withLock { buckets in
            var bucket = buckets[client] ?? Bucket(tokens: Double(limit), at: now)
            let allowed = Self.take(&bucket, perMinute: limit, now: now)
            buckets[client] = bucket
            return allowed
        }
    }

    /// The pure rule: refill for the time since the last look, then take one if there is one.
    static func take(_ bucket: inout Bucket, perMinute limit: Int, now: Date) -> Bool {
        let elapsed = max(0, now.timeIntervalSince(bucket.at))
        bucket.tokens = min(Double(limit), bucket.tokens + elapsed * Double(limit) / 60)
        bucket.at = max(bucket.at, now)
        guard bucket.tokens >= 1 else { return false }
        bucket.tokens -= 1
        return true
    }
}
