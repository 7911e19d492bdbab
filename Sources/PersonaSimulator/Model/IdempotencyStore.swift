import Hummingbird

/// Persona's idempotency layer for POSTs: the first result stored under an `Idempotency-Key` is
/// replayed for 24 hours; the same key with other parameters is an error.
///
/// It sits after authentication and rate limiting, so 401s and 429s never reach it.
struct IdempotencyStore: Sendable {
    /// What makes two requests "the same" for a key.
    struct Fingerprint: Sendable, Equatable {
        var method: String
        var path: String
        var query: String?
        var body: [UInt8]
    }

    struct Stored: Sendable {
        var fingerprint: Fingerprint
        var status: HTTPResponse.Status
        var body: [UInt8]
    }

    enum Lookup: Sendable {
        case miss
        case replay(Stored)
        case mismatch
    }

    static let lifetime: Duration = .seconds(24 * 60 * 60)

    private var results: [String: (stored: Stored, at: ContinuousClock.Instant)] = [:]

    mutating func lookup(key: String, fingerprint: Fingerprint, at now: ContinuousClock.Instant) -> Lookup {
        guard let entry = results[key] else { return .miss }
        if entry.at.advanced(by: Self.lifetime) <= now {
            results[key] = nil
            return .miss
        }
        return entry.stored.fingerprint == fingerprint ? .replay(entry.stored) : .mismatch
    }

    /// Two requests with a new key can race; the first to finish wins, as "the first result".
    mutating func store(key: String, _ result: Stored, at now: ContinuousClock.Instant) {
        if results[key] == nil { results[key] = (result, now) }
    }
}
