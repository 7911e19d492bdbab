/// What a cache holds, for `/admin/cache` and `persona-proxy cache stats`.
public struct CacheStatistics: Sendable, Equatable, Encodable {
    public var entries: Int
    public var fresh: Int
    public var notFound: Int
    public var bodyBytes: Int
    /// The size of the file behind the store (0 for a store that has none).
    public var databaseBytes: Int

    public init(entries: Int, fresh: Int, notFound: Int, bodyBytes: Int, databaseBytes: Int) {
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
    }
}
