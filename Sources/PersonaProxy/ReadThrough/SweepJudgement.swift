public import Foundation

/// Pure: whether a cached variant still says what Persona's list says of its connection.
public enum SweepJudgement: Sendable, Equatable {
    /// Same `status` and `updated-at`: the entry may be served fresh again.
    case unchanged
    /// Anything else: every variant of the connection goes.
    case changed(String)

    /// How far Persona's clock may run ahead of this host's before an entry without the two
    /// attributes (a sparse fieldset) is judged by time: it is unchanged only if Persona updated
    /// the connection this long before the entry was fetched.
    public static let clockSkewAllowance: TimeInterval = 60

    public static func judge(_ entry: CachedEntry, against listed: ListedConnection) -> SweepJudgement {
        // A "not found" for a connection that is listed is wrong now.
        guard entry.status == 200 else { return .changed("listed, but cached as \(entry.status)") }
        let cached = ListedConnection.resource(entry.body)
        if let cached, cached.status != nil || cached.updatedAt != nil {
            if let status = cached.status, status != listed.status {
                return .changed("status \(status) → \(listed.status ?? "none")")
            }
            if let updatedAt = cached.updatedAt, updatedAt != listed.updatedAt {
                return .changed("updated-at \(updatedAt) → \(listed.updatedAt ?? "none")")
            }
            if cached.status != nil, cached.updatedAt != nil { return .unchanged }
        }
        // Neither attribute (or only one) in this variant's fieldset: judge by when it was fetched.
        guard let text = listed.updatedAt, let updated = parseTimestamp(text) else { return .changed("updated-at unknown") }
        return updated.addingTimeInterval(clockSkewAllowance) <= entry.fetchedAt ? .unchanged : .changed("updated after the fetch")
    }

    static func parseTimestamp(_ text: String) -> Date? {
        let withFraction = ISO8601DateFormatter()
        withFraction.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = withFraction.date(from: text) { return date }
        return ISO8601DateFormatter().date(from: text)
    }
}
