public import Foundation

/// What a cache holds, for `/admin/cache` and `persona-proxy cache stats`.
public struct CacheStatistics: Sendable, Equatable, Encodable {
    public var entries: Int
    public var fresh: Int
    public var notFound: Int
    public var bodyBytes: Int
    /// The size of the file behind the store (0 for a store that has none).
    public var databaseBytes: Int
    /// Entries the sweep has confirmed against Persona's list since they were fetched.
    public var revalidated: Int
    /// When Persona last vouched for the least and the most recently verified entry (the fetch,
    /// or the sweep's confirmation); nil when empty. Per entry: `/admin/cache/{id}`'s `verified_at`.
    public var oldestVerifiedAt: Date?
    public var newestVerifiedAt: Date?

    public init(
        entries: Int, fresh: Int, notFound: Int, bodyBytes: Int, databaseBytes: Int, revalidated: Int = 0, oldestVerifiedAt: Date? = nil,
        newestVerifiedAt: Date? = nil
    ) {
        self.revalidated = revalidated
        self.oldestVerifiedAt = oldestVerifiedAt
        self.newestVerifiedAt = newestVerifiedAt
        self.entries = entries
        self.fresh = fresh
        self.notFound = notFound
        self.bodyBytes = bodyBytes
        self.databaseBytes = databaseBytes
    }

    enum CodingKeys: String, CodingKey {
        case entries, fresh
        case notFound = "not_found"
        case bodyBytes = "body_bytes"
        case databaseBytes = "database_bytes"
        case revalidated = "revalidated_by_sweep"
        case oldestVerifiedAt = "oldest_verified_at"
        case newestVerifiedAt = "newest_verified_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(entries, forKey: .entries)
        try container.encode(fresh, forKey: .fresh)
        try container.encode(notFound, forKey: .notFound)
        try container.encode(bodyBytes, forKey: .bodyBytes)
        try container.encode(databaseBytes, forKey: .databaseBytes)
        try container.encode(revalidated, forKey: .revalidated)
        let format = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        try container.encode(oldestVerifiedAt.map(format.format), forKey: .oldestVerifiedAt)
        try container.encode(newestVerifiedAt.map(format.format), forKey: .newestVerifiedAt)
    }

    /// The same JSON as `/admin/cache`, for the offline `persona-proxy cache stats`.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(["data": self])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
