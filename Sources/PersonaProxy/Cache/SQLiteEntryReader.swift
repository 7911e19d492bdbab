import Foundation
import GRDB
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

    private final class Box: Sendable {
        let queue: DatabaseQueue
        init(_ queue: DatabaseQueue) { self.queue = queue }
    }

    public init(path: String) {
        self.path = path
    }

    public func entry(for key: CacheKey) -> CachedEntry? {
        guard let queue = connection() else { return nil }
        do {
            // One statement needs no transaction of its own (autocommit reads one snapshot), and
            // `read` would add BEGIN and COMMIT around it.
            return try queue.inDatabase { db in
                let statement = try db.cachedStatement(sql: "SELECT * FROM cache_entries WHERE key = ?")
                return try Row.fetchOne(statement, arguments: [key.storageKey]).map(SQLiteCacheStore.entry)
            }
        } catch {
            return nil
        }
    }

    private func connection() -> DatabaseQueue? {
        if let box = connections.currentValue { return box.queue }
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
            connections.currentValue = Box(queue)
            return queue
        } catch {
            retryAfter.withLock { $0 = Date().addingTimeInterval(5) }
            return nil
        }
    }
}
