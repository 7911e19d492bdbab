public import Foundation
import GRDB
import NIOCore

/// The durable `CacheStore`: one row per variant in `cache_entries`, body bytes as a BLOB.
public struct SQLiteCacheStore: CacheStore {
    let database: SQLiteDatabase

    public init(database: SQLiteDatabase) {
        self.database = database
    }

    public func entry(for key: CacheKey) async throws -> CachedEntry? {
        try await database.pool().read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM cache_entries WHERE id = ? AND key = ?", arguments: [key.storageHash, key.storageKey]).map(Self.entry)
        }
    }

    public func entries(connectionId: String) async throws -> [CachedEntry] {
        try await database.pool().read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM cache_entries WHERE connection_id = ? ORDER BY key", arguments: [connectionId]).map(Self.entry)
        }
    }

    @discardableResult
    public func removeEverything() async throws -> Int {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM cache_entries")
            return db.changesCount
        }
    }

    static func entry(_ row: Row) -> CachedEntry {
        let body: Data = row["body"]
        return CachedEntry(
            key: CacheKey(
                connectionId: row["connection_id"], personaVersion: row["persona_version"], keyInflection: row["key_inflection"], fields: row["fields"],
                upstream: row["upstream"]),
            status: row["status"], body: ByteBuffer(bytes: body), contentType: row["content_type"],
            personaRequestId: row["persona_request_id"], environmentId: row["environment_id"], organizationId: row["organization_id"],
            fetchedAt: Date(timeIntervalSince1970: row["fetched_at"]), expiresAt: Date(timeIntervalSince1970: row["expires_at"]),
            revalidatedAt: (row["revalidated_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }

    public func store(_ entry: CachedEntry) async throws {
        let body = Data(entry.body.readableBytesView)
        try await database.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO cache_entries (id, key, connection_id, persona_version, key_inflection, fields, status, body,
                        content_type, persona_request_id, environment_id, organization_id, fetched_at, expires_at, upstream, revalidated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                // Replacing deletes whichever row holds the id or the key: the old copy of this key, or
                // (once in 2^64) another key with the same hash.
                arguments: [
                    entry.key.storageHash, entry.key.storageKey, entry.key.connectionId, entry.key.personaVersion, entry.key.keyInflection,
                    entry.key.fields, entry.status, body, entry.contentType, entry.personaRequestId, entry.environmentId,
                    entry.organizationId, entry.fetchedAt.timeIntervalSince1970, entry.expiresAt.timeIntervalSince1970, entry.key.upstream,
                    entry.revalidatedAt?.timeIntervalSince1970,
                ])
        }
    }

    public func connectionIds() async throws -> [String] {
        try await database.pool().read { db in
            try String.fetchAll(db, sql: "SELECT DISTINCT connection_id FROM cache_entries")
        }
    }

    public func revalidate(_ key: CacheKey, fetchedAt: Date, at: Date, expiresAt: Date) async throws -> Bool {
        try await database.write { db in
            try db.execute(
                sql: "UPDATE cache_entries SET revalidated_at = ?, expires_at = ? WHERE id = ? AND key = ? AND abs(fetched_at - ?) < 0.001",
                arguments: [at.timeIntervalSince1970, expiresAt.timeIntervalSince1970, key.storageHash, key.storageKey, fetchedAt.timeIntervalSince1970])
            return db.changesCount == 1
        }
    }

    @discardableResult
    public func removeAll(connectionId: String) async throws -> Int {
        try await database.write { db in
            try db.execute(sql: "DELETE FROM cache_entries WHERE connection_id = ?", arguments: [connectionId])
            return db.changesCount
        }
    }

    public func count() async throws -> Int {
        try await database.pool().read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM cache_entries") ?? 0
        }
    }
}

extension SQLiteCacheStore {
    /// Deletes up to `limit` entries that expired before `cutoff`; returns how many went.
    /// Small batches keep each write transaction short, so misses never wait long behind it.
    public func pruneExpired(before cutoff: Date, limit: Int) async throws -> Int {
        try await database.write { db in
            try db.execute(
                sql: "DELETE FROM cache_entries WHERE id IN (SELECT id FROM cache_entries WHERE expires_at < ? LIMIT ?)",
                arguments: [cutoff.timeIntervalSince1970, limit])
            return db.changesCount
        }
    }
}

extension SQLiteCacheStore {
    public func statistics(now: Date) async throws -> CacheStatistics {
        try await database.pool().read { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT count(*) AS entries, coalesce(sum(expires_at > ?), 0) AS fresh, coalesce(sum(status = 404), 0) AS not_found,
                           coalesce(sum(length(body)), 0) AS bytes, coalesce(sum(revalidated_at IS NOT NULL), 0) AS revalidated,
                           min(max(fetched_at, coalesce(revalidated_at, fetched_at))) AS oldest,
                           max(max(fetched_at, coalesce(revalidated_at, fetched_at))) AS newest
                    FROM cache_entries
                    """,
                arguments: [now.timeIntervalSince1970])
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
            let pageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 0
            return CacheStatistics(
                entries: row?["entries"] ?? 0, fresh: row?["fresh"] ?? 0, notFound: row?["not_found"] ?? 0, bodyBytes: row?["bytes"] ?? 0,
                databaseBytes: pages * pageSize, revalidated: row?["revalidated"] ?? 0,
                oldestVerifiedAt: (row?["oldest"] as Double?).map(Date.init(timeIntervalSince1970:)),
                newestVerifiedAt: (row?["newest"] as Double?).map(Date.init(timeIntervalSince1970:)))
        }
    }
}
