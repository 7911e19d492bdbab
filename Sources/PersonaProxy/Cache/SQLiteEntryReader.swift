import Foundation
import GRDB
import GRDBSQLite
import NIOCore
import NIOPosix
import Synchronization

/// Reads one cache entry from SQLite synchronously, on the calling thread, for the hit fast path:
/// an entry that fell out of the memory tier (a million cached, ten thousand in memory) is answered
/// on the event loop instead of through an async pool read and a task hop (~50 µs here against
/// ~10 µs for the read itself). Each thread has its own read-only connection with the statement
/// prepared once, so no lock is shared between event loops. (Not memory-mapped: a mapped file's
/// pages count in the process's RSS, which then grows with the cache instead of staying flat.)
///
/// The read blocks its event loop for the time of one indexed lookup; the file being the cache's
/// own, its pages are normally in the OS page cache. Any error is "not found here": the slow path
/// then reads through the pool and reports what went wrong.
public final class SQLiteEntryReader: Sendable {
    private let path: String
    private let connections = ThreadSpecificVariable<Box>()
    /// After a failure to open (no file yet, damaged), the fast path stops trying for a while.
    private let retryAfter = Mutex<Date>(.distantPast)

    /// A thread's connection and its prepared select, used only by that thread: each read binds
    /// and steps the statement directly, without GRDB's queue (a dispatch per read) or its
    /// statement cache (a dictionary lookup keyed by the SQL text).
    private final class Box: @unchecked Sendable {
        let queue: DatabaseQueue
        private(set) var statement: Statement?
        init(_ queue: DatabaseQueue, _ statement: Statement) {
            self.queue = queue
            self.statement = statement
        }
        // Finalized before its connection closes.
        deinit { statement = nil }
    }

    public init(path: String) {
        self.path = path
    }

    public func entry(for key: CacheKey) -> CachedEntry? {
        var storageKey = key.storageKey
        return entry(for: key, storageKey: &storageKey, hash: storageKey.withUTF8 { CacheKey.fnv1a($0) })
    }

    /// The same, with the key's `storageKey` and `storageHash` already in hand.
    public func entry(for key: CacheKey, storageKey: inout String, hash: Int64) -> CachedEntry? {
        guard let statement = connection()?.statement?.sqliteStatement else { return nil }
        // One statement needs no transaction of its own (autocommit reads one snapshot).
        defer { sqlite3_reset(statement) }
        sqlite3_bind_int64(statement, 1, hash)
        storageKey.withUTF8 { bytes in
            // Never empty: a storage key always holds its variant part.
            _ = sqlite3_bind_text(statement, 2, bytes.baseAddress, Int32(bytes.count), Self.transient)
        }
        guard sqlite3_step(statement) == SQLITE_ROW else { return nil }
        return Self.entry(statement, key: key)
    }

    /// A rowid lookup (`CacheSchema` v4): one leaf page per read. Columns by position and read through SQLite's C API: GRDB's `Row` finds each column by a
    /// case-insensitive name match, which lowercases the name on every read.
    static let select = """
        SELECT status, body, content_type, persona_request_id, environment_id, organization_id, fetched_at, expires_at, revalidated_at
        FROM cache_entries WHERE id = ? AND key = ?
        """

    /// The key is the one looked up: `storageKey` round-trips, so the row's key columns hold the same.
    static func entry(_ statement: SQLiteStatement, key: CacheKey) -> CachedEntry {
        func text(_ column: Int32) -> String? {
            guard let pointer = sqlite3_column_text(statement, column) else { return nil }
            return String(cString: pointer)
        }
        let length = Int(sqlite3_column_bytes(statement, 1))
        let body = sqlite3_column_blob(statement, 1).map { ByteBuffer(bytes: UnsafeRawBufferPointer(start: $0, count: length)) } ?? ByteBuffer()
        return CachedEntry(
            key: key, status: Int(sqlite3_column_int64(statement, 0)), body: body, contentType: text(2), personaRequestId: text(3),
            environmentId: text(4), organizationId: text(5), fetchedAt: Date(timeIntervalSince1970: sqlite3_column_double(statement, 6)),
            expiresAt: Date(timeIntervalSince1970: sqlite3_column_double(statement, 7)),
            revalidatedAt: sqlite3_column_type(statement, 8) == SQLITE_NULL ? nil : Date(timeIntervalSince1970: sqlite3_column_double(statement, 8)))
    }

    /// `SQLITE_TRANSIENT`, which the C headers define as a cast Swift does not import.
    private static let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

    private func connection() -> Box? {
        if let box = connections.currentValue { return box }
        guard retryAfter.withLock({ $0 }) < Date() else { return nil }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = "persona-proxy.fast-path-reader"
        configuration.prepareDatabase { db in
            // The upper levels of the B-tree stay cached per thread: 8 MiB each.
            try db.execute(sql: "PRAGMA cache_size = -8192")
        }
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            let box = Box(queue, try queue.inDatabase { db in try db.makeStatement(sql: Self.select) })
            connections.currentValue = box
            return box
        } catch {
            retryAfter.withLock { $0 = Date().addingTimeInterval(5) }
            return nil
        }
    }
}
